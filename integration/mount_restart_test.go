package integration

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestMountRestartCatchesUp stops a mount (its replica is saved), changes
// the database through another mount, and restarts the first one on its
// saved replica: it must serve the new state at once, through the change
// log, not the old one.
func TestMountRestartCatchesUp(t *testing.T) {
	db := newDBWith(t, fixture(t, "minimal"))
	a := mountDB(t, db)
	if _, err := os.ReadFile(a.Path("global.xml")); err != nil {
		t.Fatal(err)
	}
	a.Stop()
	if _, err := os.Stat(a.StateDir + "/node/replica.gob"); err != nil {
		t.Fatalf("no saved replica after a clean stop: %v", err)
	}

	b := mountDB(t, db)
	want := []byte("<global><changed>while the other mount was stopped</changed></global>\n")
	tmp := b.Path("global.xml.0b8e7a9c.tmp")
	if err := os.WriteFile(tmp, want, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, b.Path("global.xml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(b.Path("added"), 0o755); err != nil {
		t.Fatal(err)
	}
	b.Stop()

	a = a.Restart()
	got, err := os.ReadFile(a.Path("global.xml"))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("global.xml through the restarted mount: %q, %v; want %q", got, err, want)
	}
	if st, err := os.Stat(a.Path("added")); err != nil || !st.IsDir() {
		t.Fatalf("directory made while the mount was stopped: %v", err)
	}
	// And it still follows changes made elsewhere.
	c := mountDB(t, db)
	if err := os.Remove(c.Path("added")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() (bool, string) {
		_, err := os.Stat(a.Path("added"))
		return os.IsNotExist(err), "added still visible through the restarted mount"
	})
}

// TestMountFollowsReplaceAndRollback: `import --replace` and `rollback`
// while a node is mounted show through the mount, and the node's own
// writes afterwards land in the database where the mount shows them.
func TestMountFollowsReplaceAndRollback(t *testing.T) {
	src := filepath.Join(tempDir(t), "src")
	copyTree(t, fixture(t, "minimal"), src)
	db := newDBWith(t, src)
	m := mountDB(t, db)
	if _, err := os.ReadFile(m.Path("global.xml")); err != nil {
		t.Fatal(err)
	}

	want := []byte("<global><replaced/></global>\n")
	if err := os.WriteFile(filepath.Join(src, "global.xml"), want, 0o644); err != nil {
		t.Fatal(err)
	}
	gsOK(t, db, "import", src, "--replace")
	eventually(t, 5*time.Second, func() (bool, string) {
		got, _ := os.ReadFile(m.Path("global.xml"))
		return bytes.Equal(got, want), fmt.Sprintf("global.xml through the mount after import --replace: %q", got)
	})

	// Writes in directories the replace left as they were.
	entries, err := os.ReadDir(m.Dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() && !nodeLocal(e.Name()) {
			p := filepath.Join(m.Dir, e.Name(), "written-after-replace.xml")
			if err := os.WriteFile(p+".tmp", []byte("<x/>\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(p+".tmp", p); err != nil {
				t.Fatal(err)
			}
		}
	}

	gsOK(t, db, "rollback", "1", "global.xml")
	orig, err := os.ReadFile(filepath.Join(fixture(t, "minimal"), "global.xml"))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() (bool, string) {
		got, _ := os.ReadFile(m.Path("global.xml"))
		return bytes.Equal(got, orig), "global.xml through the mount after rollback"
	})

	seen := scanTree(t, m.Dir, nodeLocal)
	m.Stop()
	dst := filepath.Join(tempDir(t), "export")
	gsOK(t, db, "export", dst)
	if d := diffTrees(seen, scanTree(t, dst, nodeLocal)); len(d) > 0 {
		t.Errorf("the database differs from what the mount showed in %d ways:\n%s", len(d), head(d, 20))
	}
}
