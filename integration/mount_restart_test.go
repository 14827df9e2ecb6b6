package integration

import (
	"bytes"
	"os"
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
