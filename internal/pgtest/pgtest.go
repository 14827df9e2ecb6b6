package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gscluster/gscluster/internal/pgserver"
	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"
)

// settings trade durability for speed: the data dies with the test binary.
var settings = []string{
	"fsync=off",
	"synchronous_commit=off",
	"full_page_writes=off",
	"max_connections=200",
}

// startTimeout bounds building the template, copying it and starting.
const startTimeout = 2 * time.Minute

var (
	current atomic.Pointer[pgserver.Server]
	seq     atomic.Int64
)

// Main starts the test binary's PostgreSQL server, runs the tests, stops
// the server, and, if the tests passed, fails the run when goroutines leak
// (opts are passed to goleak, for instance to ignore a known goroutine).
// It then exits with the tests' code. Call it from TestMain.
func Main(m *testing.M, opts ...goleak.Option) {
	os.Exit(run(m, opts))
}

func run(m *testing.M, opts []goleak.Option) int {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	inst, err := start(ctx)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		return 1
	}
	current.Store(inst.srv)
	code := m.Run()
	current.Store(nil)
	if err := inst.close(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	if code == 0 {
		if err := goleak.Find(opts...); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: errors on successful test run: %v\n", err)
			code = 1
		}
	}
	return code
}

// URL returns the URL of the database postgres on the test binary's
// server, as its superuser. It panics when Main did not start the server.
func URL() string {
	s := current.Load()
	if s == nil {
		panic("pgtest: URL needs the server of pgtest.Main: add func TestMain(m *testing.M) { pgtest.Main(m) }")
	}
	return s.URL("postgres")
}

// NewDB creates an empty database named after t.Name() and returns its
// URL. The database is dropped, with any connections left open to it
// forced closed, when t and its subtests end.
func NewDB(t testing.TB) string {
	t.Helper()
	s := current.Load()
	if s == nil {
		t.Fatal("pgtest: NewDB needs the server of pgtest.Main: add func TestMain(m *testing.M) { pgtest.Main(m) }")
	}
	name := dbName(t.Name(), seq.Add(1))
	if err := admin(s, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := admin(s, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return s.URL(name)
}

// admin runs one statement on the database postgres. It does not use the
// test's context: the drop runs in Cleanup, after that context is done.
func admin(s *pgserver.Server, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// maxNameLen keeps database names under PostgreSQL's 63-byte limit with
// room for the sequence suffix.
const maxNameLen = 40

// dbName turns a test name into a database name: lower case letters,
// digits and underscores, ending in a number unique in this test binary.
func dbName(testName string, n int64) string {
	var b strings.Builder
	b.WriteString("t_")
	under := true
	for _, r := range strings.ToLower(testName) {
		if b.Len() >= maxNameLen {
			break
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			under = false
		} else if !under {
			b.WriteByte('_')
			under = true
		}
	}
	if !under {
		b.WriteByte('_')
	}
	b.WriteString(strconv.FormatInt(n, 10))
	return b.String()
}

// instance is the test binary's server with its directory and watchdog.
type instance struct {
	srv      *pgserver.Server
	base     string // removed at close; holds the data directory
	watchdog *exec.Cmd
}

func start(ctx context.Context) (_ *instance, err error) {
	tmpl, err := template(ctx)
	if err != nil {
		return nil, err
	}
	base, err := os.MkdirTemp("", "gscluster-pgtest-")
	if err != nil {
		return nil, err
	}
	inst := &instance{base: base}
	defer func() {
		if err != nil {
			inst.kill()
			os.RemoveAll(base)
		}
	}()
	// As root the server runs as postgres, which must enter base.
	if err := os.Chmod(base, 0o755); err != nil {
		return nil, err
	}
	data := filepath.Join(base, "data")
	if out, err := exec.CommandContext(ctx, "cp", "-a", "--", tmpl, data).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("copy postgresql template %s to %s: %w: %s", tmpl, data, err, strings.TrimSpace(string(out)))
	}
	inst.srv = &pgserver.Server{Dir: data, Settings: settings}
	// The watchdog starts first so that it also covers a crash during start.
	if err := inst.startWatchdog(); err != nil {
		return nil, err
	}
	if err := inst.srv.Start(ctx); err != nil {
		return nil, err
	}
	return inst, nil
}

// watchdogScript waits for process $1 to exit, runs the remaining
// arguments (the pg_ctl stop), then removes directory $2.
const watchdogScript = `pid=$1 base=$2; shift 2
while kill -0 "$pid" 2>/dev/null; do sleep 0.5; done
"$@" >/dev/null 2>&1
rm -rf "$base"`

func (inst *instance) startWatchdog() error {
	stop, err := pgserver.Command(context.Background(), "pg_ctl", "-D", inst.srv.Dir, "-m", "immediate", "-w", "-t", "30", "stop")
	if err != nil {
		return err
	}
	args := append([]string{"-c", watchdogScript, "pgtest-watchdog", strconv.Itoa(os.Getpid()), inst.base, stop.Path}, stop.Args[1:]...)
	// exec.Command, not CommandContext: the watchdog must outlive us. Its
	// own session keeps it out of signals sent to the test's process
	// group, and stdio on /dev/null keeps go test from waiting for it.
	cmd := exec.Command("/bin/sh", args...)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgresql watchdog: %w", err)
	}
	inst.watchdog = cmd
	return nil
}

// kill ends the watchdog (and its sleep) without letting it act.
func (inst *instance) kill() {
	if inst.watchdog == nil {
		return
	}
	syscall.Kill(-inst.watchdog.Process.Pid, syscall.SIGKILL)
	inst.watchdog.Wait()
	inst.watchdog = nil
}

// close stops the server and removes its directory. On failure the
// watchdog is left to clean up once the test binary exits.
func (inst *instance) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := inst.srv.Stop(ctx); err != nil {
		return err
	}
	if inst.srv.Running() {
		return errors.New("postgresql in " + inst.srv.Dir + " still running after stop")
	}
	inst.kill()
	if err := os.RemoveAll(inst.base); err != nil {
		return fmt.Errorf("remove %s: %w", inst.base, err)
	}
	return nil
}
