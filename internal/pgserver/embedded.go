package pgserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Database is the database that Ensure creates on the embedded server.
const Database = "gscluster"

// portFile, inside the data directory, remembers the embedded server's
// port so that its URL survives a restart.
const portFile = "gscluster.port"

func embedded(stateDir string, log *slog.Logger) *Server {
	return &Server{Dir: filepath.Join(stateDir, "pg"), Logger: log}
}

// Ensure makes sure the embedded server in stateDir/pg runs and holds the
// database gscluster, and returns that database's URL. It initialises the
// data directory if needed, starts the server if it is not running (on
// the port it used last time when that is still free) and creates the
// database if it is missing. A server that already runs is left as it is,
// so Ensure may be called on every start. Concurrent calls, also from
// other processes, are serialised by the file stateDir/pg.lock. log may be
// nil.
func Ensure(ctx context.Context, stateDir string, log *slog.Logger) (string, error) {
	stateDir, err := filepath.Abs(stateDir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return "", fmt.Errorf("create state directory %s: %w", stateDir, err)
	}
	unlock, err := LockFile(ctx, filepath.Join(stateDir, "pg.lock"))
	if err != nil {
		return "", err
	}
	defer unlock()

	s := embedded(stateDir, log)
	st, err := s.Status()
	if err != nil {
		return "", err
	}
	if !st.Initialized {
		if err := s.Init(ctx); err != nil {
			return "", err
		}
	}
	if st.Running {
		s.Port = st.Port
	} else {
		if port := readPort(s.Dir); port != 0 && portFree(port) {
			s.Port = port
		}
		if err := s.Start(ctx); err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(s.Dir, portFile), []byte(strconv.Itoa(s.Port)+"\n"), 0o644); err != nil {
			return "", fmt.Errorf("remember postgresql port in %s: %w", s.Dir, err)
		}
	}
	if err := createDatabase(ctx, s.URL("postgres"), Database); err != nil {
		return "", fmt.Errorf("create database %s in %s: %w", Database, s.Dir, err)
	}
	return s.URL(Database), nil
}

// StopEmbedded stops the embedded server in stateDir/pg if it runs.
func StopEmbedded(ctx context.Context, stateDir string) error {
	s := embedded(stateDir, nil)
	st, err := s.Status()
	if err != nil || !st.Initialized {
		return err
	}
	unlock, err := LockFile(ctx, filepath.Join(stateDir, "pg.lock"))
	if err != nil {
		return err
	}
	defer unlock()
	return s.Stop(ctx)
}

// StatusEmbedded reports on the embedded server in stateDir/pg. Its URL is
// that of the database gscluster, on the port the server runs on or will
// be started on again. A missing directory is reported as not initialised,
// not as an error.
func StatusEmbedded(stateDir string) (Status, error) {
	s := embedded(stateDir, nil)
	st, err := s.Status()
	if err != nil {
		return st, err
	}
	if !st.Running {
		st.Port = readPort(st.Dir)
	}
	st.URL = ""
	if st.Port != 0 {
		st.URL = portURL(st.Port, Database)
	}
	return st, nil
}

func readPort(dir string) int {
	data, err := os.ReadFile(filepath.Join(dir, portFile))
	if err != nil {
		return 0
	}
	port, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || port <= 0 || port > 65535 {
		return 0
	}
	return port
}

func createDatabase(ctx context.Context, url, name string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database
		return nil
	}
	return err
}

// LockFile takes an exclusive flock on path, waiting until ctx is done,
// and returns its release. The lock dies with the process.
func LockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock %s: %w (another gscluster holds it)", path, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
