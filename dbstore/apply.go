package dbstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// A mounted node keeps the whole tree in memory and works out each change
// there, so it writes rows rather than asking the database to resolve
// paths. The functions of this file are that row-level interface.

// Dentry is one name: the directory inode it is in, the name, the inode.
type Dentry struct {
	Parent int64
	Name   string
	Ino    int64
}

// Xattr is one extended attribute of an inode.
type Xattr struct {
	Ino   int64
	Name  string
	Value []byte
}

// Mutation is a set of row changes worked out by a node: applied in the
// order unlink, inodes, link, drop, xattrs, in one round trip.
type Mutation struct {
	Unlink     []Dentry // names to remove (Ino ignored)
	Inodes     []Entry  // inode rows to insert or overwrite, by Ino
	Link       []Dentry // names to add or repoint
	DropInodes []int64  // inode rows to delete with their xattrs
	SetXattrs  []Xattr
	DelXattrs  []Xattr // Value ignored
	// Blobs are small contents to store first (Data only, no Chunks).
	Blobs []Blob
	// Changes are the change-log rows of the mutation, in order: the path
	// and the state after the change (the Entry's Path is ignored).
	Changes []ChangeEntry
}

// ChangeEntry is one change-log row with the full state of the name after
// it (zero Entry for a deletion).
type ChangeEntry struct {
	Rev     int64
	Seq     int32
	Path    string
	Op      Op
	Entry   Entry
	OldHash []byte
	Origin  string
	At      time.Time
}

// NextInos reserves n inode numbers that no other node will use.
func (s *Store) NextInos(ctx context.Context, n int) ([]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT nextval('inode_ids') FROM generate_series(1, $1)`, n)
	if err != nil {
		return nil, s.wrap(err, "reserve inode numbers")
	}
	inos, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	return inos, s.wrap(err, "reserve inode numbers")
}

// Apply writes the rows of m in this transaction.
func (t *Tx) Apply(ctx context.Context, m *Mutation) error {
	b := &pgx.Batch{}
	for _, bl := range m.Blobs {
		data := bl.Data
		if data == nil {
			data = []byte{}
		}
		b.Queue(`INSERT INTO blobs (hash, size, data) VALUES ($1, $2, $3) ON CONFLICT (hash) DO NOTHING`, bl.Hash, int64(len(data)), data)
		if len(data) <= maxCatalogFile {
			if t.uploaded == nil {
				t.uploaded = map[string][]byte{}
			}
			t.uploaded[string(bl.Hash)] = data
		}
	}
	for _, d := range m.Unlink {
		b.Queue(`DELETE FROM dentries WHERE parent = $1 AND name = $2`, d.Parent, d.Name)
	}
	for _, e := range m.Inodes {
		var target any
		if e.Kind == KindSymlink {
			target = e.Target
		}
		b.Queue(`INSERT INTO inodes (ino, kind, mode, uid, gid, size, mtime_ns, ctime_ns, nlink, hash, target, rev)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			ON CONFLICT (ino) DO UPDATE SET kind = excluded.kind, mode = excluded.mode, uid = excluded.uid, gid = excluded.gid,
				size = excluded.size, mtime_ns = excluded.mtime_ns, ctime_ns = excluded.ctime_ns, nlink = excluded.nlink,
				hash = excluded.hash, target = excluded.target, rev = excluded.rev`,
			e.Ino, string(rune(e.Kind)), int32(e.Mode), int32(e.UID), int32(e.GID), e.Size, e.MtimeNs, e.CtimeNs, e.Nlink, e.Hash, target, t.rev)
	}
	firstLink := b.Len()
	for _, d := range m.Link {
		// Only into a directory that exists: a node that missed a change
		// must not write names nobody can reach.
		b.Queue(`INSERT INTO dentries (parent, name, ino)
			SELECT $1::bigint, $2::text, $3::bigint WHERE EXISTS (SELECT 1 FROM inodes WHERE ino = $1 AND kind = 'd')
			ON CONFLICT (parent, name) DO UPDATE SET ino = excluded.ino`, d.Parent, d.Name, d.Ino)
	}
	if len(m.DropInodes) > 0 {
		b.Queue(`DELETE FROM xattrs WHERE ino = ANY($1)`, m.DropInodes)
		b.Queue(`DELETE FROM inodes WHERE ino = ANY($1)`, m.DropInodes)
	}
	for _, x := range m.SetXattrs {
		b.Queue(`INSERT INTO xattrs (ino, name, value) VALUES ($1, $2, $3)
			ON CONFLICT (ino, name) DO UPDATE SET value = excluded.value`, x.Ino, x.Name, x.Value)
	}
	for _, x := range m.DelXattrs {
		b.Queue(`DELETE FROM xattrs WHERE ino = $1 AND name = $2`, x.Ino, x.Name)
	}
	if b.Len() > 0 {
		br := t.tx.SendBatch(ctx, b)
		for i := 0; i < b.Len(); i++ {
			tag, err := br.Exec()
			if err != nil {
				br.Close()
				var pe *pgconn.PgError
				if errors.As(err, &pe) && pe.Code == "23503" {
					return fmt.Errorf("apply revision %d: %w: %s", t.rev, ErrConflict, pe.Message)
				}
				return t.s.wrap(err, fmt.Sprintf("write revision %d", t.rev))
			}
			if i >= firstLink && i < firstLink+len(m.Link) && tag.RowsAffected() != 1 {
				br.Close()
				d := m.Link[i-firstLink]
				return fmt.Errorf("apply revision %d: %w: directory inode %d of %q is gone", t.rev, ErrConflict, d.Parent, d.Name)
			}
		}
		if err := br.Close(); err != nil {
			return t.s.wrap(err, fmt.Sprintf("write revision %d", t.rev))
		}
	}
	for _, c := range m.Changes {
		t.record(c.Path, c.Op, c.Entry, c.OldHash)
	}
	return nil
}

// Changed returns the changes of the revisions after rev, oldest first,
// each with the full state of its name.
func (s *Store) Changed(ctx context.Context, rev int64) ([]ChangeEntry, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT c.rev, c.seq, c.path, c.op, coalesce(c.ino, 0), coalesce(c.kind, ''), coalesce(c.mode, 0), coalesce(c.uid, 0),
			coalesce(c.gid, 0), coalesce(c.size, 0), coalesce(c.mtime_ns, 0), c.hash, coalesce(c.target, ''), c.old_hash,
			r.origin, r.committed_at
		FROM changes c JOIN revisions r ON r.rev = c.rev
		WHERE c.rev > $1 ORDER BY c.rev, c.seq`, rev)
	if err != nil {
		return nil, s.wrap(err, "read change log")
	}
	defer rows.Close()
	var out []ChangeEntry
	for rows.Next() {
		var c ChangeEntry
		var op, kind string
		var mode, uid, gid int32
		e := &c.Entry
		if err := rows.Scan(&c.Rev, &c.Seq, &c.Path, &op, &e.Ino, &kind, &mode, &uid, &gid, &e.Size, &e.MtimeNs,
			&e.Hash, &e.Target, &c.OldHash, &c.Origin, &c.At); err != nil {
			return nil, s.wrap(err, "read change log")
		}
		c.Op = Op(op)
		if kind != "" {
			e.Kind = Kind(kind[0])
		}
		e.Mode, e.UID, e.GID = uint32(mode), uint32(uid), uint32(gid)
		e.Path = c.Path
		e.Rev = c.Rev
		out = append(out, c)
	}
	return out, s.wrap(rows.Err(), "read change log")
}

// Xattrs returns the extended attributes of the given inodes, or of every
// inode when inos is nil.
func (s *Store) Xattrs(ctx context.Context, inos []int64) ([]Xattr, error) {
	rows, err := s.pool.Query(ctx, `SELECT ino, name, value FROM xattrs WHERE $1::bigint[] IS NULL OR ino = ANY($1) ORDER BY ino, name`, inos)
	if err != nil {
		return nil, s.wrap(err, "read extended attributes")
	}
	xs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Xattr, error) {
		var x Xattr
		err := r.Scan(&x.Ino, &x.Name, &x.Value)
		return x, err
	})
	return xs, s.wrap(err, "read extended attributes")
}

// Listen calls fn with each revision that a commit announces, until ctx
// ends or the connection fails (then it returns the error; the caller
// polls and listens again).
func (s *Store) Listen(ctx context.Context, fn func(rev int64)) error {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return s.wrap(err, "listen for revisions")
	}
	defer c.Release()
	if _, err := c.Exec(ctx, `LISTEN `+NotifyChannel); err != nil {
		return s.wrap(err, "listen for revisions")
	}
	defer func() {
		// The connection goes back to the pool: stop listening, or drop it.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		if _, err := c.Exec(cctx, `UNLISTEN *`); err != nil {
			c.Conn().Close(cctx) //nolint:errcheck
		}
	}()
	for {
		n, err := c.Conn().WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return s.wrap(err, "listen for revisions")
		}
		var rev int64
		if _, err := fmt.Sscan(n.Payload, &rev); err == nil {
			fn(rev)
		}
	}
}

// Identity names this database so that a node's saved replica is never
// used against another one: the server's address, the database's oid and
// the time of its first revision.
func (s *Store) Identity(ctx context.Context) (string, error) {
	var id string
	err := s.pool.QueryRow(ctx, `SELECT (SELECT oid FROM pg_database WHERE datname = current_database())::text || '/' ||
		coalesce((SELECT committed_at FROM revisions ORDER BY rev LIMIT 1)::text, '-')`).Scan(&id)
	return s.addr + "/" + id, s.wrap(err, "identify the database")
}
