package integration

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// crossMountTimeout bounds how long a change made through one mount may
// take to show through another mount of the same database. The bar is 1 s;
// the race detector slows the binary down, so the tests allow 2 s and log
// the worst latency.
const crossMountTimeout = 2 * time.Second

// javaSim is ResourceStoreSim compiled once for the test binary.
var javaSim struct {
	once    sync.Once
	classes string
	err     error
}

// resourceStoreSim compiles java/ResourceStoreSim.java on first use and
// returns the directory of its classes. Without a JDK it skips the test,
// except as root, where `make setup` would have installed one.
func resourceStoreSim(t testing.TB) string {
	t.Helper()
	for _, tool := range []string{"javac", "java"} {
		if haveCommand(tool) {
			continue
		}
		msg := fmt.Sprintf("%s is missing: install a JDK 17 or later (make setup, or apt-get install default-jdk-headless)", tool)
		if os.Geteuid() == 0 {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	javaSim.once.Do(func() {
		src, err := filepath.Abs(filepath.Join("java", "ResourceStoreSim.java"))
		if err != nil {
			javaSim.err = err
			return
		}
		classes := filepath.Join(workDir, "java")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "javac", "-Xlint:all", "-Werror", "-d", classes, src).CombinedOutput()
		if err != nil {
			javaSim.err = fmt.Errorf("javac %s: %w\n%s", src, err, out)
			return
		}
		// Readable by every user, like the gscluster binary.
		javaSim.err = exec.Command("chmod", "-R", "a+rX", classes).Run()
		javaSim.classes = classes
	})
	if javaSim.err != nil {
		t.Fatal(javaSim.err)
	}
	return javaSim.classes
}

// runResourceStoreSim runs ResourceStoreSim on dir with n files and fails
// the test with its output unless every check passes.
func runResourceStoreSim(t testing.TB, classes, dir string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, "java", "-XX:TieredStopAtLevel=1", "-Xshare:auto", "-cp", classes, "ResourceStoreSim", dir, fmt.Sprint(n))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("java ResourceStoreSim %s %d: %v:\n%s", dir, n, err, tail(string(out), 40))
		return
	}
	ls := lines(string(out))
	t.Logf("ResourceStoreSim on %s: %s (%s)", dir, ls[len(ls)-1], time.Since(start).Round(time.Millisecond))
}

// TestMountJavaResourceStore runs what GeoServer's resource store does
// (tmp file moved over the target, FileChannel locks, a directory rename,
// lastModified polling) from a JVM: on local disk first, which proves the
// simulator, then on a mount. What the JVM left in the mount must then be
// in the database.
func TestMountJavaResourceStore(t *testing.T) {
	t.Parallel()
	classes := resourceStoreSim(t)
	src, _ := generate(t, smallA)

	local := filepath.Join(tempDir(t), "local")
	copyTree(t, src, local)
	runResourceStoreSim(t, classes, local, 30)
	if t.Failed() {
		t.Fatal("ResourceStoreSim fails on local disk: the simulator, not the mount, is wrong")
	}

	db := newDBWith(t, src)
	m := mountDB(t, db)
	runResourceStoreSim(t, classes, m.Dir, 30)
	assertPersisted(t, m)
}

// assertPersisted stops m and fails the test unless the database then
// holds what m showed, node-local paths aside: content, modes, owners,
// nanosecond mtimes, symlinks and hard links.
func assertPersisted(t testing.TB, m *mount) {
	t.Helper()
	seen := scanTree(t, m.Dir, nodeLocal)
	m.Stop()
	dst := filepath.Join(tempDir(t), "export")
	gsOK(t, m.db, "export", dst)
	if d := diffTrees(seen, scanTree(t, dst, nil)); len(d) > 0 {
		t.Errorf("the export after unmounting %s differs from what the mount showed in %d ways:\n%s", m.Dir, len(d), head(d, 20))
	}
}

// assertSameTreeAll fails the test unless the trees at want and got are
// the same, node-local names included.
func assertSameTreeAll(t testing.TB, want, got string) {
	t.Helper()
	if d := diffTrees(scanTree(t, want, nil), scanTree(t, got, nil)); len(d) > 0 {
		t.Errorf("%s differs from %s in %d ways:\n%s", got, want, len(d), head(d, 20))
	}
}

// tool runs a program and fails the test with its output unless it exits 0.
func tool(t testing.TB, dir string, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("%s %s (in %s): %v\n%s", name, strings.Join(args, " "), dir, err, tail(string(out), 30))
	}
	return string(out)
}

// TestMountRealTools drives the mount with the tools an operator uses on
// a data directory (cp -a, tar, rsync, git), then checks that a new mount
// of the database shows the same tree.
func TestMountRealTools(t *testing.T) {
	t.Parallel()
	base, _ := generate(t, smallA)
	b, _ := generate(t, smallB)
	src := filepath.Join(tempDir(t), "src")
	copyTree(t, b, src)
	addExtras(t, src) // symlinks, hard links, owners, set-id bits, ns mtimes
	db := newDBWith(t, base)
	m := mountDB(t, db)

	t.Run("cp", func(t *testing.T) {
		dst := m.Path("cp")
		copyTree(t, src, dst)
		tool(t, "/", nil, "diff", "-r", "--no-dereference", src, dst)
		assertSameTreeAll(t, src, dst)
	})
	t.Run("tar", func(t *testing.T) {
		archive := filepath.Join(tempDir(t), "cp.tar")
		dst := m.Path("tar")
		if err := os.Mkdir(dst, 0o755); err != nil {
			t.Fatal(err)
		}
		// posix (pax) format: nanosecond mtimes.
		tool(t, "/", nil, "tar", "-C", m.Path("cp"), "-c", "--format=posix", "-f", archive, ".")
		tool(t, "/", nil, "tar", "-C", dst, "-x", "-f", archive)
		assertSameTreeAll(t, src, dst)
	})
	t.Run("rsync", func(t *testing.T) {
		if !haveCommand("rsync") {
			if os.Geteuid() == 0 {
				t.Fatal("rsync is missing: make setup, or apt-get install rsync")
			}
			t.Skip("rsync is missing: make setup, or apt-get install rsync")
		}
		dst := m.Path("rsync")
		tool(t, "/", nil, "rsync", "-aH", src+"/", dst+"/")
		assertSameTreeAll(t, src, dst)
		// Again, after a change: rsync's temp file renamed over the old one.
		writeFile(t, filepath.Join(src, "global.xml"), []byte("<global><changed/></global>\n"), 0o644)
		tool(t, "/", nil, "rsync", "-aH", "--delete", src+"/", dst+"/")
		assertSameTreeAll(t, src, dst)
	})
	t.Run("git", func(t *testing.T) {
		if !haveCommand("git") {
			t.Fatal("git is missing: make setup, or apt-get install git")
		}
		repo := m.Path("git")
		env := []string{"HOME=" + tempDir(t), "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_DATE=2024-01-02T03:04:05Z", "GIT_COMMITTER_DATE=2024-01-02T03:04:05Z"}
		git := func(args ...string) string {
			t.Helper()
			return tool(t, repo, env, "git", append([]string{"-c", "user.email=test@example.org", "-c", "user.name=gscluster test"}, args...)...)
		}
		if err := os.Mkdir(repo, 0o755); err != nil {
			t.Fatal(err)
		}
		git("init", "-q")
		copyTree(t, b, filepath.Join(repo, "datadir"))
		git("add", "-A")
		git("commit", "-q", "-m", "import the data directory")
		git("fsck", "--full", "--strict")
		if st := git("status", "--porcelain"); st != "" {
			t.Errorf("git status in %s after the commit is not clean:\n%s", repo, st)
		}
		writeFile(t, filepath.Join(repo, "datadir", "global.xml"), []byte("<global><changed/></global>\n"), 0o644)
		git("commit", "-q", "-a", "-m", "change global.xml")
		git("gc", "-q")
		git("fsck", "--full", "--strict")
		if log := git("log", "--oneline"); len(lines(log)) != 2 {
			t.Errorf("git log in %s shows %d commits, want 2:\n%s", repo, len(lines(log)), log)
		}
	})

	seen := scanTree(t, m.Dir, nodeLocal)
	m.Stop()
	again := mountDB(t, db)
	if d := diffTrees(seen, scanTree(t, again.Dir, nodeLocal)); len(d) > 0 {
		t.Errorf("a new mount %s (fresh state directory) differs from what %s showed before it stopped in %d ways:\n%s", again.Dir, m.Dir, len(d), head(d, 20))
	}
}

// TestMountFixtures imports each real data directory (and a generated one),
// mounts it, and compares the mount with the source: diff -r for content,
// then modes, owners and nanosecond mtimes. Node-local paths are not in the
// database and are left out.
func TestMountFixtures(t *testing.T) {
	for _, name := range []string{"minimal", "citewms-1.1", "release", "generated"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var src string
			if name == "generated" {
				src, _ = generate(t, smallA)
			} else {
				src = fixture(t, name)
			}
			m := mountDB(t, newDBWith(t, src))
			args := []string{"-r", "--no-dereference"}
			for _, x := range []string{"logs", "temp", "tmp", "legendsamples", "filelocks", "gwc"} {
				args = append(args, "-x", x)
			}
			tool(t, "/", nil, "diff", append(args, src, m.Dir)...)
			if d := diffTrees(scanTree(t, src, nodeLocal), scanTree(t, m.Dir, nodeLocal)); len(d) > 0 {
				t.Errorf("mount %s of %s differs from it in %d ways:\n%s", m.Dir, src, len(d), head(d, 20))
			}
		})
	}
}

// TestTwoMounts mounts one database twice, with separate state
// directories, and expects each change made through A to show through B,
// whose kernel has the old state cached, within crossMountTimeout.
func TestTwoMounts(t *testing.T) {
	t.Parallel()
	src, _ := generate(t, smallA)
	db := newDBWith(t, src)
	a := mountDB(t, db)
	b := mountDB(t, db)

	// visible waits until cond holds through b, failing with cond's
	// message after crossMountTimeout, and returns how long it took.
	visible := func(t *testing.T, cond func() (bool, string)) time.Duration {
		t.Helper()
		start := time.Now()
		eventually(t, crossMountTimeout, cond)
		return time.Since(start)
	}
	content := func(p, want string) func() (bool, string) {
		return func() (bool, string) {
			got, err := os.ReadFile(p)
			if err != nil {
				return false, fmt.Sprintf("read %s: %v", p, err)
			}
			return string(got) == want, fmt.Sprintf("%s holds %q, want %q", p, got, want)
		}
	}
	gone := func(p string) func() (bool, string) {
		return func() (bool, string) {
			_, err := os.Lstat(p)
			return errors.Is(err, fs.ErrNotExist), fmt.Sprintf("lstat %s: %v, want no such file", p, err)
		}
	}
	// tmpRename writes p as GeoServer does: a tmp sibling renamed over it.
	tmpRename := func(t *testing.T, p, data string) {
		t.Helper()
		tmp := fmt.Sprintf("%s.%x.tmp", p, randomBytes(8))
		if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, p); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("tmp+rename", func(t *testing.T) {
		if _, err := os.ReadFile(b.Path("global.xml")); err != nil { // warm b's kernel cache
			t.Fatal(err)
		}
		var worst time.Duration
		var all []string
		for i := 1; i <= 10; i++ {
			want := fmt.Sprintf("<global><i>%d</i></global>\n", i)
			tmpRename(t, a.Path("global.xml"), want)
			d := visible(t, content(b.Path("global.xml"), want))
			worst = max(worst, d)
			all = append(all, d.Round(time.Millisecond).String())
		}
		t.Logf("A to B, 10 writes of global.xml: worst %s (%s)", worst.Round(time.Millisecond), strings.Join(all, " "))
		// And back, to a warm a.
		if _, err := os.ReadFile(a.Path("global.xml")); err != nil {
			t.Fatal(err)
		}
		want := "<global><from>b</from></global>\n"
		tmpRename(t, b.Path("global.xml"), want)
		d := visible(t, content(a.Path("global.xml"), want))
		t.Logf("B to A: %s", d.Round(time.Millisecond))
	})
	t.Run("mkdir rename rmdir", func(t *testing.T) {
		want := "<featureType/>\n"
		if err := os.Mkdir(a.Path("newdir"), 0o755); err != nil {
			t.Fatal(err)
		}
		tmpRename(t, a.Path("newdir/f.xml"), want)
		visible(t, content(b.Path("newdir/f.xml"), want))
		if err := os.Rename(a.Path("newdir"), a.Path("renamed")); err != nil {
			t.Fatal(err)
		}
		visible(t, content(b.Path("renamed/f.xml"), want))
		visible(t, gone(b.Path("newdir")))
		if err := os.Remove(a.Path("renamed/f.xml")); err != nil {
			t.Fatal(err)
		}
		visible(t, gone(b.Path("renamed/f.xml")))
		if err := os.Remove(a.Path("renamed")); err != nil {
			t.Fatal(err)
		}
		visible(t, gone(b.Path("renamed")))
	})
	t.Run("unlink", func(t *testing.T) {
		p := "wms.xml"
		if _, err := os.ReadFile(b.Path(p)); err != nil { // b caches the name and the content
			t.Fatal(err)
		}
		if err := os.Remove(a.Path(p)); err != nil {
			t.Fatal(err)
		}
		visible(t, gone(b.Path(p)))
	})
	t.Run("chmod chtimes", func(t *testing.T) {
		for _, c := range []struct {
			rel  string
			mode fs.FileMode
		}{{"global.xml", 0o600}, {"workspaces", 0o750}} {
			if _, err := os.Stat(b.Path(c.rel)); err != nil { // b caches the attributes
				t.Fatal(err)
			}
			if err := os.Chmod(a.Path(c.rel), c.mode); err != nil {
				t.Fatal(err)
			}
			visible(t, func() (bool, string) {
				fi, err := os.Stat(b.Path(c.rel))
				if err != nil {
					return false, fmt.Sprintf("stat %s: %v", b.Path(c.rel), err)
				}
				return fi.Mode().Perm() == c.mode, fmt.Sprintf("%s has mode %v, want %v", b.Path(c.rel), fi.Mode().Perm(), c.mode)
			})
		}
		// GeoServer notices changes by polling mtimes.
		mt := time.Unix(1_700_000_000, 123_456_789)
		if err := os.Chtimes(a.Path("global.xml"), mt, mt); err != nil {
			t.Fatal(err)
		}
		visible(t, func() (bool, string) {
			fi, err := os.Stat(b.Path("global.xml"))
			if err != nil {
				return false, fmt.Sprintf("stat %s: %v", b.Path("global.xml"), err)
			}
			return fi.ModTime().Equal(mt), fmt.Sprintf("%s has mtime %s, want %s", b.Path("global.xml"), fmtNs(fi.ModTime().UnixNano()), fmtNs(mt.UnixNano()))
		})
	})
}
