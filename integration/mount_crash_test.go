package integration

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gscluster/gscluster/internal/pgserver"
)

// writableAgainTimeout bounds how long a mount may stay read-only after
// its database returns: the replica retries every few seconds.
const writableAgainTimeout = 15 * time.Second

// crashVersion is version v of the file named name: a header naming both,
// then a body derived from them, 1 to 192 KiB long so that a kill lands
// inside writes and a torn or mixed file is told apart from a whole one.
func crashVersion(name string, v int) []byte {
	h := sha256.Sum256([]byte(name + "/" + strconv.Itoa(v)))
	size := 1<<10 + int(binary.BigEndian.Uint32(h[:4])%(191<<10))
	var b bytes.Buffer
	b.Grow(size + 65)
	fmt.Fprintf(&b, "<!-- %s version %d -->\n", name, v)
	for b.Len() < size {
		h = sha256.Sum256(h[:])
		b.WriteString(hex.EncodeToString(h[:]))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// parseCrashVersion tells which version of which file data claims to be by
// its header, and whether it is that version whole.
func parseCrashVersion(data []byte) (name string, v int, whole bool) {
	line, _, ok := bytes.Cut(data, []byte("\n"))
	if !ok {
		return "", 0, false
	}
	if _, err := fmt.Sscanf(string(line), "<!-- %s version %d -->", &name, &v); err != nil {
		return "", 0, false
	}
	return name, v, bytes.Equal(data, crashVersion(name, v))
}

// describeCrashContent says what data is, for a failure message.
func describeCrashContent(data []byte) string {
	name, v, whole := parseCrashVersion(data)
	switch {
	case whole:
		return fmt.Sprintf("version %d of %s", v, name)
	case name != "":
		full := crashVersion(name, v)
		if bytes.HasPrefix(full, data) {
			return fmt.Sprintf("the first %d of %d bytes of version %d of %s (truncated)", len(data), len(full), v, name)
		}
		return fmt.Sprintf("%d bytes headed as version %d of %s (%d bytes) but not equal to it (mixed)", len(data), v, name, len(full))
	}
	return fmt.Sprintf("%d bytes without a version header: %q", len(data), data[:min(len(data), 40)])
}

// crashWriter writes successive versions of one file through a mount,
// recording the last version it started and the last one the mount
// acknowledged (the rename, or the fsync, returned nil).
type crashWriter struct {
	name   string // the file's name in the crash directory
	rename bool   // GeoServer's way: NAME.UUID.tmp written, then renamed over NAME; else rewritten in place and fsynced
	tried  atomic.Int64
	acked  atomic.Int64

	mu       sync.Mutex
	err      error
	afterErr bool // err came once the kill had begun
}

// crashChunk is the size of each write(2), so that a version takes several.
const crashChunk = 16 << 10

func (w *crashWriter) mode() string {
	if w.rename {
		return "tmp+rename"
	}
	return "rewrite+fsync"
}

// write writes version v into dir and calls ack once the mount has
// acknowledged it.
func (w *crashWriter) write(dir string, v int, ack func()) error {
	data := crashVersion(w.name, v)
	target := filepath.Join(dir, w.name)
	if w.rename {
		tmp := fmt.Sprintf("%s.%x.tmp", target, randomBytes(16))
		f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		if err := writeChunks(f, data); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		if err := os.Rename(tmp, target); err != nil {
			return err
		}
		ack()
		return nil
	}
	// O_TRUNC, as most programs rewrite a file: the truncation must not
	// reach the database before the fsync does.
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	if err := writeChunks(f, data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	ack()
	return f.Close()
}

func writeChunks(f *os.File, data []byte) error {
	for len(data) > 0 {
		n := min(len(data), crashChunk)
		if _, err := f.Write(data[:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// run writes versions from 1 on until stop is closed or a write fails.
func (w *crashWriter) run(dir string, stop <-chan struct{}, killing *atomic.Bool) {
	for v := 1; ; v++ {
		select {
		case <-stop:
			return
		default:
		}
		w.tried.Store(int64(v))
		if err := w.write(dir, v, func() { w.acked.Store(int64(v)) }); err != nil {
			w.mu.Lock()
			w.err, w.afterErr = fmt.Errorf("%s version %d: %w", w.mode(), v, err), killing.Load()
			w.mu.Unlock()
			return
		}
	}
}

// readCrashDir reads every file of dir, by name.
func readCrashDir(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			t.Errorf("%s/%s is a %v, want a regular file", dir, e.Name(), e.Type())
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Errorf("read %s: %v", filepath.Join(dir, e.Name()), err)
			continue
		}
		out[e.Name()] = data
	}
	return out
}

// checkCrashDir fails the test unless files (the crash directory, by name)
// hold, for each writer, a whole version no older than the last one the
// mount acknowledged, and, in the temporary files a rename never reached,
// whole versions too.
func checkCrashDir(t testing.TB, where string, files map[string][]byte, ws []*crashWriter) {
	t.Helper()
	byName := map[string]*crashWriter{}
	for _, w := range ws {
		byName[w.name] = w
		data, ok := files[w.name]
		acked, tried := int(w.acked.Load()), int(w.tried.Load())
		if !ok {
			t.Errorf("%s: %s is missing (written %s, version %d acknowledged)", where, w.name, w.mode(), acked)
			continue
		}
		name, v, whole := parseCrashVersion(data)
		switch {
		case !whole || name != w.name:
			t.Errorf("%s: %s (written %s) holds %s, want a whole version from %d to %d", where, w.name, w.mode(), describeCrashContent(data), acked, tried)
		case v < acked:
			t.Errorf("%s: %s (written %s) holds version %d, but version %d was acknowledged: an acknowledged write is lost", where, w.name, w.mode(), v, acked)
		case v > tried:
			t.Errorf("%s: %s holds version %d, never written (the last one started was %d)", where, w.name, v, tried)
		}
	}
	for fname, data := range files {
		if byName[fname] != nil {
			continue
		}
		base, ok := strings.CutSuffix(fname, ".tmp")
		i := strings.LastIndexByte(base, '.')
		var w *crashWriter
		if ok && i > 0 {
			w = byName[base[:i]]
		}
		if w == nil || !w.rename {
			t.Errorf("%s: unexpected file %s: %s", where, fname, describeCrashContent(data))
			continue
		}
		// A temporary file that exists was closed, so committed, whole.
		if name, v, whole := parseCrashVersion(data); !whole || name != w.name || v > int(w.tried.Load()) {
			t.Errorf("%s: leftover temporary file %s holds %s, want a whole version of %s", where, fname, describeCrashContent(data), w.name)
		}
	}
}

// TestMountKillDuringWrites writes files through a mount the way GeoServer
// does, from several goroutines, SIGKILLs the daemon in the middle, and
// restarts it on the same state directory. Every file must then be one
// whole version (never torn, never mixed), at least the last version the
// mount acknowledged, and the database must hold what the mount shows.
func TestMountKillDuringWrites(t *testing.T) {
	t.Parallel()
	src, _ := generate(t, smallA)
	db := newDBWith(t, src)
	m := mountDB(t, db)
	dir := m.Path("crash")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var ws []*crashWriter
	for i := range 6 {
		w := &crashWriter{name: fmt.Sprintf("w%d-fsync.xml", i)}
		if i%2 == 0 {
			w.name, w.rename = fmt.Sprintf("w%d-rename.xml", i), true
		}
		// Version 0, committed before the writers start.
		if err := writeNewSync(filepath.Join(dir, w.name), crashVersion(w.name, 0)); err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}

	stop := make(chan struct{})
	var killing atomic.Bool
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(dir, stop, &killing)
		}()
	}
	stopWriters := func() {
		close(stop)
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("writers still blocked on the mount 30 s after the kill")
		}
	}
	defer func() {
		select {
		case <-stop:
		default:
			stopWriters()
		}
	}()

	start := time.Now()
	eventually(t, 20*time.Second, func() (bool, string) {
		var short []string
		for _, w := range ws {
			w.mu.Lock()
			err := w.err
			w.mu.Unlock()
			if err != nil {
				t.Fatalf("%s failed before the kill: %v", w.name, err)
			}
			if w.acked.Load() < 3 {
				short = append(short, fmt.Sprintf("%s at %d", w.name, w.acked.Load()))
			}
		}
		return len(short) == 0, "writers with fewer than 3 acknowledged versions: " + strings.Join(short, ", ")
	})
	killing.Store(true)
	m.Kill(false)
	t.Logf("killed the mount %s after %s of writes", m.Dir, time.Since(start).Round(time.Millisecond))
	stopWriters()
	for _, w := range ws {
		w.mu.Lock()
		err, after := w.err, w.afterErr
		w.mu.Unlock()
		if err != nil && !after {
			t.Errorf("%s failed before the kill: %v", w.name, err)
		}
		t.Logf("%s: version %d acknowledged, %d started; stopped by: %v", w.name, w.acked.Load(), w.tried.Load(), err)
	}

	m2 := m.Restart()
	seen := readCrashDir(t, m2.Path("crash"))
	checkCrashDir(t, "after the restart, mount "+m2.Dir, seen, ws)

	// The database, read without any mount, agrees.
	export := filepath.Join(tempDir(t), "export")
	gsOK(t, db, "export", export)
	inDB := readCrashDir(t, filepath.Join(export, "crash"))
	checkCrashDir(t, "after the restart, export of the database", inDB, ws)
	for name, data := range seen {
		if d, ok := inDB[name]; !ok {
			t.Errorf("the restarted mount shows crash/%s (%s), the database does not have it", name, describeCrashContent(data))
		} else if !bytes.Equal(d, data) {
			t.Errorf("the restarted mount shows crash/%s as %s, the database holds %s", name, describeCrashContent(data), describeCrashContent(d))
		}
	}
	for name, data := range inDB {
		if _, ok := seen[name]; !ok {
			t.Errorf("the database holds crash/%s (%s), the restarted mount does not show it", name, describeCrashContent(data))
		}
	}

	// What the kill interrupted went to the recovery folder: never more
	// than a prefix of a version.
	recovery := filepath.Join(m2.StateDir, "node", "recovery")
	if ents, err := os.ReadDir(recovery); err == nil {
		for _, e := range ents {
			data, err := os.ReadFile(filepath.Join(recovery, e.Name()))
			if err != nil {
				t.Error(err)
				continue
			}
			t.Logf("recovery/%s: %s", e.Name(), describeCrashContent(data))
			if name, v, _ := parseCrashVersion(data); name != "" && !bytes.HasPrefix(crashVersion(name, v), data) {
				t.Errorf("recovery/%s is no prefix of a version: %s", e.Name(), describeCrashContent(data))
			}
		}
	}

	// The restarted mount takes writes, both ways, and the database ends
	// with exactly what it shows.
	for _, w := range ws {
		v := int(w.tried.Load()) + 1
		if err := w.write(m2.Path("crash"), v, func() { w.acked.Store(int64(v)) }); err != nil {
			t.Errorf("after the restart, %s of %s: %v", w.mode(), w.name, err)
		}
		w.tried.Store(int64(v))
	}
	for _, w := range ws {
		data, err := os.ReadFile(filepath.Join(m2.Path("crash"), w.name))
		if err != nil {
			t.Error(err)
		} else if name, v, whole := parseCrashVersion(data); !whole || name != w.name || v != int(w.acked.Load()) {
			t.Errorf("after the restart and a new write, %s holds %s, want version %d", w.name, describeCrashContent(data), w.acked.Load())
		}
	}
	assertPersisted(t, m2)
	if t.Failed() {
		t.Logf("restarted mount stderr:\n%s", tail(m2.proc.res.stderr, 40))
	}
}

// fuseMountCount counts the FUSE file systems that /proc/self/mountinfo
// lists on dir: more than one means a mount was stacked on a dead one.
func fuseMountCount(t testing.TB, dir string) int {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(string(data), "\n") {
		pre, post, ok := strings.Cut(l, " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) >= 5 && len(g) >= 1 && unescapeMountinfo(f[4]) == dir && strings.HasPrefix(g[0], "fuse") {
			n++
		}
	}
	return n
}

// TestMountRestartOverDeadMount SIGKILLs a mount and leaves its dead
// mountpoint ("transport endpoint is not connected") in place, with a file
// still open on it, as a crashed daemon under GeoServer would. A restart
// must clean it up, serve the tree, and leave nothing behind when stopped.
func TestMountRestartOverDeadMount(t *testing.T) {
	t.Parallel()
	src, _ := generate(t, smallA)
	db := newDBWith(t, src)
	m := mountDB(t, db)
	assertSameTree(t, src, m.Dir)
	held, err := os.Open(m.Path("global.xml"))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()

	m.Kill(true)
	var sfs syscall.Statfs_t
	if err := syscall.Statfs(m.Dir, &sfs); !errors.Is(err, syscall.ENOTCONN) {
		t.Fatalf("statfs %s after SIGKILL: %v, want ENOTCONN (a dead mount)", m.Dir, err)
	}
	if n := fuseMountCount(t, m.Dir); n != 1 {
		t.Fatalf("mountinfo lists %d FUSE mounts on %s after SIGKILL, want the dead one", n, m.Dir)
	}

	m2 := m.Restart()
	if n := fuseMountCount(t, m2.Dir); n != 1 {
		t.Errorf("mountinfo lists %d FUSE mounts on %s after the restart, want 1 (the dead one unmounted, not stacked under)", n, m2.Dir)
	}
	assertSameTree(t, src, m2.Dir)
	// The kernel may answer it from its page cache: any answer will do,
	// as long as it does not hang.
	_, err = held.Read(make([]byte, 16))
	t.Logf("read of a file opened on the dead mount, after the restart: %v", err)
	want := []byte("<global><after-crash/></global>\n")
	if err := os.WriteFile(m2.Path("global.xml"), want, 0o644); err != nil {
		t.Fatalf("write through the restarted mount: %v", err)
	}

	m2.Stop()
	if n := fuseMountCount(t, m2.Dir); n != 0 {
		t.Errorf("mountinfo lists %d FUSE mounts on %s after Stop, want none", n, m2.Dir)
		lazyUnmount(t, m2.Dir)
	}
	stderr := m2.proc.res.stderr
	if !strings.Contains(stderr, "level=WARN") || !strings.Contains(stderr, "dead mount") {
		t.Errorf("the restarted mount did not warn that it unmounted a dead mount; stderr:\n%s", tail(stderr, 20))
	}
	dst := filepath.Join(tempDir(t), "export")
	gsOK(t, db, "export", dst)
	if got, err := os.ReadFile(filepath.Join(dst, "global.xml")); err != nil || !bytes.Equal(got, want) {
		t.Errorf("global.xml in the database after the restart: %q, %v; want %q", got, err, want)
	}
}

// outagePostgres initialises and starts a PostgreSQL server of the test's
// own, which the test may stop and start, and stops it when the test ends.
// A watchdog stops it if the test binary dies first.
func outagePostgres(t testing.TB) *pgserver.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := &pgserver.Server{Dir: filepath.Join(tempDir(t), "pg"), Settings: []string{"fsync=off", "synchronous_commit=off", "full_page_writes=off"}}
	begin := time.Now()
	if err := s.Init(ctx); err != nil {
		t.Fatal(err)
	}
	stop, err := pgserver.Command(context.Background(), "pg_ctl", "-D", s.Dir, "-m", "immediate", "-w", "-t", "30", "stop")
	if err != nil {
		t.Fatal(err)
	}
	const script = `pid=$1; shift; while kill -0 "$pid" 2>/dev/null; do sleep 0.5; done; "$@" >/dev/null 2>&1`
	watchdog := exec.Command("/bin/sh", append([]string{"-c", script, "outage-pg-watchdog", strconv.Itoa(os.Getpid()), stop.Path}, stop.Args[1:]...)...)
	watchdog.Dir = "/"
	watchdog.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := watchdog.Start(); err != nil {
		t.Fatalf("start the watchdog of postgresql in %s: %v", s.Dir, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("stop postgresql in %s: %v (the watchdog stops it when the test binary exits)", s.Dir, err)
			return
		}
		if s.Running() {
			t.Errorf("postgresql in %s still runs after the test (the watchdog stops it when the test binary exits)", s.Dir)
			return
		}
		syscall.Kill(-watchdog.Process.Pid, syscall.SIGKILL) //nolint:errcheck
		watchdog.Wait()                                      //nolint:errcheck
	})
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("own postgresql on port %d ready in %s", s.Port, time.Since(begin).Round(time.Millisecond))
	return s
}

// readUncached reads p after dropping the kernel's cached pages of it, so
// that the read reaches the daemon.
func readUncached(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		return nil, fmt.Errorf("fadvise %s: %w", p, err)
	}
	return io.ReadAll(f)
}

// assertReadsUncached reads every regular file of want through root with
// the kernel's page cache dropped and compares the content.
func assertReadsUncached(t testing.TB, root string, want map[string]node) {
	t.Helper()
	var bad []string
	for rel, n := range want {
		if n.kind != "file" {
			continue
		}
		data, err := readUncached(filepath.Join(root, filepath.FromSlash(rel)))
		switch {
		case err != nil:
			bad = append(bad, fmt.Sprintf("%s: %v", rel, err))
		case sha256.Sum256(data) != n.sum:
			bad = append(bad, fmt.Sprintf("%s: %d bytes differ from the %d read before", rel, len(data), n.size))
		}
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		t.Errorf("%d files of %s read wrong:\n%s", len(bad), root, head(bad, 20))
	}
}

// errnoOf is the errno inside err, 0 for nil, and -1 when err holds none.
func errnoOf(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	var en syscall.Errno
	if errors.As(err, &en) {
		return en
	}
	return ^syscall.Errno(0)
}

// errnoName names an errno as C does (EROFS), "success" for 0.
func errnoName(e syscall.Errno) string {
	switch {
	case e == 0:
		return "success"
	case e == ^syscall.Errno(0):
		return "no errno"
	}
	if n := unix.ErrnoName(e); n != "" {
		return n
	}
	return e.Error()
}

// wantRefused fails the test unless err carries one of the errnos.
func wantRefused(t testing.TB, what string, err error, errnos ...syscall.Errno) {
	t.Helper()
	got := errnoOf(err)
	for _, e := range errnos {
		if got == e {
			t.Logf("%s: %s, as it should", what, errnoName(got))
			return
		}
	}
	var names []string
	for _, e := range errnos {
		names = append(names, errnoName(e))
	}
	t.Errorf("%s: %v (%s), want %s", what, err, errnoName(got), strings.Join(names, " or "))
}

// findRecovery returns the content the mount kept in the recovery folder
// of state for the path rel (the newest copy), and its file name.
func findRecovery(state, rel string) ([]byte, string, error) {
	dir := filepath.Join(state, "node", "recovery")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, "", err
	}
	suffix := "-" + strings.ReplaceAll(rel, "/", "%")
	var names, all []string
	for _, e := range ents {
		all = append(all, e.Name())
		if strings.HasSuffix(e.Name(), suffix) {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return nil, "", fmt.Errorf("the recovery folder %s has no file ending %q; it has %q", dir, suffix, all)
	}
	sort.Strings(names)
	data, err := os.ReadFile(filepath.Join(dir, names[len(names)-1]))
	return data, names[len(names)-1], err
}

// waitRecovered waits until the recovery folder of m holds want for rel
// and rel reads as old again through m.
func waitRecovered(t testing.TB, m *mount, rel string, want []byte, old [sha256.Size]byte) {
	t.Helper()
	eventually(t, 5*time.Second, func() (bool, string) {
		got, name, err := findRecovery(m.StateDir, rel)
		switch {
		case err != nil:
			return false, err.Error()
		case !bytes.Equal(got, want):
			return false, fmt.Sprintf("recovery/%s holds %d bytes, want the %d written", name, len(got), len(want))
		}
		data, err := readUncached(filepath.Join(m.Dir, filepath.FromSlash(rel)))
		if err != nil {
			return false, fmt.Sprintf("read %s after its commit failed: %v", rel, err)
		}
		return sha256.Sum256(data) == old, fmt.Sprintf("%s reads %d bytes after its commit failed, want its committed content back", rel, len(data))
	})
}

// writeNewSync creates p, writes data and fsyncs it: the mount has
// committed it when this returns nil.
func writeNewSync(p string, data []byte) error {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// hasLogLine tells whether one line of log holds every one of want.
func hasLogLine(log string, want ...string) bool {
	for _, l := range strings.Split(log, "\n") {
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(l, w)
		}
		if ok {
			return true
		}
	}
	return false
}

// tmpRenameWrite writes p as GeoServer does: a temporary sibling, closed,
// then renamed over p.
func tmpRenameWrite(p string, data []byte) error {
	tmp := fmt.Sprintf("%s.%x.tmp", p, randomBytes(16))
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// waitWritable waits until a mkdir through m succeeds again, and removes
// the directory it made.
func waitWritable(t testing.TB, m *mount) time.Duration {
	t.Helper()
	start := time.Now()
	probe := m.Path(fmt.Sprintf("writable-probe-%x", randomBytes(4)))
	eventually(t, writableAgainTimeout, func() (bool, string) {
		err := os.Mkdir(probe, 0o755)
		if err == nil {
			return true, ""
		}
		time.Sleep(100 * time.Millisecond)
		return false, fmt.Sprintf("mkdir %s on %s after the database returned: %v", probe, m.Dir, err)
	})
	if err := os.Remove(probe); err != nil {
		t.Fatal(err)
	}
	return time.Since(start)
}

// TestMountDatabaseOutage stops the database under a mount: reads go on
// from the replica and its content cache, changes are refused, a write is
// kept in the recovery folder, and once the database returns the mount
// takes writes again without a remount. A mount restarted during an outage
// serves the saved replica.
func TestMountDatabaseOutage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pg := outagePostgres(t)
	sqlExec(t, pg.URL("postgres"), "CREATE DATABASE gscluster_outage")
	db := pg.URL("gscluster_outage")
	src, _ := generate(t, smallA)
	gsOK(t, db, "import", src)
	m := mountDB(t, db)
	before := scanTree(t, m.Dir, nodeLocal) // reads every file: the content cache holds them all
	if d := diffTrees(scanTree(t, src, nodeLocal), before); len(d) > 0 {
		t.Fatalf("the mount differs from the imported tree in %d ways:\n%s", len(d), head(d, 20))
	}
	// Two files below a directory: the recovery name shows the slashes.
	var deep []string
	for rel, n := range before {
		if n.kind == "file" && n.size > 0 && strings.Count(rel, "/") >= 2 {
			deep = append(deep, rel)
		}
	}
	sort.Strings(deep)
	if len(deep) < 4 {
		t.Fatalf("the generated tree has %d files two directories down, want 4", len(deep))
	}
	synced, victim, moved, closed := deep[0], deep[1], deep[2], deep[3]

	// Outage 1, under a running mount.
	if err := pg.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	assertReadsUncached(t, m.Dir, before)
	if d := diffTrees(before, scanTree(t, m.Dir, nodeLocal)); len(d) > 0 {
		t.Errorf("with the database down the mount shows a tree that differs from the one before in %d ways:\n%s", len(d), head(d, 20))
	}

	// Writes into existing files: open and write succeed (the spool is
	// local); the commit fails with EIO, and the content is kept.
	update := func(rel string) []byte {
		return append([]byte("<!-- "+rel+" written during the outage -->\n"), bytes.Repeat([]byte("x"), int(before[rel].size))...)
	}
	writeOpen := func(rel string, data []byte) *os.File {
		t.Helper()
		f, err := os.OpenFile(filepath.Join(m.Dir, filepath.FromSlash(rel)), os.O_WRONLY, 0)
		if err != nil {
			t.Fatalf("open %s for writing with the database down: %v", rel, err)
		}
		if _, err := f.Write(data); err != nil {
			t.Errorf("write %s with the database down: %v (the spool is local: want the write to succeed)", rel, err)
		}
		return f
	}
	// With fsync, the writer learns at once.
	f := writeOpen(synced, update(synced))
	wantRefused(t, "fsync of "+synced+" written with the database down", f.Sync(), syscall.EIO)
	t.Logf("close of %s after the failed fsync: %v", synced, f.Close())
	waitRecovered(t, m, synced, update(synced), before[synced].sum)
	// Without, the commit after the close fails: the design once said EIO
	// at close, the mount now commits after it; either way the content is
	// kept and the file shows its committed content again.
	f = writeOpen(closed, update(closed))
	if err := f.Close(); err != nil {
		wantRefused(t, "close of "+closed+" written with the database down", err, syscall.EIO)
	} else {
		t.Logf("close of %s written with the database down: success (the commit follows the close)", closed)
	}
	waitRecovered(t, m, closed, update(closed), before[closed].sum)

	// A new file. The brief of this test says EIO at close with the
	// content kept; a create refused at once with EROFS loses nothing.
	created := path.Dir(synced) + "/outage-new.xml"
	createdData := []byte("<featureType><name>written during the outage</name></featureType>\n")
	if f, err := os.OpenFile(filepath.Join(m.Dir, created), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644); err != nil {
		wantRefused(t, "create of "+created+" with the database down", err, syscall.EROFS)
	} else {
		if _, err := f.Write(createdData); err != nil {
			t.Errorf("write %s with the database down: %v", created, err)
		}
		if err := f.Close(); err != nil {
			wantRefused(t, "close of "+created+" created with the database down", err, syscall.EIO)
		}
		eventually(t, 5*time.Second, func() (bool, string) {
			got, name, err := findRecovery(m.StateDir, created)
			if err != nil || !bytes.Equal(got, createdData) {
				return false, fmt.Sprintf("recovery of %s: %q in %s, %v; want %q", created, got, name, err, createdData)
			}
			_, err = os.Lstat(filepath.Join(m.Dir, created))
			return errors.Is(err, fs.ErrNotExist), fmt.Sprintf("lstat %s after its commit failed: %v, want no such file", created, err)
		})
	}

	// Changes to names and attributes are refused.
	wantRefused(t, "mkdir with the database down", os.Mkdir(m.Path("outage-dir"), 0o755), syscall.EROFS, syscall.EIO)
	wantRefused(t, "unlink with the database down", os.Remove(filepath.Join(m.Dir, victim)), syscall.EROFS, syscall.EIO)
	wantRefused(t, "rename with the database down", os.Rename(filepath.Join(m.Dir, moved), filepath.Join(m.Dir, moved+".moved")), syscall.EROFS, syscall.EIO)
	wantRefused(t, "chmod with the database down", os.Chmod(filepath.Join(m.Dir, victim), 0o600), syscall.EROFS, syscall.EIO)
	wantRefused(t, "open with O_TRUNC with the database down", func() error {
		f, err := os.OpenFile(filepath.Join(m.Dir, victim), os.O_WRONLY|os.O_TRUNC, 0)
		if err == nil {
			f.Close()
		}
		return err
	}(), syscall.EROFS, syscall.EIO)
	if d := diffTrees(before, scanTree(t, m.Dir, nodeLocal)); len(d) > 0 {
		t.Errorf("after the refused changes the mount shows a tree that differs from the one before in %d ways:\n%s", len(d), head(d, 20))
	}

	// The database returns: writes work again without a remount. Each is
	// acknowledged (rename, fsync) before a fresh mount looks.
	if err := pg.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("the mount took writes %s after the database returned", waitWritable(t, m).Round(time.Millisecond))
	if err := tmpRenameWrite(filepath.Join(m.Dir, synced), update(synced)); err != nil {
		t.Fatalf("write %s after the database returned: %v", synced, err)
	}
	if err := writeNewSync(filepath.Join(m.Dir, created), createdData); err != nil {
		t.Fatalf("create %s after the database returned: %v", created, err)
	}
	seen := scanTree(t, m.Dir, nodeLocal)
	fresh := mountDB(t, db)
	if d := diffTrees(seen, scanTree(t, fresh.Dir, nodeLocal)); len(d) > 0 {
		t.Errorf("a fresh mount differs from the mount that lived through the outage in %d ways:\n%s", len(d), head(d, 20))
	}
	fresh.Stop()

	// Outage 2: the mount stops with the database down and restarts
	// before it returns.
	if err := pg.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	m.Stop()
	for _, rel := range []string{synced, closed} {
		if stderr := m.proc.res.stderr; !hasLogLine(stderr, "level=ERROR", "path="+rel, "recovery=") {
			t.Errorf("the mount logged no error naming %s and its recovery copy for its failed commit; stderr:\n%s", rel, tail(stderr, 30))
		}
	}
	begin := time.Now()
	m2 := m.Restart()
	t.Logf("the mount restarted with the database down in %s", time.Since(begin).Round(time.Millisecond))
	if d := diffTrees(seen, scanTree(t, m2.Dir, nodeLocal)); len(d) > 0 {
		t.Errorf("the mount restarted with the database down differs from what it showed before in %d ways:\n%s", len(d), head(d, 20))
	}
	wantRefused(t, "mkdir on a mount restarted with the database down", os.Mkdir(m2.Path("outage-dir"), 0o755), syscall.EROFS, syscall.EIO)
	if err := pg.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("the restarted mount took writes %s after the database returned", waitWritable(t, m2).Round(time.Millisecond))
	if err := tmpRenameWrite(filepath.Join(m2.Dir, victim), []byte("<after-two-outages/>\n")); err != nil {
		t.Fatalf("write %s after the database returned: %v", victim, err)
	}
	assertPersisted(t, m2)
}

// limitRoot builds, below root, the small tree the limit cases work on.
func limitRoot(t testing.TB, root string) {
	t.Helper()
	for _, d := range []string{"dir/sub", "empty"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range map[string]string{"dir/f.xml": "<f/>\n", "file.xml": "<file/>\n", "other.xml": "<other/>\n"} {
		writeFile(t, filepath.Join(root, name), []byte(data), 0o644)
	}
}

// runUnderFileLimit runs a command with SIGXFSZ ignored, so that a write
// past RLIMIT_FSIZE fails with EFBIG as the mount's --max-file-size makes
// it, under prlimit --fsize=limit unless limit is 0. It returns the
// command's last line, trimmed to what follows its last ": " (strerror).
func runUnderFileLimit(t testing.TB, limit int64, args ...string) (exit int, msg string) {
	t.Helper()
	if limit > 0 {
		args = append([]string{"prlimit", "--fsize=" + strconv.FormatInt(limit, 10), "--"}, args...)
	}
	cmd := exec.Command("/bin/sh", append([]string{"-c", `trap "" XFSZ; exec "$@"`, "sh"}, args...)...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%s: %v", strings.Join(args, " "), err)
	}
	for _, l := range lines(string(out)) {
		if strings.Contains(l, ": ") && !strings.Contains(l, "records") {
			msg = l[strings.LastIndex(l, ": ")+2:]
		}
	}
	return cmd.ProcessState.ExitCode(), msg
}

// TestMountLimits checks the errors of operations the mount refuses
// against what a local directory gives for the same operation: the errno
// must be the same. The file size limit is the mount's --max-file-size,
// compared with RLIMIT_FSIZE on local disk.
func TestMountLimits(t *testing.T) {
	t.Parallel()
	const maxSize = 1 << 20
	for _, tool := range []string{"prlimit", "dd", "truncate"} {
		if !haveCommand(tool) {
			t.Fatalf("%s is missing: apt-get install util-linux coreutils", tool)
		}
	}
	src, _ := generate(t, smallA)
	db := newDBWith(t, src)
	m := mountDB(t, db, "--max-file-size", strconv.Itoa(maxSize))
	local := filepath.Join(tempDir(t), "limits")
	mounted := m.Path("limits")
	limitRoot(t, local)
	limitRoot(t, mounted)

	long := strings.Repeat("n", 256)
	// rename(2) itself: os.Rename answers EEXIST on its own when the
	// target is a directory.
	rename := func(r, from, to string) error { return unix.Rename(filepath.Join(r, from), filepath.Join(r, to)) }
	cases := []struct {
		name string
		want []syscall.Errno // what local disk must give; the mount must give the same
		op   func(root string) error
	}{
		{"create a 256-byte name", []syscall.Errno{syscall.ENAMETOOLONG}, func(r string) error {
			f, err := os.OpenFile(filepath.Join(r, long), os.O_CREATE|os.O_WRONLY, 0o644)
			if err == nil {
				f.Close()
			}
			return err
		}},
		{"mkdir a 256-byte name", []syscall.Errno{syscall.ENAMETOOLONG}, func(r string) error { return os.Mkdir(filepath.Join(r, long), 0o755) }},
		{"rename to a 256-byte name", []syscall.Errno{syscall.ENAMETOOLONG}, func(r string) error {
			return rename(r, "other.xml", long)
		}},
		{"lstat a 256-byte name", []syscall.Errno{syscall.ENAMETOOLONG}, func(r string) error {
			_, err := os.Lstat(filepath.Join(r, long))
			return err
		}},
		{"rmdir a non-empty directory", []syscall.Errno{syscall.ENOTEMPTY}, func(r string) error { return unix.Rmdir(filepath.Join(r, "dir")) }},
		{"rename a directory into its own child", []syscall.Errno{syscall.EINVAL}, func(r string) error {
			return rename(r, "dir", "dir/sub/moved")
		}},
		{"unlink a directory", []syscall.Errno{syscall.EISDIR, syscall.EPERM}, func(r string) error { return unix.Unlink(filepath.Join(r, "dir")) }},
		{"O_EXCL create of an existing file", []syscall.Errno{syscall.EEXIST}, func(r string) error {
			f, err := os.OpenFile(filepath.Join(r, "file.xml"), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
			if err == nil {
				f.Close()
			}
			return err
		}},
		{"RENAME_NOREPLACE onto an existing file", []syscall.Errno{syscall.EEXIST}, func(r string) error {
			return unix.Renameat2(unix.AT_FDCWD, filepath.Join(r, "other.xml"), unix.AT_FDCWD, filepath.Join(r, "file.xml"), unix.RENAME_NOREPLACE)
		}},
		{"rmdir a file", []syscall.Errno{syscall.ENOTDIR}, func(r string) error { return unix.Rmdir(filepath.Join(r, "file.xml")) }},
		{"mkdir an existing name", []syscall.Errno{syscall.EEXIST}, func(r string) error { return os.Mkdir(filepath.Join(r, "file.xml"), 0o755) }},
		{"rename a file over a directory", []syscall.Errno{syscall.EISDIR}, func(r string) error {
			return rename(r, "file.xml", "empty")
		}},
		{"rename a directory over a file", []syscall.Errno{syscall.ENOTDIR}, func(r string) error {
			return rename(r, "empty", "file.xml")
		}},
		{"rename a directory over a non-empty one", []syscall.Errno{syscall.ENOTEMPTY, syscall.EEXIST}, func(r string) error {
			return rename(r, "empty", "dir")
		}},
		{"hard link a directory", []syscall.Errno{syscall.EPERM}, func(r string) error {
			return os.Link(filepath.Join(r, "dir"), filepath.Join(r, "dir-link"))
		}},
		{"open a file under a file", []syscall.Errno{syscall.ENOTDIR}, func(r string) error {
			_, err := os.Open(filepath.Join(r, "file.xml", "x"))
			return err
		}},
	}
	for _, c := range cases {
		l, g := errnoOf(c.op(local)), errnoOf(c.op(mounted))
		ok := false
		for _, w := range c.want {
			ok = ok || l == w
		}
		switch {
		case !ok:
			t.Errorf("%s: local disk gives %s, the test expects %s: the test is wrong", c.name, errnoName(l), errnoName(c.want[0]))
		case g != l:
			t.Errorf("%s: the mount gives %s, local disk %s", c.name, errnoName(g), errnoName(l))
		default:
			t.Logf("%s: %s on both", c.name, errnoName(g))
		}
	}
	// Nothing the refused operations did shows: both trees are alike.
	norm := func(root string) map[string]node {
		out := scanTree(t, root, nil)
		for p, n := range out {
			n.mtime, n.uid, n.gid = 0, 0, 0
			out[p] = n
		}
		return out
	}
	if d := diffTrees(norm(local), norm(mounted)); len(d) > 0 {
		t.Errorf("after the refused operations %s differs from %s in %d ways:\n%s", mounted, local, len(d), head(d, 20))
	}

	// The size limit: a file of exactly --max-file-size is fine.
	exact := randomBytes(maxSize)
	if err := os.WriteFile(filepath.Join(mounted, "exact.bin"), exact, 0o644); err != nil {
		t.Errorf("write %d bytes, exactly --max-file-size: %v", maxSize, err)
	}
	// Past it, dd and truncate fail as they do on local disk under
	// RLIMIT_FSIZE.
	for _, c := range [][]string{
		{"dd", "if=/dev/zero", "of=%s/big-dd.bin", "bs=2097152", "count=1"},
		{"truncate", "-s", "2097152", "%s/big-truncate.bin"},
	} {
		run := func(root string, limit int64) (int, string) {
			args := make([]string, len(c))
			for i, a := range c {
				if strings.Contains(a, "%s") {
					a = fmt.Sprintf(a, root)
				}
				args[i] = a
			}
			return runUnderFileLimit(t, limit, args...)
		}
		lc, lmsg := run(local, maxSize)
		gc, gmsg := run(mounted, 0)
		switch {
		case lc == 0 || !strings.EqualFold(lmsg, syscall.EFBIG.Error()):
			t.Errorf("%s past RLIMIT_FSIZE on local disk: exit %d, %q; want %q: the test is wrong", c[0], lc, lmsg, syscall.EFBIG.Error())
		case gc != lc || gmsg != lmsg:
			t.Errorf("%s past --max-file-size on the mount: exit %d, %q; local disk: exit %d, %q", c[0], gc, gmsg, lc, lmsg)
		default:
			t.Logf("%s past the size limit: exit %d, %q on both", c[0], gc, gmsg)
		}
	}
	// And from Go, with content that a half-committed file would show.
	big := randomBytes(2 << 20)
	bigPath := filepath.Join(mounted, "big-go.bin")
	f, err := os.OpenFile(bigPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	n, werr := f.Write(big)
	cerr := f.Close()
	if !errors.Is(werr, syscall.EFBIG) {
		t.Errorf("write of %d bytes to %s with --max-file-size %d: %d written, %v; want EFBIG", len(big), bigPath, maxSize, n, werr)
	}
	t.Logf("write of 2 MiB past --max-file-size: %d bytes written, %v; close: %v", n, werr, cerr)
	var bigSeen []byte
	if data, err := os.ReadFile(bigPath); err == nil {
		bigSeen = data
	} else if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("read %s: %v", bigPath, err)
	}

	if bigSeen != nil && !bytes.HasPrefix(big, bigSeen) {
		t.Errorf("%s shows %d bytes that are not a prefix of what was written", bigPath, len(bigSeen))
	}

	// The mount commits what was closed at the latest when it stops; the
	// database then holds what it showed, and no part of a refused write.
	// A file whose write was refused is not committed: its content goes to
	// the recovery folder and the file returns to its committed state (a
	// new file goes), so those names are left out of the comparison.
	refused := func(rel string) bool { return nodeLocal(rel) || strings.HasPrefix(rel, "limits/big-") }
	seen := scanTree(t, m.Dir, refused)
	m.Stop()
	dst := filepath.Join(tempDir(t), "export")
	gsOK(t, db, "export", dst)
	if d := diffTrees(seen, scanTree(t, dst, refused)); len(d) > 0 {
		t.Errorf("the export after unmounting %s differs from what the mount showed in %d ways:\n%s", m.Dir, len(d), head(d, 20))
	}
	for _, name := range []string{"big-dd.bin", "big-truncate.bin", "big-go.bin"} {
		fi, err := os.Stat(filepath.Join(dst, "limits", name))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			t.Logf("%s: not in the database", name)
		case err != nil:
			t.Error(err)
		case fi.Size() > 0:
			t.Errorf("%s: the database holds %d bytes of a write refused with EFBIG: a half-committed file", name, fi.Size())
		default:
			t.Logf("%s: empty in the database", name)
		}
	}
	if got, err := os.ReadFile(filepath.Join(dst, "limits", "exact.bin")); err != nil || !bytes.Equal(got, exact) {
		t.Errorf("exact.bin in the database: %d bytes, %v; want the %d written", len(got), err, len(exact))
	}
	if t.Failed() {
		t.Logf("mount stderr:\n%s", tail(m.proc.res.stderr, 30))
	}
}
