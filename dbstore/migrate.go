package dbstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order. File names
// are NNNN_name.sql.
func migrations() []migration {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		panic(err) // embedded at build time; cannot fail
	}
	var ms []migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			panic("dbstore: badly named migration " + e.Name())
		}
		b, _ := migrationFiles.ReadFile("migrations/" + e.Name())
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms
}

// SchemaVersion is the newest schema this binary knows.
func SchemaVersion() int {
	ms := migrations()
	return ms[len(ms)-1].version
}

// migrationLock is the advisory lock key that serializes migrations.
const migrationLock = 0x6773636c75737401 // "gsclust\x01"

// Migrate applies the pending migrations, each in its own transaction,
// under an advisory lock so that several nodes starting at once apply each
// migration once. It refuses a schema newer than this binary.
func (s *Store) Migrate(ctx context.Context) error {
	conn, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationLock)); err != nil {
		return s.wrap(err, "lock schema for migration")
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(migrationLock)) //nolint:errcheck
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return s.wrap(err, "create schema_migrations")
	}
	cur, err := s.currentVersion(ctx)
	if err != nil {
		return err
	}
	if cur > SchemaVersion() {
		return fmt.Errorf("open %s: %w (schema %d, this binary knows %d): upgrade gscluster", s.addr, ErrSchemaNewer, cur, SchemaVersion())
	}
	for _, m := range migrations() {
		if m.version <= cur {
			continue
		}
		tx, err := conn.Begin(ctx)
		if err != nil {
			return s.wrap(err, "begin migration")
		}
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			tx.Rollback(ctx) //nolint:errcheck
			return s.wrap(err, fmt.Sprintf("apply migration %04d_%s", m.version, m.name))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
			tx.Rollback(ctx) //nolint:errcheck
			return s.wrap(err, "record migration")
		}
		if err := tx.Commit(ctx); err != nil {
			return s.wrap(err, fmt.Sprintf("commit migration %04d_%s", m.version, m.name))
		}
		s.log.Info("applied schema migration", "version", m.version, "name", m.name)
	}
	return nil
}

func (s *Store) currentVersion(ctx context.Context) (int, error) {
	var v int
	err := s.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	if err != nil {
		return 0, s.wrap(err, "read schema version")
	}
	return v, nil
}

// checkSchema verifies, without changing anything, that the schema is the
// one this binary knows.
func (s *Store) checkSchema(ctx context.Context) error {
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return s.wrap(err, "read schema version")
	}
	if !exists {
		return fmt.Errorf("open %s: no gscluster schema (run `gscluster db migrate`)", s.addr)
	}
	cur, err := s.currentVersion(ctx)
	if err != nil {
		return err
	}
	switch {
	case cur > SchemaVersion():
		return fmt.Errorf("open %s: %w (schema %d, this binary knows %d): upgrade gscluster", s.addr, ErrSchemaNewer, cur, SchemaVersion())
	case cur < SchemaVersion():
		return fmt.Errorf("open %s: schema %d is older than this binary's %d (run `gscluster db migrate`)", s.addr, cur, SchemaVersion())
	}
	return nil
}
