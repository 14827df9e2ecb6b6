package pgserver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// LogFile is the name of the server log inside the data directory.
const LogFile = "postgresql.log"

// maxSocketPath is the longest Unix socket path the kernel accepts
// (sun_path is 108 bytes with its terminating NUL).
const maxSocketPath = 107

// Server is a PostgreSQL server on one data directory, listening on
// 127.0.0.1 with trust authentication for the superuser postgres. Set its
// fields before calling its methods. A Server is not safe for concurrent
// use; the server process it starts outlives it until Stop.
type Server struct {
	// Dir is the data directory. Required.
	Dir string
	// Port is the TCP port on 127.0.0.1. Zero (the default) makes Start
	// pick a free port and store it here.
	Port int
	// SocketDir is the directory of the Unix socket. Empty (the default)
	// means Dir, or no Unix socket when Dir is too long for a socket path.
	SocketDir string
	// Settings are extra server settings as "name=value", each passed to
	// the server with -c. The default is none.
	Settings []string
	// Logger receives lifecycle messages. Nil (the default) discards them;
	// the caller tags it with its component.
	Logger *slog.Logger
}

// Status describes a data directory and the server running on it.
type Status struct {
	Dir         string // data directory
	Initialized bool   // initdb has run on Dir
	Running     bool   // a postmaster is alive on Dir
	PID         int    // postmaster PID, when running
	Port        int    // TCP port: the running server's, else the one it would use; zero if unknown
	URL         string // connection URL when Port is known: database postgres for Server.Status, gscluster for StatusEmbedded
	LogFile     string // server log
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func (s *Server) dir() (string, error) {
	if s.Dir == "" {
		return "", errors.New("postgresql data directory not set")
	}
	return filepath.Abs(s.Dir)
}

// URL returns the URL of database dbname on the server as the superuser
// postgres: postgres://postgres@127.0.0.1:PORT/DBNAME?sslmode=disable.
// It holds no password.
func (s *Server) URL(dbname string) string {
	return portURL(s.Port, dbname)
}

func portURL(port int, dbname string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User("postgres"),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Path:     "/" + dbname,
		RawPath:  "/" + url.PathEscape(dbname),
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Init creates the data directory Dir with initdb: UTF8, locale C, trust
// authentication, superuser postgres, no fsync. Missing parent directories
// are created with mode 0755. Dir must be missing or empty. As root, Dir
// is chowned to the postgres user, and every parent of Dir must be
// traversable by that user.
func (s *Server) Init(ctx context.Context) error {
	dir, err := s.dir()
	if err != nil {
		return err
	}
	start := time.Now()
	o, err := serverOwner()
	if err != nil {
		return fmt.Errorf("initialise postgresql in %s: %w", dir, err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("initialise postgresql in %s: %w", dir, err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("initialise postgresql in %s: %w", dir, err)
	}
	if os.Geteuid() == 0 {
		if err := checkTraversable(dir, o); err != nil {
			return fmt.Errorf("initialise postgresql in %s: %w", dir, err)
		}
		if err := os.Chown(dir, o.uid, o.gid); err != nil {
			return fmt.Errorf("initialise postgresql in %s: %w", dir, err)
		}
	}
	cmd, err := Command(ctx, "initdb", "-D", dir, "--no-sync", "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C")
	if err != nil {
		return fmt.Errorf("initialise postgresql in %s: %w", dir, err)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initialise postgresql in %s: %w: %s", dir, err, lastLines(string(out), 3))
	}
	s.logger().Info("postgresql initialised", "path", dir, "duration", time.Since(start))
	return nil
}

// Status reports whether Dir is initialised and whether a server runs on
// it, from its PG_VERSION and postmaster.pid files. A missing Dir is not an
// error.
func (s *Server) Status() (Status, error) {
	dir, err := s.dir()
	if err != nil {
		return Status{}, err
	}
	st := Status{Dir: dir, Port: s.Port, LogFile: filepath.Join(dir, LogFile)}
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); err == nil {
		st.Initialized = true
	} else if !errors.Is(err, fs.ErrNotExist) {
		return st, fmt.Errorf("read postgresql status in %s: %w", dir, err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return st, fmt.Errorf("read postgresql status in %s: %w", dir, err)
	default:
		// postmaster.pid: PID, data dir, start time, port, socket dir, ...
		lines := strings.Split(string(data), "\n")
		pid, _ := strconv.Atoi(strings.TrimSpace(lines[0]))
		if pid > 0 && isPostgres(pid) {
			st.Running, st.PID = true, pid
			if len(lines) > 3 {
				if port, err := strconv.Atoi(strings.TrimSpace(lines[3])); err == nil {
					st.Port = port
				}
			}
		}
	}
	if st.Port != 0 {
		st.URL = portURL(st.Port, "postgres")
	}
	return st, nil
}

// isPostgres reports whether pid is alive and, where /proc tells, is a
// postgres process, so that a stale postmaster.pid whose PID was reused is
// not mistaken for a server.
func isPostgres(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return !errors.Is(err, fs.ErrNotExist) || !procMounted()
	}
	return strings.TrimSpace(string(comm)) == "postgres"
}

func procMounted() bool {
	_, err := os.Stat("/proc/self/comm")
	return err == nil
}

// Running reports whether a server runs on Dir.
func (s *Server) Running() bool {
	st, err := s.Status()
	return err == nil && st.Running
}

// Start starts the server on Dir with pg_ctl and waits until it accepts
// connections. With Port zero it picks a free port, retrying with another
// one if the port is taken meanwhile, and stores it in Port. If the start
// fails, Start stops whatever was started and returns the last lines of
// the server log.
func (s *Server) Start(ctx context.Context) error {
	dir, err := s.dir()
	if err != nil {
		return err
	}
	st, err := s.Status()
	if err != nil {
		return err
	}
	if !st.Initialized {
		return fmt.Errorf("start postgresql in %s: not initialised (initialise it first)", dir)
	}
	if st.Running {
		return fmt.Errorf("start postgresql in %s: already running as pid %d (stop it first)", dir, st.PID)
	}
	auto := s.Port == 0
	for attempt := 1; ; attempt++ {
		port := s.Port
		if auto {
			if port, err = FreePort(); err != nil {
				return fmt.Errorf("start postgresql in %s: %w", dir, err)
			}
		}
		err := s.start(ctx, dir, port)
		if err == nil {
			s.Port = port
			return nil
		}
		if auto && attempt < 3 && errors.Is(err, errPortInUse) {
			continue
		}
		return err
	}
}

var errPortInUse = errors.New("port in use")

func (s *Server) start(ctx context.Context, dir string, port int) error {
	begin := time.Now()
	logFile := filepath.Join(dir, LogFile)
	logSize := int64(0)
	if fi, err := os.Stat(logFile); err == nil {
		logSize = fi.Size()
	}
	sock := s.SocketDir
	if sock == "" {
		sock = dir
		if len(sock)+len("/.s.PGSQL.65535") > maxSocketPath {
			sock = "" // no Unix socket: clients use TCP
		}
	}
	// pg_ctl hands -o to a shell, so each argument is quoted.
	opts := []string{"-c", "listen_addresses=127.0.0.1", "-p", strconv.Itoa(port), "-k", sock}
	for _, set := range s.Settings {
		opts = append(opts, "-c", set)
	}
	quoted := make([]string, len(opts))
	for i, o := range opts {
		quoted[i] = shellQuote(o)
	}
	cmd, err := Command(ctx, "pg_ctl", "-D", dir, "-l", logFile, "-w", "-t", "60", "-s", "-o", strings.Join(quoted, " "), "start")
	if err != nil {
		return fmt.Errorf("start postgresql in %s: %w", dir, err)
	}
	out, err := cmd.CombinedOutput()
	if err == nil {
		s.logger().Info("postgresql started", "path", dir, "port", port, "duration", time.Since(begin))
		return nil
	}
	// Never leave a half-started server, even when ctx is what failed.
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if st, serr := s.Status(); serr == nil && st.Running {
		if serr := s.stop(stopCtx, dir, "immediate"); serr != nil {
			s.logger().Error("stop postgresql after failed start", "path", dir, "err", serr)
		}
	}
	tail := newLogLines(logFile, logSize, 3)
	if tail == "" {
		tail = lastLines(string(out), 3)
	}
	if strings.Contains(tail, "Address already in use") {
		err = fmt.Errorf("%w: %w", errPortInUse, err)
	}
	return fmt.Errorf("start postgresql in %s: %w: %s (see %s)", dir, err, tail, logFile)
}

// newLogLines returns the last n lines that the log at path gained past
// offset, so that an old failure is not reported as the new one.
func newLogLines(path string, offset int64, n int) string {
	fi, err := os.Stat(path)
	if err != nil || fi.Size() <= offset {
		return ""
	}
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi.Size()-offset > 8<<10 {
		return logTail(path, n)
	}
	buf := make([]byte, fi.Size()-offset)
	k, _ := f.ReadAt(buf, offset)
	return lastLines(string(buf[:k]), n)
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Stop stops the server on Dir with a fast shutdown, falling back to an
// immediate one when that does not finish within 30 s. Stopping a server
// that is not running does nothing.
func (s *Server) Stop(ctx context.Context) error {
	dir, err := s.dir()
	if err != nil {
		return err
	}
	if !s.Running() {
		return nil
	}
	begin := time.Now()
	ferr := s.stop(ctx, dir, "fast")
	if ferr == nil || !s.Running() {
		s.logger().Info("postgresql stopped", "path", dir, "duration", time.Since(begin))
		return nil
	}
	s.logger().Warn("postgresql fast shutdown failed, trying immediate", "path", dir, "err", ferr)
	if err := s.stop(ctx, dir, "immediate"); err != nil && s.Running() {
		return fmt.Errorf("stop postgresql in %s: %w (see %s)", dir, err, filepath.Join(dir, LogFile))
	}
	s.logger().Info("postgresql stopped", "path", dir, "duration", time.Since(begin))
	return nil
}

func (s *Server) stop(ctx context.Context, dir, mode string) error {
	cmd, err := Command(ctx, "pg_ctl", "-D", dir, "-m", mode, "-w", "-t", "30", "-s", "stop")
	if err != nil {
		return err
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %s", err, lastLines(string(out), 2))
	}
	return nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// portFree reports whether port can be bound on 127.0.0.1.
func portFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}
