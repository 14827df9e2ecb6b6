package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gscluster/gscluster/integration/internal/peakrss"
	"github.com/gscluster/gscluster/internal/gendata"
	"github.com/gscluster/gscluster/internal/pgtest"
)

// workDir holds what the whole test binary shares: the built gscluster
// binary and the generated trees. It is mode 0755 so that a subprocess run
// as nobody can execute the binary.
var workDir string

// gsBin is the gscluster binary built once for the test binary.
var gsBin string

// fixtures is where the real GeoServer data directories are, relative to
// this package's directory.
const fixtures = "../../shared/fixtures/datadirs"

func TestMain(m *testing.M) {
	peakrss.Main() // first: this binary also runs as peakrss's spawner
	if err := setup(); err != nil {
		fmt.Fprintf(os.Stderr, "integration: %v\n", err)
		os.Exit(1)
	}
	pgtest.Main(m)
}

// setup builds the binary into workDir. pgtest.Main exits the process, so
// workDir is removed by a watchdog that waits for the test binary to exit,
// whichever way it exits.
func setup() error {
	dir, err := os.MkdirTemp("", "gscluster-integration-")
	if err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	workDir = dir
	if err := startRemover(dir); err != nil {
		os.RemoveAll(dir)
		return err
	}
	gsBin = filepath.Join(dir, "bin", "gscluster")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", gsBin, "github.com/gscluster/gscluster/cmd/gscluster")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build gscluster: %w\n%s", err, out)
	}
	return os.Chmod(filepath.Dir(gsBin), 0o755)
}

// startRemover starts, in its own session so that no signal sent to the
// test's process group reaches it, a shell that removes dir once this
// process has exited.
func startRemover(dir string) error {
	const script = `while kill -0 "$1" 2>/dev/null; do sleep 0.2; done; rm -rf "$2"`
	cmd := exec.Command("/bin/sh", "-c", script, "integration-remover", strconv.Itoa(os.Getpid()), dir)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the remover of %s: %w", dir, err)
	}
	// It outlives us: init reaps it.
	return cmd.Process.Release()
}

// result is what one run of the binary did.
type result struct {
	args   []string
	code   int
	stdout string
	stderr string
	maxRSS int64 // peak resident set in bytes, when measured (see proc.MeasureRSS)
	wall   time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("gscluster %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// lines returns the non-empty lines of s.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// proc is one running gscluster process.
type proc struct {
	t      testing.TB
	cmd    *exec.Cmd
	args   []string
	stdout bytes.Buffer
	stderr bytes.Buffer
	start  time.Time
	done   chan struct{}
	res    result
	rss    func() (int64, error) // set by MeasureRSS
}

// command prepares gscluster with args and --db db (when db is not empty).
// The process is killed if the test binary dies, and when the test ends.
func command(t testing.TB, db string, args ...string) *proc {
	t.Helper()
	if db != "" {
		args = append(append([]string(nil), args...), "--db", db)
	}
	p := &proc{t: t, args: args, done: make(chan struct{})}
	p.cmd = exec.Command(gsBin, args...)
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = &p.stderr
	p.cmd.Env = cleanEnv()
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return p
}

// cleanEnv is the environment without gscluster's own variables, so that
// only --db chooses the database.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GSCLUSTER_") || strings.HasPrefix(kv, "PG") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// MeasureRSS makes the process report its peak RSS in result.maxRSS. It
// then runs through peakrss's spawner, so that this binary's own RSS does
// not count, and SIGKILL reaches the spawner (the child dies with it)
// rather than the child. Call it before Start.
func (p *proc) MeasureRSS() {
	p.t.Helper()
	rss, err := peakrss.Wrap(p.cmd)
	if err != nil {
		p.t.Fatal(err)
	}
	p.rss = rss
}

// Start starts the process; Wait collects it.
func (p *proc) Start() {
	p.t.Helper()
	p.start = time.Now()
	if err := p.cmd.Start(); err != nil {
		p.t.Fatalf("start gscluster %s: %v", strings.Join(p.args, " "), err)
	}
	go func() {
		defer close(p.done)
		p.cmd.Wait() //nolint:errcheck // the exit status is read from ProcessState
		p.res = result{args: p.args, stdout: p.stdout.String(), stderr: p.stderr.String(), wall: time.Since(p.start), code: -1}
		if ps := p.cmd.ProcessState; ps != nil {
			p.res.code = ps.ExitCode()
		}
		if p.rss != nil {
			rss, err := p.rss()
			if err != nil {
				p.res.stderr += "\n(integration: " + err.Error() + ")"
			}
			p.res.maxRSS = rss
		}
	}()
	p.t.Cleanup(func() {
		if !p.Exited() {
			p.cmd.Process.Kill() //nolint:errcheck
			<-p.done
		}
	})
}

// Exited tells whether the process has ended.
func (p *proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits for the process, failing the test after timeout.
func (p *proc) Wait(timeout time.Duration) result {
	p.t.Helper()
	select {
	case <-p.done:
		return p.res
	case <-time.After(timeout):
		p.cmd.Process.Kill() //nolint:errcheck
		<-p.done
		p.t.Fatalf("gscluster %s did not end within %s (killed)\nstdout:\n%s\nstderr:\n%s", strings.Join(p.args, " "), timeout, p.res.stdout, p.res.stderr)
		return result{}
	}
}

// gs runs gscluster with args against db and returns what it did.
func gs(t testing.TB, db string, args ...string) result {
	t.Helper()
	p := command(t, db, args...)
	p.Start()
	return p.Wait(3 * time.Minute)
}

// gsOK runs gscluster and fails the test unless it exits 0.
func gsOK(t testing.TB, db string, args ...string) result {
	t.Helper()
	r := gs(t, db, args...)
	if r.code != 0 {
		t.Fatalf("want exit 0, got %s", r)
	}
	return r
}

// wantError checks that r failed with exit 2 and exactly one stderr line
// starting "gscluster: " that contains every one of want.
func wantError(t testing.TB, r result, want ...string) {
	t.Helper()
	if r.code != 2 {
		t.Errorf("want exit 2, got %s", r)
		return
	}
	t.Logf("gscluster %s: exit 2: %s", strings.Join(r.args[:1], " "), strings.TrimSpace(r.stderr))
	ls := lines(r.stderr)
	if len(ls) != 1 || !strings.HasPrefix(ls[0], "gscluster: ") {
		t.Errorf("want one stderr line starting %q, got %d lines:\n%s", "gscluster: ", len(ls), r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr does not name %q:\n%s", w, r.stderr)
		}
	}
}

// eventually calls cond every few milliseconds until it returns true,
// failing the test with cond's last message when timeout passes first.
func eventually(t testing.TB, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, msg := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", timeout, msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// tempDir is a temporary directory that every user may enter (t.TempDir's
// parent is 0700), removed when the test ends.
func tempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp(workDir, "t-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if os.RemoveAll(dir) == nil {
			return
		}
		// Not root: make removable what a test left unreadable.
		exec.Command("chmod", "-R", "u+rwX", dir).Run() //nolint:errcheck
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove %s: %v", dir, err)
		}
	})
	return dir
}

// copyTree copies src to a new directory dst with cp -a: contents, modes,
// owners, nanosecond mtimes, symlinks and hard links.
func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", "--", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a %s %s: %v: %s", src, dst, err, out)
	}
}

// fixture returns the path of a real GeoServer data directory, skipping
// the test when the fixtures are not checked out beside the project.
func fixture(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(fixtures, name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("fixture %s absent (%v): the real GeoServer data directories live in ../shared/fixtures/datadirs beside the project; the generated trees cover the same shapes", name, err)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// generated trees are shared by the tests of this binary and must not be
// modified: copy one with copyTree to change it. They stay until the test
// binary exits, so only small ones belong here: see generateFor.
var generated struct {
	sync.Mutex
	trees map[gendata.Options]*genTree
}

type genTree struct {
	once  sync.Once
	dir   string
	stats gendata.Stats
	err   error
}

// generate returns a tree generated with opt, generating it on first use.
func generate(t testing.TB, opt gendata.Options) (string, gendata.Stats) {
	t.Helper()
	generated.Lock()
	if generated.trees == nil {
		generated.trees = map[gendata.Options]*genTree{}
	}
	g := generated.trees[opt]
	if g == nil {
		g = &genTree{dir: filepath.Join(workDir, fmt.Sprintf("gen-%d-%d-%d", opt.Layers, opt.Seed, opt.Dangling))}
		generated.trees[opt] = g
	}
	generated.Unlock()
	g.once.Do(func() {
		start := time.Now()
		g.stats, g.err = gendata.Generate(g.dir, opt)
		t.Logf("generated %d layers (%d files, %d bytes) in %s", opt.Layers, g.stats.Files, g.stats.Bytes, time.Since(start).Round(time.Millisecond))
	})
	if g.err != nil {
		t.Fatalf("generate %+v: %v", opt, g.err)
	}
	return g.dir, g.stats
}

// generateFor generates a tree for t alone, removed when t ends: for the
// big trees, which take seconds to remove.
func generateFor(t testing.TB, opt gendata.Options) (string, gendata.Stats) {
	t.Helper()
	dir := filepath.Join(tempDir(t), "gen")
	start := time.Now()
	st, err := gendata.Generate(dir, opt)
	if err != nil {
		t.Fatalf("generate %+v: %v", opt, err)
	}
	t.Logf("generated %d layers (%d files, %d bytes) in %s", opt.Layers, st.Files, st.Bytes, time.Since(start).Round(time.Millisecond))
	return dir, st
}
