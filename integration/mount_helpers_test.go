package integration

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gscluster/gscluster/internal/pgtest"
)

const (
	// readyTimeout bounds the wait for a mount's ready file.
	readyTimeout = 30 * time.Second
	// stopTimeout bounds the wait for a mount to end after SIGTERM.
	stopTimeout = 30 * time.Second
)

// mount is one `gscluster mount` process serving a database on Dir.
type mount struct {
	t        testing.TB
	Dir      string // the mountpoint, with symlinks resolved as mountinfo shows it
	StateDir string
	db       string
	extra    []string
	proc     *proc
	ended    bool // Stop or Kill ran: the cleanup has nothing to check
}

// mountDB mounts db on a new directory with a new state directory and
// returns once the mount serves. extra are further flags of gscluster
// mount. The mount is stopped with SIGTERM when the test ends; one left
// behind is lazily unmounted and fails the test.
func mountDB(t testing.TB, db string, extra ...string) *mount {
	t.Helper()
	root := tempDir(t)
	dir := filepath.Join(root, "mnt")
	state := filepath.Join(root, "state")
	for _, d := range []string{dir, state} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return mountOn(t, db, dir, state, extra...)
}

// mountOn mounts db on the existing directory dir with state directory
// state, as mountDB does. A ready file that a previous mount left in state
// is removed first.
func mountOn(t testing.TB, db, dir, state string, extra ...string) *mount {
	t.Helper()
	// Resolve the parent only: the mountpoint itself may be a dead mount
	// that a test wants the new mount to clean up.
	parent, err := filepath.EvalSymlinks(filepath.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	m := &mount{t: t, Dir: filepath.Join(parent, filepath.Base(dir)), StateDir: state, db: db, extra: extra}
	ready := filepath.Join(state, "ready")
	if err := os.Remove(ready); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	args := append([]string{"mount", m.Dir, "--state-dir", state, "--ready-file", ready}, extra...)
	m.proc = command(t, db, args...)
	m.proc.Start()
	t.Cleanup(m.cleanup)

	deadline := time.Now().Add(readyTimeout)
	for {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if m.proc.Exited() {
			m.ended = true
			t.Fatalf("mount %s ended before it was ready: %s", m.Dir, m.proc.res)
		}
		if time.Now().After(deadline) {
			m.proc.cmd.Process.Kill() //nolint:errcheck
			<-m.proc.done
			m.ended = true
			t.Fatalf("mount %s not ready within %s (killed): %s", m.Dir, readyTimeout, m.proc.res)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if ok, err := fuseMounted(m.Dir); err != nil || !ok {
		t.Fatalf("mount %s wrote its ready file %s, but mountinfo shows no FUSE mount there (%v)", m.Dir, ready, err)
	}
	return m
}

// Restart mounts the same database on the same directory and state
// directory with the same flags, after Stop or Kill.
func (m *mount) Restart() *mount {
	m.t.Helper()
	return mountOn(m.t, m.db, m.Dir, m.StateDir, m.extra...)
}

// Path returns the path of rel (slash separated) inside the mount.
func (m *mount) Path(rel string) string {
	return filepath.Join(m.Dir, filepath.FromSlash(rel))
}

// Stop sends SIGTERM, waits for the process, and fails the test unless it
// exited 0 and left no FUSE mount on Dir.
func (m *mount) Stop() {
	m.t.Helper()
	if m.ended {
		m.t.Fatalf("mount %s: Stop after Stop or Kill", m.Dir)
	}
	m.ended = true
	r := m.terminate()
	if r.code != 0 {
		m.t.Errorf("mount %s: SIGTERM: want exit 0, got %s", m.Dir, r)
	}
	if ok, err := fuseMounted(m.Dir); err != nil {
		m.t.Error(err)
	} else if ok {
		lazyUnmount(m.t, m.Dir)
		m.t.Errorf("mount %s exited after SIGTERM but left its FUSE mount behind (lazily unmounted)\nstderr:\n%s", m.Dir, tail(r.stderr, 30))
	}
}

// Kill sends SIGKILL and waits for the process. Unless leaveDead, the dead
// mount left on Dir ("transport endpoint is not connected") is lazily
// unmounted so that a new mount can use Dir; with leaveDead it stays, for
// a test of how a restart deals with it.
func (m *mount) Kill(leaveDead bool) {
	m.t.Helper()
	if m.ended {
		m.t.Fatalf("mount %s: Kill after Stop or Kill", m.Dir)
	}
	m.ended = true
	m.proc.cmd.Process.Kill() //nolint:errcheck
	<-m.proc.done
	if leaveDead {
		return
	}
	if ok, err := fuseMounted(m.Dir); err != nil {
		m.t.Fatal(err)
	} else if ok {
		lazyUnmount(m.t, m.Dir)
	}
}

// terminate sends SIGTERM and waits for the process.
func (m *mount) terminate() result {
	m.t.Helper()
	if !m.proc.Exited() {
		if err := m.proc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			m.t.Errorf("mount %s: send SIGTERM: %v", m.Dir, err)
		}
	}
	return m.proc.Wait(stopTimeout)
}

// cleanup stops a mount the test did not stop, failing the test when the
// mount does not end cleanly, and lazily unmounts whatever is left on Dir.
func (m *mount) cleanup() {
	t := m.t
	if !m.ended {
		m.ended = true
		r := m.terminate()
		if r.code != 0 {
			t.Errorf("mount %s: SIGTERM at the end of the test: want exit 0, got %s", m.Dir, r)
		} else if t.Failed() {
			t.Logf("mount %s stderr:\n%s", m.Dir, tail(r.stderr, 30))
		}
	}
	ok, err := fuseMounted(m.Dir)
	if err != nil {
		t.Error(err)
		return
	}
	if !ok {
		return
	}
	lazyUnmount(t, m.Dir)
	if m.proc.res.code == 0 {
		t.Errorf("mount %s: the process ended but left its FUSE mount behind (lazily unmounted)", m.Dir)
	}
}

// fuseMounted tells whether /proc/self/mountinfo lists a FUSE file system
// mounted on dir.
func fuseMounted(dir string) (bool, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 1 {
			continue
		}
		if unescapeMountinfo(f[4]) == dir && strings.HasPrefix(g[0], "fuse") {
			return true, nil
		}
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("read /proc/self/mountinfo: %w", err)
	}
	return false, nil
}

// unescapeMountinfo undoes the octal escapes (\040 for a space) of a path
// in mountinfo.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// lazyUnmount detaches the mount on dir, even a dead one: umount -l as
// root, fusermount -u -z otherwise.
func lazyUnmount(t testing.TB, dir string) {
	t.Helper()
	var cmd *exec.Cmd
	switch {
	case os.Geteuid() == 0:
		cmd = exec.Command("umount", "-l", dir)
	case haveCommand("fusermount3"):
		cmd = exec.Command("fusermount3", "-u", "-z", dir)
	default:
		cmd = exec.Command("fusermount", "-u", "-z", dir)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("%s: %v: %s", strings.Join(cmd.Args, " "), err, out)
	}
}

// haveCommand tells whether name is on the PATH.
func haveCommand(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > n {
		ls = append([]string{fmt.Sprintf("… %d lines before", len(ls)-n)}, ls[len(ls)-n:]...)
	}
	return strings.Join(ls, "\n")
}

// newDBWith creates a fresh database and imports the tree at src into it.
func newDBWith(t testing.TB, src string) string {
	t.Helper()
	db := pgtest.NewDB(t)
	gsOK(t, db, "import", src)
	return db
}
