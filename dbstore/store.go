package dbstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Sentinel errors. Callers test them with errors.Is.
var (
	ErrNotFound    = errors.New("no such file or directory")
	ErrExists      = errors.New("file exists")
	ErrNotEmpty    = errors.New("directory not empty")
	ErrNotDir      = errors.New("not a directory")
	ErrIsDir       = errors.New("is a directory")
	ErrConflict    = errors.New("conflicting concurrent change")
	ErrUnavailable = errors.New("database unavailable")
	ErrSchemaNewer = errors.New("database schema is newer than this gscluster")
	ErrInvalid     = errors.New("invalid argument")
)

// NotifyChannel is the PostgreSQL LISTEN/NOTIFY channel on which every
// commit announces its revision.
const NotifyChannel = "gscluster_rev"

// ChunkSize is the largest blob stored in one row; larger files are split
// into chunks of this size.
const ChunkSize = 4 << 20

// Options configure Open. The zero value is ready to use.
type Options struct {
	// Logger receives lifecycle messages. Default: slog.Default().
	Logger *slog.Logger
	// NoMigrate leaves the schema alone; Open then fails with a clear error
	// if the schema is missing or older. Default false: pending migrations
	// are applied on open.
	NoMigrate bool
	// MaxConns bounds the connection pool. Default 8.
	MaxConns int32
}

// Store is a gscluster tree in one PostgreSQL database. It is safe for
// concurrent use.
type Store struct {
	pool *pgxpool.Pool
	log  *slog.Logger
	addr string // host:port/database, for messages
}

// Open connects to the database named by url (a libpq URL or keyword
// string; PG* environment variables and ~/.pgpass are honoured) and makes
// sure its schema is current.
func Open(ctx context.Context, url string, opt Options) (*Store, error) {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w: %s", ErrInvalid, redact(err))
	}
	if opt.MaxConns > 0 {
		cfg.MaxConns = opt.MaxConns
	} else {
		cfg.MaxConns = 8
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	s := &Store{
		log:  opt.Logger.With("component", "dbstore"),
		addr: describeTarget(cfg.ConnConfig),
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, s.wrap(err, "connect to database")
	}
	s.pool = pool
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		err = s.wrap(err, "connect to database")
		if errors.Is(err, ErrUnavailable) {
			err = fmt.Errorf("%w (check that the server runs and the URL given by --db or $GSCLUSTER_DB)", err)
		}
		return nil, err
	}
	if opt.NoMigrate {
		err = s.checkSchema(ctx)
	} else {
		err = s.Migrate(ctx)
	}
	if err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close releases the connections. It is safe to call twice.
func (s *Store) Close() {
	if s.pool != nil {
		s.pool.Close()
	}
}

// Addr names the database for messages: host:port/database, no password.
func (s *Store) Addr() string { return s.addr }

// Pool exposes the connection pool to LISTEN on NotifyChannel.
func (s *Store) acquire(ctx context.Context) (*pgxpool.Conn, error) {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, s.wrap(err, "connect to database")
	}
	return c, nil
}

// Head returns the newest committed revision.
func (s *Store) Head(ctx context.Context) (int64, error) {
	var rev int64
	err := s.pool.QueryRow(ctx, `SELECT rev FROM head`).Scan(&rev)
	if err != nil {
		return 0, s.wrap(err, "read head revision")
	}
	return rev, nil
}

func describeTarget(c *pgx.ConnConfig) string {
	host := c.Host
	if strings.HasPrefix(host, "/") {
		return fmt.Sprintf("%s/.s.PGSQL.%d (database %s)", host, c.Port, c.Database)
	}
	return fmt.Sprintf("%s/%s", net.JoinHostPort(host, fmt.Sprint(c.Port)), c.Database)
}

// wrap translates a driver error into the package's sentinels, naming what
// was being done and the database.
func (s *Store) wrap(err error, doing string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", doing, err)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", doing, ErrNotFound)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505":
			return fmt.Errorf("%s: %w", doing, ErrExists)
		case pe.Code == "40001" || pe.Code == "40P01":
			return fmt.Errorf("%s: %w: %s", doing, ErrConflict, pe.Message)
		case strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03" || pe.Code == "53300":
			return fmt.Errorf("%s at %s: %w: %s", doing, s.addr, ErrUnavailable, pe.Message)
		case pe.Code == "28P01" || pe.Code == "28000":
			return fmt.Errorf("%s at %s: %w: %s (check the user and password in the URL, PGPASSWORD or ~/.pgpass)", doing, s.addr, ErrUnavailable, pe.Message)
		case pe.Code == "3D000":
			return fmt.Errorf("%s at %s: %w: %s (create it with createdb)", doing, s.addr, ErrUnavailable, pe.Message)
		}
		return fmt.Errorf("%s: %s (SQLSTATE %s)", doing, pe.Message, pe.Code)
	}
	if pgconn.SafeToRetry(err) || isNetErr(err) {
		return fmt.Errorf("%s at %s: %w: %s", doing, s.addr, ErrUnavailable, rootCause(err))
	}
	for _, sentinel := range []error{ErrNotFound, ErrExists, ErrNotEmpty, ErrNotDir, ErrIsDir, ErrConflict, ErrUnavailable, ErrSchemaNewer, ErrInvalid} {
		if errors.Is(err, sentinel) {
			return fmt.Errorf("%s: %w", doing, err)
		}
	}
	return fmt.Errorf("%s: %s", doing, redact(err))
}

func isNetErr(err error) bool {
	var ne net.Error
	var ce *pgconn.ConnectError
	return errors.As(err, &ne) || errors.As(err, &ce) || strings.Contains(err.Error(), "conn closed") ||
		strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "broken pipe")
}

// rootCause returns the innermost error's text, which for connection
// failures is the useful part ("connection refused"). Of joined errors
// (one per address tried) it follows the first.
func rootCause(err error) string {
	for {
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			if errs := u.Unwrap(); len(errs) > 0 {
				err = errs[0]
				continue
			}
		case interface{ Unwrap() error }:
			if inner := u.Unwrap(); inner != nil {
				err = inner
				continue
			}
		}
		return redact(err)
	}
}

var (
	kwPassword  = regexp.MustCompile(`(?i)(password\s*=\s*)('[^']*'|[^\s&]*)`)
	urlPassword = regexp.MustCompile(`(://[^:/@\s]*:)[^@\s]*@`)
)

// redact removes anything that looks like a password from an error text.
func redact(err error) string {
	msg := kwPassword.ReplaceAllString(err.Error(), "${1}xxxxx")
	return urlPassword.ReplaceAllString(msg, "${1}xxxxx@")
}
