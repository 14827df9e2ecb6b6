package pgserver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestServerLifecycle(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := &Server{Dir: filepath.Join(tempDir(t), "data"), Logger: testLogger(t)}
	stopOnCleanup(t, s)

	st, err := s.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.Initialized || st.Running {
		t.Fatalf("status before init = %+v, want neither initialised nor running", st)
	}
	if err := s.Start(ctx); err == nil || !strings.Contains(err.Error(), "not initialised") {
		t.Fatalf("start before init: err = %v, want 'not initialised'", err)
	}
	if err := s.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Init(ctx); err == nil {
		t.Fatal("second init succeeded, want an error for a non-empty directory")
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Port == 0 {
		t.Fatal("start left Port zero")
	}
	if want := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/db1?sslmode=disable", s.Port); s.URL("db1") != want {
		t.Errorf("URL = %q, want %q", s.URL("db1"), want)
	}
	st, err = s.Status()
	if err != nil {
		t.Fatal(err)
	}
	if !st.Initialized || !st.Running || st.PID == 0 || st.Port != s.Port || st.URL != s.URL("postgres") {
		t.Fatalf("status after start = %+v, want running on port %d", st, s.Port)
	}
	if err := s.Start(ctx); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second start: err = %v, want 'already running'", err)
	}

	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	var user, enc, collate, listen string
	if err := conn.QueryRow(ctx, `SELECT current_user, pg_encoding_to_char(encoding), datcollate, current_setting('listen_addresses')
		FROM pg_database WHERE datname = current_database()`).Scan(&user, &enc, &collate, &listen); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	if user != "postgres" || enc != "UTF8" || collate != "C" || listen != "127.0.0.1" {
		t.Errorf("server runs as %s, %s, collate %s, listen %s; want postgres, UTF8, C, 127.0.0.1", user, enc, collate, listen)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, ".s.PGSQL."+fmt.Sprint(s.Port))); err != nil {
		t.Errorf("unix socket: %v", err)
	}

	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Status(); st.Running {
		t.Fatalf("status after stop = %+v, want not running", st)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatalf("stopping a stopped server: %v", err)
	}

	// A restart on the same port serves the same data.
	port := s.Port
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Port != port {
		t.Errorf("restart moved the port from %d to %d", port, s.Port)
	}
}

func TestStartFailureReportsLogAndLeavesNothing(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := &Server{Dir: filepath.Join(tempDir(t), "data"), Settings: []string{"no_such_setting=1"}}
	stopOnCleanup(t, s)
	if err := s.Init(ctx); err != nil {
		t.Fatal(err)
	}
	err := s.Start(ctx)
	if err == nil {
		t.Fatal("start with an unknown setting succeeded")
	}
	msg := err.Error()
	for _, want := range []string{"start postgresql in " + s.Dir, "no_such_setting", filepath.Join(s.Dir, LogFile)} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error %q spans lines", msg)
	}
	if s.Running() {
		t.Error("a server is running after a failed start")
	}
}

func TestInitNeedsTraversableParent(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root runs the server as another user")
	}
	t.Parallel()
	closed := filepath.Join(tempDir(t), "closed")
	if err := os.Mkdir(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	s := &Server{Dir: filepath.Join(closed, "data")}
	err := s.Init(t.Context())
	if err == nil {
		t.Fatal("init under a 0700 root directory succeeded")
	}
	if want := "directory " + closed + " is not traversable by user postgres"; !strings.Contains(err.Error(), want) {
		t.Errorf("err = %q, want it to contain %q", err, want)
	}
}

func TestURLEscapesDatabase(t *testing.T) {
	s := &Server{Port: 5433}
	if got, want := s.URL("a b/c"), "postgres://postgres@127.0.0.1:5433/a%20b%2Fc?sslmode=disable"; got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
}

func TestLastLines(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"", 3, ""},
		{"a\nb\n\nc\n", 2, "b; c"},
		{"a\nb\n", 5, "a; b"},
		{"  x  \n", 1, "x"},
	} {
		if got := lastLines(tc.in, tc.n); got != tc.want {
			t.Errorf("lastLines(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	if compareVersions("9.6", "10") >= 0 || compareVersions("15", "15") != 0 || compareVersions("16", "15") <= 0 {
		t.Error("compareVersions does not order numerically")
	}
}

func TestBinDirAndVersion(t *testing.T) {
	dir, err := BinDir()
	if err != nil {
		t.Fatal(err)
	}
	if !hasServerPrograms(dir) {
		t.Fatalf("BinDir %s lacks initdb, pg_ctl or postgres", dir)
	}
	v, err := Version()
	if err != nil {
		t.Fatal(err)
	}
	if v < 10 {
		t.Errorf("Version = %d, want at least 10", v)
	}
}

func TestCommandRunsAsServerUser(t *testing.T) {
	cmd, err := Command(context.Background(), "postgres", "--version")
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 && !strings.HasSuffix(cmd.Path, "runuser") {
		t.Errorf("as root the command runs %s, want runuser", cmd.Path)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
}
