package fusefs

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/hanwen/go-fuse/v2/posixtest"

	"github.com/gscluster/gscluster/dbstore"
	"github.com/gscluster/gscluster/internal/pathspec"
	"github.com/gscluster/gscluster/internal/pgtest"
	"github.com/gscluster/gscluster/internal/replica"
)

// posixSkips are the go-fuse posixtest cases TestPosix does not run, keyed
// "tree/Case", each with the reason. A case is listed only when it cannot
// pass on a correct file system of ours; a case that fails for any other
// reason stays in and fails.
//
//	| tree   | case                | why                                              |
//	| ------ | ------------------- | ------------------------------------------------ |
//	| both   | FcntlFlockLocksFile | expects F_SETLK through a second fd of the same  |
//	|        |                     | process to conflict with the first's lock: POSIX |
//	|        |                     | locks belong to the process, so it fails on ext4 |
//	|        |                     | too (checked); go-fuse's own TestAll skips it.   |
//	|        |                     | Our locks are the kernel's, local to the node.   |
//	| local  | Link, NlinkZero,    | node-local paths (logs, temp, tile cache) are    |
//	|        | FstatDeleted        | served by path: a hard link there gets a node of |
//	|        |                     | its own, and a file unlinked or renamed over     |
//	|        |                     | while open is not reachable through its fd. A    |
//	|        |                     | known limit of the node-local tree; the shared   |
//	|        |                     | tree passes these cases.                         |
//
// Deliberate limits that no posixtest case reaches, so nothing else to
// skip: renameat2(RENAME_EXCHANGE) answers EINVAL in shared paths, mknod(2)
// of a FIFO, socket or device answers EPERM in shared paths, and POSIX and
// flock locks are the kernel's, local to the node (no GETLK/SETLK handlers;
// see DESIGN.md "Traps"). Some cases skip themselves and say why in the
// output: Tmpfile in both trees (O_TMPFILE: EOPNOTSUPP, no TMPFILE
// handler), XAttrLarge in local/ (the local disk refuses 8 KB xattrs) and
// RenameOpenDir in local/ (an open directory renamed over shows the other
// directory's mode: node-local node IDs stand for paths).
var posixSkips = map[string]string{
	"shared/FcntlFlockLocksFile": lockCaseWrong,
	"local/FcntlFlockLocksFile":  lockCaseWrong,
	"local/Link":                 localByPath,
	"local/NlinkZero":            localByPath,
	"local/FstatDeleted":         localByPath,
}

const localByPath = "node-local paths are served by path: hard links and open unlinked files are not followed there (a known limit)"

const lockCaseWrong = "the case expects two fds of one process to conflict on F_SETLK; process-associated POSIX locks never do (fails on ext4 too)"

// posixTrees are the two trees the suite runs in: the mount's root, which
// the database holds, and a node-local directory (temp/), which the mount
// serves from its local directory through different code.
var posixTrees = []struct {
	name string
	dir  string // relative to the mountpoint; made first with mkdir(2)
}{
	{"shared", ""},
	{"local", "temp"},
}

// TestPosix runs every case of go-fuse's posixtest suite, each on a fresh
// mount of a fresh database (0.1 to 0.3 s per mount; the whole test takes
// about 20 s with -race, OpenSymlinkRace most of it), once in a shared
// directory and once in a node-local one.
func TestPosix(t *testing.T) {
	names := make([]string, 0, len(posixtest.All))
	for name := range posixtest.All {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, tree := range posixTrees {
		t.Run(tree.name, func(t *testing.T) {
			for _, name := range names {
				t.Run(name, func(t *testing.T) {
					if why, ok := posixSkips[tree.name+"/"+name]; ok {
						t.Skip(why)
					}
					m := mountFS(t)
					dir := m.Dir
					if tree.dir != "" {
						dir = filepath.Join(m.Dir, tree.dir)
						if err := os.Mkdir(dir, 0o755); err != nil {
							t.Fatal(err)
						}
					}
					posixtest.All[name](t, dir)
				})
			}
		})
	}
}

// TestErrnoMapping checks the one function that turns errors into the
// kernel's errno, on errors wrapped the way the packages below wrap them.
func TestErrnoMapping(t *testing.T) {
	var buf syncBuffer
	f, err := New(Options{LocalDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	wrap := func(err error) error { return fmt.Errorf("commit workspaces/topp/workspace.xml: %w", err) }
	for _, c := range []struct {
		name string
		err  error
		want syscall.Errno // 0: fuse.OK
		logs bool          // logged as an unknown error
	}{
		{"nil", nil, 0, false},
		{"fs.ErrNotExist", wrap(fs.ErrNotExist), syscall.ENOENT, false},
		{"os.PathError ENOENT", &os.PathError{Op: "open", Path: "/x", Err: syscall.ENOENT}, syscall.ENOENT, false},
		{"dbstore.ErrNotFound", wrap(fmt.Errorf("look up ino 7: %w", dbstore.ErrNotFound)), syscall.ENOENT, false},
		{"dbstore.ErrExists", wrap(dbstore.ErrExists), syscall.EEXIST, false},
		{"fs.ErrExist", wrap(fs.ErrExist), syscall.EEXIST, false},
		{"dbstore.ErrNotEmpty", wrap(dbstore.ErrNotEmpty), syscall.ENOTEMPTY, false},
		{"dbstore.ErrNotDir", wrap(dbstore.ErrNotDir), syscall.ENOTDIR, false},
		{"dbstore.ErrIsDir", wrap(dbstore.ErrIsDir), syscall.EISDIR, false},
		{"syscall.EXDEV", wrap(syscall.EXDEV), syscall.EXDEV, false},
		{"syscall.ENOSPC in PathError", wrap(&os.PathError{Op: "write", Path: "/spool", Err: syscall.ENOSPC}), syscall.ENOSPC, false},
		{"syscall.EIO", wrap(syscall.EIO), syscall.EIO, false},
		{"syscall.EPERM", wrap(syscall.EPERM), syscall.EPERM, false},
		{"syscall.EACCES", wrap(syscall.EACCES), syscall.EACCES, false},
		{"syscall.ENAMETOOLONG", wrap(syscall.ENAMETOOLONG), syscall.ENAMETOOLONG, false},
		{"replica.ErrReadOnly", wrap(replica.ErrReadOnly), syscall.EROFS, false},
		{"syscall.ENOTEMPTY", wrap(syscall.ENOTEMPTY), syscall.ENOTEMPTY, false}, // "is" fs.ErrExist
		{"context.Canceled", wrap(context.Canceled), syscall.EINTR, false},       // the kernel interrupted the request
		{"unknown", wrap(errors.New("tuple concurrently updated")), syscall.EIO, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := buf.String()
			got := f.errno("testop", c.err)
			want := fuse.OK
			if c.want != 0 {
				want = fuse.Status(c.want)
			}
			if got != want {
				t.Errorf("errno(%v) = %v, want %v", c.err, syscall.Errno(got), syscall.Errno(want))
			}
			logged := strings.TrimPrefix(buf.String(), before)
			switch {
			case c.logs && strings.Count(logged, "\n") != 1:
				t.Errorf("an unknown error must be logged once with its cause, logged %q", logged)
			case c.logs && (!strings.Contains(logged, "op=testop") || !strings.Contains(logged, c.err.Error())):
				t.Errorf("the log line does not name the operation and the cause: %q", logged)
			case !c.logs && logged != "":
				t.Errorf("a known error was logged: %q", logged)
			}
		})
	}
}

// TestInvalidationAcrossMounts runs two mounts of one database in this
// process and checks that what one commits reaches the other's kernel
// caches, which hold entries, attributes and pages for an hour unless
// they are invalidated: a file replaced by rename, a file rewritten in
// place (same inode: only a page-cache invalidation shows it), a name
// created after a failed lookup (a negative entry), and a removed name.
func TestInvalidationAcrossMounts(t *testing.T) {
	url := pgtest.NewDB(t)
	a := mountDB(t, url)
	b := mountDB(t, url)
	const within = 5 * time.Second
	const name = "global.xml"
	pa, pb := filepath.Join(a.Dir, name), filepath.Join(b.Dir, name)

	// A name B has looked up and not found: the kernel keeps a negative
	// entry for it, and B's directory listing, in its cache.
	if _, err := os.Lstat(pb); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("B: lstat %s before anything was written: %v, want ENOENT", name, err)
	}
	if names := listDir(t, b.Dir); slices.Contains(names, name) {
		t.Fatalf("B lists %s before anything was written: %q", name, names)
	}
	v1 := []byte("<global>v1</global>\n")
	if err := os.WriteFile(pa, v1, 0o644); err != nil {
		t.Fatalf("A: %v", err)
	}
	eventually(t, within, "a file created in A appears in B (negative entry invalidated)", func() error {
		return wantContent(b, name, v1)
	})
	eventually(t, within, "B's listing shows the file created in A", func() error {
		if names := listDir(t, b.Dir); !slices.Contains(names, name) {
			return fmt.Errorf("B lists %q", names)
		}
		return nil
	})

	// Replace it the way GeoServer does: a temporary file renamed over it.
	// B's pages of the old file are warm.
	if got, err := os.ReadFile(pb); err != nil || !bytes.Equal(got, v1) {
		t.Fatalf("B: warm read: %q, %v", got, err)
	}
	v2 := []byte("<global>v2, written by A to a temporary file and renamed over</global>\n")
	tmp := filepath.Join(a.Dir, name+".tmp")
	if err := os.WriteFile(tmp, v2, 0o644); err != nil {
		t.Fatalf("A: %v", err)
	}
	if err := os.Rename(tmp, pa); err != nil {
		t.Fatalf("A: %v", err)
	}
	eventually(t, within, "a file renamed over in A shows its new content in B", func() error {
		return wantContent(b, name, v2)
	})
	eventually(t, within, "B's listing loses A's temporary name", func() error {
		if names := listDir(t, b.Dir); slices.Contains(names, name+".tmp") {
			return fmt.Errorf("B lists %q", names)
		}
		return nil
	})

	// Rewrite in place with the same length: the inode and the size stay,
	// so only an invalidation of B's page cache shows the new bytes.
	if got, err := os.ReadFile(pb); err != nil || !bytes.Equal(got, v2) {
		t.Fatalf("B: warm read: %q, %v", got, err)
	}
	var before syscall.Stat_t
	if err := syscall.Lstat(pa, &before); err != nil {
		t.Fatal(err)
	}
	v3 := bytes.ToUpper(v2)
	if err := os.WriteFile(pa, v3, 0o644); err != nil {
		t.Fatalf("A: %v", err)
	}
	var after syscall.Stat_t
	if err := syscall.Lstat(pa, &after); err != nil {
		t.Fatal(err)
	}
	if after.Ino != before.Ino {
		t.Fatalf("A: rewriting %s in place changed its inode (%d to %d): the test no longer checks B's page cache", name, before.Ino, after.Ino)
	}
	eventually(t, within, "a file rewritten in place in A shows its new content in B", func() error {
		return wantContent(b, name, v3)
	})

	// Remove it: B's positive entry must go.
	if _, err := os.Lstat(pb); err != nil {
		t.Fatalf("B: %v", err)
	}
	if err := os.Remove(pa); err != nil {
		t.Fatalf("A: %v", err)
	}
	eventually(t, within, "a file removed in A disappears from B", func() error {
		if _, err := os.Lstat(pb); !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("B: lstat: %v, want ENOENT (%s)", err, b.replicaView(name))
		}
		if names := listDir(t, b.Dir); slices.Contains(names, name) {
			return fmt.Errorf("B lists %q", names)
		}
		return nil
	})
}

// wantContent says how m's view of rel differs from want, kernel and
// replica both, so that a failure tells a stale kernel cache from a
// replica that has not caught up.
func wantContent(m *testMount, rel string, want []byte) error {
	got, err := os.ReadFile(filepath.Join(m.Dir, rel))
	if err == nil && bytes.Equal(got, want) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read: %v (%s)", err, m.replicaView(rel))
	}
	return fmt.Errorf("read %q, want %q (%s)", got, want, m.replicaView(rel))
}

// listDir lists a directory through the mount, as readdir(3) sees it.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// eventually calls cond every 10 ms until it returns nil, and fails the
// test if it still does not after within.
func eventually(t *testing.T, within time.Duration, what string, cond func() error) {
	t.Helper()
	start := time.Now()
	for {
		err := cond()
		if err == nil {
			t.Logf("%s: after %s", what, time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Since(start) > within {
			t.Fatalf("%s: not after %s: %v", what, within, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testMount is one mount served by this test process.
type testMount struct {
	Dir   string // the mountpoint
	State string // the state directory: replica, content cache, local tree
	FS    *FS
	R     *replica.Replica
}

// Path is rel (slash-separated) below the mountpoint.
func (m *testMount) Path(rel string) string { return filepath.Join(m.Dir, filepath.FromSlash(rel)) }

// replicaView describes rel as m's replica holds it.
func (m *testMount) replicaView(rel string) string {
	m.R.RLock()
	defer m.R.RUnlock()
	n := m.R.Resolve(rel)
	if n == nil {
		return "the replica has no such name"
	}
	return fmt.Sprintf("the replica holds ino %d, %d bytes, hash %.8x", n.Ino, n.Size, n.Hash)
}

// mountFS mounts a fresh empty database on a new directory.
func mountFS(t *testing.T) *testMount {
	t.Helper()
	return mountDB(t, pgtest.NewDB(t))
}

// mountDB mounts the database at url on a new directory, with its own
// state directory, and follows the database as `gscluster mount` does.
// When the test ends it unmounts, stops following and closes the replica,
// and fails the test if the unmount needed a lazy detach, if the mount is
// still there, if a file under the state directory is still open, or if
// the file system logged a warning or an error.
func mountDB(t *testing.T, url string) *testMount {
	t.Helper()
	requireFUSE(t)
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m := &testMount{Dir: filepath.Join(root, "mnt"), State: filepath.Join(root, "state")}
	for _, d := range []string{m.Dir, m.State} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	sink := &logSink{t: t}
	log := slog.New(&warnHandler{Handler: slog.NewTextHandler(sink, &slog.HandlerOptions{Level: slog.LevelWarn}), sink: sink})
	local, err := pathspec.New()
	if err != nil {
		t.Fatal(err)
	}

	var fsys *FS // set before Run starts: the only caller of Invalidate after Open
	r, err := replica.Open(context.Background(), url, replica.Options{
		StateDir: m.State,
		Origin:   "fusefs-test:" + m.Dir,
		Logger:   log.With("component", "replica"),
		Invalidate: func(inv []replica.Inval) {
			if fsys != nil {
				fsys.Invalidate(inv)
			}
		},
	})
	if err != nil {
		t.Fatalf("open the replica: %v", err)
	}
	fsys, err = New(Options{Replica: r, LocalDir: filepath.Join(m.State, "local"), Local: local,
		RecoveryDir: filepath.Join(m.State, "recovery"), Logger: log.With("component", "fusefs")})
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	srv, cleaned, err := fsys.Mount(m.Dir, MountOptions{})
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	if cleaned {
		t.Errorf("mount %s: a fresh directory was taken for a dead mount", m.Dir)
	}
	m.FS, m.R = fsys, r
	stopWatchdog := watchdog(m.Dir)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
	t.Cleanup(func() {
		// As `gscluster mount` stops: unmount, commit what is still being
		// written, stop following, close.
		unmount(t, srv, m.Dir)
		cctx, ccancel := context.WithTimeout(context.Background(), time.Minute)
		fsys.CommitAll(cctx)
		ccancel()
		stop()
		<-done
		if err := r.Close(); err != nil {
			t.Errorf("close the replica of %s: %v", m.Dir, err)
		}
		sink.close()
		stopWatchdog()
		if fds := openFiles(m.State); len(fds) > 0 {
			t.Errorf("after unmounting %s these files under its state directory are still open: %q", m.Dir, fds)
		}
		if w := sink.warnings(); len(w) > 0 {
			t.Errorf("the mount of %s logged %d warnings or errors; the first: %s", m.Dir, len(w), w[0])
		}
	})
	return m
}

// mountTimeout bounds the life of one mount in a test. A deadlock in the
// file system blocks the test's system call for ever, and the test
// binary's -timeout would then leave dead mounts behind.
const mountTimeout = 2 * time.Minute

// liveMounts are the mountpoints of this test binary not yet unmounted.
var liveMounts sync.Map

// watchdog registers the mount on dir; if it is still registered after
// mountTimeout, it prints every goroutine, aborts and detaches every mount
// of this test binary and panics, so that the deadlock shows and no mount
// stays. The abort (umount -f) matters: a request the kernel has sent to
// the daemon is waited for uninterruptibly, so a test thread blocked on a
// deadlocked daemon in its own process would keep the process from ever
// exiting.
func watchdog(dir string) (stop func()) {
	liveMounts.Store(dir, true)
	tm := time.AfterFunc(mountTimeout, func() {
		buf := make([]byte, 64<<20)
		buf = buf[:runtime.Stack(buf, true)]
		os.Stderr.Write(buf) //nolint:errcheck
		liveMounts.Range(func(k, _ any) bool {
			syscall.Unmount(k.(string), syscall.MNT_FORCE)  //nolint:errcheck // aborts the FUSE connection
			syscall.Unmount(k.(string), syscall.MNT_DETACH) //nolint:errcheck // best effort before the panic
			return true
		})
		panic(fmt.Sprintf("fusefs test: the mount on %s still runs %s after it was made: a deadlock in the file system? (goroutines above; every mount of this test binary was aborted and detached)", dir, mountTimeout))
	})
	return func() {
		tm.Stop()
		liveMounts.Delete(dir)
	}
}

// unmount unmounts dir, waiting a little for busy users, then detaches it
// lazily (failing the test) so that no mount outlives the test.
func unmount(t *testing.T, srv *fuse.Server, dir string) {
	var err error
	for i := 0; i < 10; i++ {
		if err = srv.Unmount(); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Errorf("unmount %s: %v: detaching it lazily", dir, err)
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			if out, err := exec.Command("fusermount3", "-u", "-z", dir).CombinedOutput(); err != nil {
				t.Errorf("lazy unmount of %s: %v: %s", dir, err, out)
			}
		}
		waited := make(chan struct{})
		go func() {
			srv.Wait()
			close(waited)
		}()
		select {
		case <-waited:
		case <-time.After(10 * time.Second):
			t.Errorf("the server of %s still runs 10 s after its lazy unmount: something still uses it", dir)
		}
	}
	if mounted(t, dir) {
		t.Errorf("%s is still mounted after the test", dir)
		syscall.Unmount(dir, syscall.MNT_DETACH) //nolint:errcheck // reported above
	}
}

// requireFUSE fails the test when FUSE is missing as root (where CI runs
// the suite) and skips it, saying why, for another user.
func requireFUSE(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		if os.Geteuid() == 0 {
			t.Fatalf("mount tests need /dev/fuse: %v (load the module: modprobe fuse; in a container: --device /dev/fuse --cap-add SYS_ADMIN)", err)
		}
		t.Skipf("mount tests need /dev/fuse (%v): run them as root on a machine with FUSE, as CI does", err)
	}
	if os.Geteuid() != 0 {
		if _, err := exec.LookPath("fusermount3"); err != nil {
			t.Skipf("mount tests as a non-root user need fusermount3 (apt-get install fuse3): %v; or run them as root, as CI does", err)
		}
	}
}

// mounted tells whether /proc/self/mountinfo lists a mount on dir.
func mounted(t *testing.T, dir string) bool {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Error(err)
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT ...
		if fields := strings.Fields(sc.Text()); len(fields) > 4 && fields[4] == dir {
			return true
		}
	}
	return false
}

// openFiles lists this process's open files under dir.
func openFiles(dir string) []string {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err == nil && strings.HasPrefix(target, dir+"/") {
			out = append(out, e.Name()+"="+target)
		}
	}
	return out
}

// logSink routes a mount's warnings into t.Log while the test runs (to
// stderr after it, so that a late line cannot panic) and keeps them.
type logSink struct {
	t testing.TB

	mu     sync.Mutex
	closed bool
	warns  []string
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return os.Stderr.Write(p)
	}
	s.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (s *logSink) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

func (s *logSink) warnings() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.warns)
}

// warnHandler notes the records at Warn and above: the file system warns
// only when something went wrong, so a warning fails the test.
type warnHandler struct {
	slog.Handler
	sink *logSink
}

func (h *warnHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		var b strings.Builder
		b.WriteString(r.Level.String() + " " + r.Message)
		r.Attrs(func(a slog.Attr) bool {
			b.WriteString(" " + a.String())
			return true
		})
		h.sink.mu.Lock()
		h.sink.warns = append(h.sink.warns, b.String())
		h.sink.mu.Unlock()
	}
	return h.Handler.Handle(ctx, r)
}

func (h *warnHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &warnHandler{Handler: h.Handler.WithAttrs(as), sink: h.sink}
}

func (h *warnHandler) WithGroup(name string) slog.Handler {
	return &warnHandler{Handler: h.Handler.WithGroup(name), sink: h.sink}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestReadahead checks that a mount made as root reads ahead readAhead
// bytes, not the kernel's 128 KiB default (a cold sequential read runs at
// less than half the speed with it).
func TestReadahead(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root can set a mount's readahead; elsewhere the kernel's default stays")
	}
	m := mountFS(t)
	p, err := readaheadFile(m.Dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(b)), strconv.Itoa(readAhead>>10); got != want {
		t.Errorf("%s = %s, want %s", p, got, want)
	}
}

// TestPushedPages checks the pages pushed into the kernel when a
// directory is listed: a pushed file is read without a READ reaching the
// daemon; a push that meets a change never leaves stale bytes in the
// kernel: a write through the same mount while the push is prepared, and
// a change committed elsewhere (through a second mount) meanwhile; and a
// read served meanwhile makes it give up, leaving the pages the read
// brought.
func TestPushedPages(t *testing.T) {
	url := pgtest.NewDB(t)
	a := mountDB(t, url)
	b := mountDB(t, url)
	ctx := context.Background()
	old := map[string][]byte{
		"quiet.xml":   []byte("<layer>read from the pushed pages</layer>\n"),
		"local.xml":   []byte("<layer>rewritten through this mount during its push</layer>\n"),
		"foreign.xml": []byte("<layer>rewritten through another mount during its push</layer>\n"),
		"read.xml":    []byte("<layer>read through this mount during its push</layer>\n"),
	}
	if err := os.Mkdir(b.Path("ws"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range old {
		if err := os.WriteFile(b.Path("ws/"+name), data, 0o644); err != nil {
			t.Fatalf("B: %v", err)
		}
	}
	// A learns of the files from the database and caches their content,
	// as `gscluster mount` prefetches it; its kernel knows nothing yet.
	inos := map[string]int64{}
	eventually(t, 5*time.Second, "A's replica holds the files written through B", func() error {
		a.R.RLock()
		defer a.R.RUnlock()
		for name := range old {
			n := a.R.Resolve("ws/" + name)
			if n == nil || n.Size != int64(len(old[name])) {
				return fmt.Errorf("ws/%s: %s", name, a.replicaView("ws/"+name))
			}
			inos[name] = n.Ino
		}
		return nil
	})
	a.R.RLock()
	hashes := a.R.AllFiles()
	a.R.RUnlock()
	if err := a.R.Cache.Prefetch(ctx, a.R.Store(), hashes); err != nil {
		t.Fatal(err)
	}

	newLocal := bytes.ToUpper(old["local.xml"]) // same size: only the pages tell
	newForeign := bytes.ToUpper(old["foreign.xml"])
	hook := func(ino int64) {
		switch ino {
		case inos["read.xml"]:
			if err := wantContent(a, "ws/read.xml", old["read.xml"]); err != nil {
				t.Errorf("A: read ws/read.xml during its push: %v", err)
			}
		case inos["local.xml"]:
			f, err := os.OpenFile(a.Path("ws/local.xml"), os.O_WRONLY, 0)
			if err == nil {
				_, err = f.WriteAt(newLocal, 0)
				f.Close()
			}
			if err != nil {
				t.Errorf("A: write ws/local.xml during its push: %v", err)
			}
		case inos["foreign.xml"]:
			f, err := os.OpenFile(b.Path("ws/foreign.xml"), os.O_WRONLY, 0)
			if err == nil {
				_, err = f.WriteAt(newForeign, 0)
				if err == nil {
					err = f.Sync()
				}
				f.Close()
			}
			if err != nil {
				t.Errorf("B: write ws/foreign.xml during A's push: %v", err)
				return
			}
			// A applies the change (and may invalidate) before the push.
			want := sha256.Sum256(newForeign)
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
				if h, _ := a.FS.fileContent(ino); bytes.Equal(h, want[:]) {
					return
				}
			}
			t.Errorf("A did not apply B's write of ws/foreign.xml within 5s")
		}
	}
	var mu sync.Mutex
	results := map[int64]bool{} // ino: the push has run, and whether its pages were kept
	after := func(ino int64, kept bool) {
		mu.Lock()
		results[ino] = kept
		mu.Unlock()
	}
	result := func(ino int64) (ran, kept bool) {
		mu.Lock()
		defer mu.Unlock()
		kept, ran = results[ino]
		return ran, kept
	}
	a.FS.push.before.Store(&hook)
	a.FS.push.after.Store(&after)
	listDir(t, a.Path("ws")) // READDIRPLUS: the kernel learns the inodes, the pushes start
	eventually(t, 5*time.Second, "every push has run", func() error {
		for name, ino := range inos {
			if ran, _ := result(ino); !ran {
				return fmt.Errorf("ws/%s: not pushed yet", name)
			}
		}
		return nil
	})
	if _, kept := result(inos["quiet.xml"]); !kept {
		t.Errorf("ws/quiet.xml, unchanged, was not pushed or its pages were dropped")
	}
	if _, kept := result(inos["read.xml"]); kept {
		t.Errorf("ws/read.xml was read while its push was prepared and was pushed all the same")
	}
	readsBefore, _ := a.FS.push.counts(inos["read.xml"])
	for _, name := range []string{"quiet.xml", "read.xml"} {
		if err := wantContent(a, "ws/"+name, old[name]); err != nil {
			t.Errorf("A: %v", err)
		}
	}
	if n, _ := a.FS.push.counts(inos["quiet.xml"]); n != 0 {
		t.Errorf("A's daemon served %d reads of the pushed ws/quiet.xml, want 0", n)
	}
	// The pages the read brought stay: reading again is the kernel's.
	if n, _ := a.FS.push.counts(inos["read.xml"]); n != readsBefore {
		t.Errorf("A's daemon served %d more reads of ws/read.xml after its skipped push, want 0 (its pages were dropped)", n-readsBefore)
	}
	for name, want := range map[string][]byte{"local.xml": newLocal, "foreign.xml": newForeign} {
		if _, kept := result(inos[name]); kept {
			t.Errorf("ws/%s met a change during its push and its pages were kept", name)
		}
		if err := wantContent(a, "ws/"+name, want); err != nil {
			t.Errorf("A: ws/%s: %v", name, err)
		}
	}
}
