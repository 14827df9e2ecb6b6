package dbstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// Op is what a change did to a name.
type Op string

// The operations of the change log.
const (
	OpCreate Op = "create"
	OpModify Op = "modify" // content or kind changed
	OpMeta   Op = "meta"   // mode, owner or times changed
	OpDelete Op = "delete"
)

// Tx is one writing transaction with its revision. It is not safe for
// concurrent use; it is valid only inside the function given to Write.
type Tx struct {
	s       *Store
	tx      pgx.Tx
	rev     int64
	changes []changeRow
	dirs    map[string]int64 // resolved directory paths
	// uploaded holds the small blobs stored in this transaction, so that
	// the catalog index need not read them back.
	uploaded map[string][]byte
}

type changeRow struct {
	path    string
	op      Op
	e       Entry // state after the change; zero for a delete
	oldHash []byte
}

// Write runs fn in one transaction that commits a new revision made by
// origin (a node name or a command). The revision is assigned before fn
// runs and is committed with everything fn did, or not at all. A fn that
// changes nothing commits nothing and Write returns the current head.
func (s *Store) Write(ctx context.Context, origin, summary string, fn func(ctx context.Context, tx *Tx) error) (int64, error) {
	pgtx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, s.wrap(err, "begin transaction")
	}
	defer pgtx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	t := &Tx{s: s, tx: pgtx, dirs: map[string]int64{"": RootIno}}
	if err := pgtx.QueryRow(ctx, `UPDATE head SET rev = rev + 1 RETURNING rev`).Scan(&t.rev); err != nil {
		return 0, s.wrap(err, "assign revision")
	}
	if err := fn(ctx, t); err != nil {
		return 0, err
	}
	if len(t.changes) == 0 {
		return t.rev - 1, nil
	}
	if err := t.finish(ctx, origin, summary); err != nil {
		return 0, err
	}
	if err := pgtx.Commit(ctx); err != nil {
		return 0, s.wrap(err, fmt.Sprintf("commit revision %d", t.rev))
	}
	return t.rev, nil
}

// Rev is the revision this transaction commits.
func (t *Tx) Rev() int64 { return t.rev }

// Tree reads the current tree (as this transaction sees it) under prefix.
func (t *Tx) Tree(ctx context.Context, prefix string) ([]Entry, error) {
	tr, err := readTree(ctx, t.tx, 0, prefix)
	if err != nil {
		return nil, t.s.wrap(err, "read tree")
	}
	return tr.Entries, nil
}

// IsEmpty tells whether the tree has no names at all.
func (t *Tx) IsEmpty(ctx context.Context) (bool, error) {
	var n int
	if err := t.tx.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM dentries LIMIT 1) x`).Scan(&n); err != nil {
		return false, t.s.wrap(err, "check for an empty tree")
	}
	return n == 0, nil
}

func (t *Tx) record(p string, op Op, e Entry, oldHash []byte) {
	e.Path = p
	t.changes = append(t.changes, changeRow{path: p, op: op, e: e, oldHash: oldHash})
}

// smallBatch is the most rows sent as plain inserts in the commit's one
// round trip; more go by COPY.
const smallBatch = 64

// finish records the changes, the catalog index, the revision and its
// notification: for a small change, in one round trip.
func (t *Tx) finish(ctx context.Context, origin, summary string) error {
	b := &pgx.Batch{}
	if len(t.changes) <= smallBatch {
		for _, r := range t.changeRows() {
			b.Queue(`INSERT INTO changes (rev, seq, path, op, ino, kind, mode, uid, gid, size, mtime_ns, hash, target, old_hash)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`, r...)
		}
	} else if err := t.flushChanges(ctx); err != nil {
		return t.s.wrap(err, fmt.Sprintf("record changes of revision %d", t.rev))
	}
	paths, rows, err := t.catalogRows(ctx)
	if err != nil {
		return t.s.wrap(err, fmt.Sprintf("index catalog of revision %d", t.rev))
	}
	if len(paths) > 0 {
		b.Queue(`DELETE FROM catalog_objects WHERE path = ANY($1)`, paths)
	}
	if len(rows) <= smallBatch {
		for _, r := range rows {
			b.Queue(`INSERT INTO catalog_objects (`+strings.Join(catalogCols, ", ")+`)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`, r...)
		}
	}
	b.Queue(`INSERT INTO revisions (rev, origin, summary) VALUES ($1, $2, $3)`, t.rev, origin, summary)
	b.Queue(`SELECT pg_notify($1, $2)`, NotifyChannel, fmt.Sprint(t.rev))
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return t.s.wrap(err, fmt.Sprintf("record revision %d", t.rev))
	}
	if len(rows) > smallBatch {
		if _, err := t.tx.CopyFrom(ctx, pgx.Identifier{"catalog_objects"}, catalogCols, pgx.CopyFromRows(rows)); err != nil {
			return t.s.wrap(err, fmt.Sprintf("index catalog of revision %d", t.rev))
		}
	}
	return nil
}

func (t *Tx) changeRows() [][]any {
	rows := make([][]any, len(t.changes))
	for i, c := range t.changes {
		if c.op == OpDelete {
			rows[i] = []any{t.rev, i, c.path, string(c.op), nil, nil, nil, nil, nil, nil, nil, nil, nil, c.oldHash}
			continue
		}
		e := c.e
		var target any
		if e.Kind == KindSymlink {
			target = e.Target
		}
		rows[i] = []any{t.rev, i, c.path, string(c.op), e.Ino, string(rune(e.Kind)), int32(e.Mode), int32(e.UID), int32(e.GID),
			e.Size, e.MtimeNs, e.Hash, target, c.oldHash}
	}
	return rows
}

func (t *Tx) flushChanges(ctx context.Context) error {
	rows := t.changeRows()
	_, err := t.tx.CopyFrom(ctx, pgx.Identifier{"changes"},
		[]string{"rev", "seq", "path", "op", "ino", "kind", "mode", "uid", "gid", "size", "mtime_ns", "hash", "target", "old_hash"},
		pgx.CopyFromRows(rows))
	return err
}

// Stat returns the entry at path.
func (t *Tx) Stat(ctx context.Context, p string) (Entry, error) {
	if p == "" {
		var e Entry
		err := scanInode(t.tx.QueryRow(ctx, `SELECT `+inodeCols+` FROM inodes i WHERE i.ino = 1`), &e)
		return e, t.s.wrap(err, "stat root")
	}
	dir, name := splitPath(p)
	parent, err := t.resolveDir(ctx, dir)
	if err != nil {
		return Entry{}, fmt.Errorf("stat %s: %w", p, err)
	}
	var e Entry
	err = scanInode(t.tx.QueryRow(ctx, `SELECT `+inodeCols+` FROM dentries d JOIN inodes i ON i.ino = d.ino
		WHERE d.parent = $1 AND d.name = $2`, parent, name), &e)
	if err != nil {
		return Entry{}, t.s.wrap(err, "stat "+p)
	}
	e.Path = p
	return e, nil
}

// resolveDir returns the inode of the directory at p.
func (t *Tx) resolveDir(ctx context.Context, p string) (int64, error) {
	if ino, ok := t.dirs[p]; ok {
		return ino, nil
	}
	dir, name := splitPath(p)
	parent, err := t.resolveDir(ctx, dir)
	if err != nil {
		return 0, err
	}
	var ino int64
	var kind string
	err = t.tx.QueryRow(ctx, `SELECT d.ino, i.kind FROM dentries d JOIN inodes i ON i.ino = d.ino
		WHERE d.parent = $1 AND d.name = $2`, parent, name).Scan(&ino, &kind)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("directory %s: %w", p, ErrNotFound)
	}
	if err != nil {
		return 0, t.s.wrap(err, "look up "+p)
	}
	if Kind(kind[0]) != KindDir {
		return 0, fmt.Errorf("%s: %w", p, ErrNotDir)
	}
	t.dirs[p] = ino
	return ino, nil
}

// Put makes path hold e: it creates the name if it is missing, updates the
// inode in place if the kind is the same, and replaces it (recursively, for
// a directory) if the kind differs. The parent directory must exist. For a
// file, the blob e.Hash must already be stored. Put on "" sets the root
// directory's attributes.
func (t *Tx) Put(ctx context.Context, e Entry) error {
	if err := ValidPath(e.Path); err != nil {
		return err
	}
	old, err := t.Stat(ctx, e.Path)
	switch {
	case errors.Is(err, ErrNotFound):
		return t.create(ctx, e)
	case err != nil:
		return err
	case old.Kind != e.Kind:
		if err := t.Remove(ctx, e.Path); err != nil {
			return err
		}
		return t.create(ctx, e)
	}
	op := OpMeta
	if !bytes.Equal(old.Hash, e.Hash) || old.Target != e.Target {
		op = OpModify
	}
	if op == OpMeta && old.Mode == e.Mode && old.UID == e.UID && old.GID == e.GID && old.MtimeNs == e.MtimeNs {
		return nil
	}
	var target any
	if e.Kind == KindSymlink {
		target = e.Target
	}
	_, err = t.tx.Exec(ctx, `UPDATE inodes SET mode = $2, uid = $3, gid = $4, size = $5, mtime_ns = $6,
		ctime_ns = (extract(epoch from clock_timestamp()) * 1e9)::bigint, hash = $7, target = $8, rev = $9 WHERE ino = $1`,
		old.Ino, int32(e.Mode), int32(e.UID), int32(e.GID), e.Size, e.MtimeNs, e.Hash, target, t.rev)
	if err != nil {
		return t.s.wrap(err, "update "+e.Path)
	}
	e.Ino = old.Ino
	t.record(e.Path, op, e, old.Hash)
	return nil
}

func (t *Tx) create(ctx context.Context, e Entry) error {
	dir, name := splitPath(e.Path)
	parent, err := t.resolveDir(ctx, dir)
	if err != nil {
		return fmt.Errorf("create %s: %w", e.Path, err)
	}
	if e.Kind == KindFile {
		var ok bool
		if err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM blobs WHERE hash = $1)`, e.Hash).Scan(&ok); err != nil {
			return t.s.wrap(err, "check content of "+e.Path)
		}
		if !ok {
			return fmt.Errorf("create %s: content %x is not stored: %w", e.Path, e.Hash, ErrNotFound)
		}
	}
	var target any
	if e.Kind == KindSymlink {
		target = e.Target
	}
	nlink := int32(1)
	if e.Kind == KindDir {
		nlink = 2
	}
	err = t.tx.QueryRow(ctx, `INSERT INTO inodes (ino, kind, mode, uid, gid, size, mtime_ns, ctime_ns, nlink, hash, target, rev)
		VALUES (nextval('inode_ids'), $1, $2, $3, $4, $5, $6, (extract(epoch from clock_timestamp()) * 1e9)::bigint, $7, $8, $9, $10)
		RETURNING ino`, string(rune(e.Kind)), int32(e.Mode), int32(e.UID), int32(e.GID), e.Size, e.MtimeNs, nlink, e.Hash, target, t.rev).Scan(&e.Ino)
	if err != nil {
		return t.s.wrap(err, "create "+e.Path)
	}
	if _, err := t.tx.Exec(ctx, `INSERT INTO dentries (parent, name, ino) VALUES ($1, $2, $3)`, parent, name, e.Ino); err != nil {
		return t.s.wrap(err, "create "+e.Path)
	}
	if e.Kind == KindDir {
		t.dirs[e.Path] = e.Ino
	}
	t.record(e.Path, OpCreate, e, nil)
	return nil
}

// Remove deletes the name at path and, for a directory, everything below
// it. An inode loses its row when its last name goes.
func (t *Tx) Remove(ctx context.Context, p string) error {
	if p == "" {
		return fmt.Errorf("remove the root directory: %w", ErrInvalid)
	}
	e, err := t.Stat(ctx, p)
	if err != nil {
		return err
	}
	if e.Kind == KindDir {
		sub, err := t.Tree(ctx, p)
		if err != nil {
			return err
		}
		// children first, deepest last in sorted order: walk backwards
		for i := len(sub) - 1; i >= 0; i-- {
			c := sub[i]
			if c.Path == p {
				continue
			}
			t.record(c.Path, OpDelete, Entry{}, c.Hash)
		}
		dirInos := []int64{e.Ino}
		var inos []int64
		for _, c := range sub {
			if c.Path == p {
				continue
			}
			inos = append(inos, c.Ino)
			if c.Kind == KindDir {
				dirInos = append(dirInos, c.Ino)
			}
		}
		if _, err := t.tx.Exec(ctx, `DELETE FROM dentries WHERE parent = ANY($1)`, dirInos); err != nil {
			return t.s.wrap(err, "remove "+p)
		}
		if err := t.dropUnlinked(ctx, inos); err != nil {
			return t.s.wrap(err, "remove "+p)
		}
		for k := range t.dirs {
			if k == p || strings.HasPrefix(k, p+"/") {
				delete(t.dirs, k)
			}
		}
	}
	dir, name := splitPath(p)
	parent, err := t.resolveDir(ctx, dir)
	if err != nil {
		return err
	}
	if _, err := t.tx.Exec(ctx, `DELETE FROM dentries WHERE parent = $1 AND name = $2`, parent, name); err != nil {
		return t.s.wrap(err, "remove "+p)
	}
	if err := t.dropUnlinked(ctx, []int64{e.Ino}); err != nil {
		return t.s.wrap(err, "remove "+p)
	}
	t.record(p, OpDelete, Entry{}, e.Hash)
	return nil
}

// dropUnlinked deletes the inodes among inos that no name refers to any
// more, with their extended attributes, and recounts the links of the rest.
func (t *Tx) dropUnlinked(ctx context.Context, inos []int64) error {
	if len(inos) == 0 {
		return nil
	}
	_, err := t.tx.Exec(ctx, `
		WITH gone AS (
			DELETE FROM inodes i WHERE i.ino = ANY($1) AND NOT EXISTS (SELECT 1 FROM dentries d WHERE d.ino = i.ino)
			RETURNING i.ino
		), x AS (
			DELETE FROM xattrs WHERE ino IN (SELECT ino FROM gone)
		)
		UPDATE inodes i SET nlink = (SELECT count(*) FROM dentries d WHERE d.ino = i.ino)
		WHERE i.ino = ANY($1) AND i.kind <> 'd' AND i.ino NOT IN (SELECT ino FROM gone)`, inos)
	return err
}

// splitPath splits "a/b/c" into "a/b" and "c".
func splitPath(p string) (dir, name string) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}

// ValidPath checks that p is a clean relative slash path ("" for the root)
// whose names are valid UTF-8 without NUL.
func ValidPath(p string) error {
	if p == "" {
		return nil
	}
	if strings.HasPrefix(p, "/") || path.Clean(p) != p || p == "." || p == ".." || strings.HasPrefix(p, "../") {
		return fmt.Errorf("path %q: %w: not a clean relative path", p, ErrInvalid)
	}
	if strings.IndexByte(p, 0) >= 0 {
		return fmt.Errorf("path %q: %w: contains NUL", p, ErrInvalid)
	}
	if !utf8.ValidString(p) {
		return fmt.Errorf("path %q: %w: not valid UTF-8", p, ErrInvalid)
	}
	return nil
}

// TreeAt reads, inside this transaction, the tree at an earlier revision
// under prefix.
func (t *Tx) TreeAt(ctx context.Context, rev int64, prefix string) ([]Entry, error) {
	tr, err := readTree(ctx, t.tx, rev, prefix)
	if err != nil {
		return nil, t.s.wrap(err, fmt.Sprintf("read tree at revision %d", rev))
	}
	return tr.Entries, nil
}
