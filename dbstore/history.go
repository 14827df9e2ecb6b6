package dbstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Change is one row of the change log with its revision's origin and time.
type Change struct {
	Rev     int64
	Seq     int32
	Path    string
	Op      Op
	Kind    Kind // zero for a deletion
	Size    int64
	Hash    []byte
	OldHash []byte
	Origin  string
	At      time.Time
}

// Log returns the newest changes first, at most limit (0: no limit), of
// path and everything below it ("" for the whole tree).
func (s *Store) Log(ctx context.Context, path string, limit int) ([]Change, error) {
	if err := ValidPath(path); err != nil {
		return nil, err
	}
	lim := any(nil)
	if limit > 0 {
		lim = limit
	}
	rows, err := s.pool.Query(ctx, `
		SELECT `+changeCols+`
		FROM changes c JOIN revisions r ON r.rev = c.rev
		WHERE $1 = '' OR c.path = $1 OR c.path LIKE replace(replace(replace($1, '\', '\\'), '%', '\%'), '_', '\_') || '/%'
		ORDER BY c.rev DESC, c.seq DESC
		LIMIT $2`, path, lim)
	return s.scanChanges(rows, err)
}

// ChangesSince returns the changes of the revisions after rev, oldest
// first, up to and including the head at the time of the call.
func (s *Store) ChangesSince(ctx context.Context, rev int64) ([]Change, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT `+changeCols+`
		FROM changes c JOIN revisions r ON r.rev = c.rev
		WHERE c.rev > $1 ORDER BY c.rev, c.seq`, rev)
	return s.scanChanges(rows, err)
}

const changeCols = `c.rev, c.seq, c.path, c.op, coalesce(c.kind, ''), coalesce(c.size, 0), c.hash, c.old_hash, r.origin, r.committed_at`

// scanChanges reads the rows of a query selecting changeCols.
func (s *Store) scanChanges(rows pgx.Rows, err error) ([]Change, error) {
	if err != nil {
		return nil, s.wrap(err, "read change log")
	}
	defer rows.Close()
	var out []Change
	for rows.Next() {
		var c Change
		var kind, op string
		if err := rows.Scan(&c.Rev, &c.Seq, &c.Path, &op, &kind, &c.Size, &c.Hash, &c.OldHash, &c.Origin, &c.At); err != nil {
			return nil, s.wrap(err, "read change log")
		}
		c.Op = Op(op)
		if kind != "" {
			c.Kind = Kind(kind[0])
		}
		out = append(out, c)
	}
	return out, s.wrap(rows.Err(), "read change log")
}
