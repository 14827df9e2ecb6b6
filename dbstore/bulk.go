package dbstore

import (
	"bytes"
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Blob is one row of content: Data for a blob up to ChunkSize, or Chunks
// (the concatenated 32-byte hashes of its parts, in order) for a larger one.
type Blob struct {
	Hash   []byte
	Size   int64
	Data   []byte
	Chunks []byte
}

// CopyBlobs stores every blob next yields (until it returns false) with the
// COPY protocol, skipping blobs already stored. It returns the bytes of
// content it was given. next is called from this goroutine only.
func (t *Tx) CopyBlobs(ctx context.Context, next func() (Blob, bool, error)) (int64, error) {
	var empty bool
	if err := t.tx.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM blobs)`).Scan(&empty); err != nil {
		return 0, t.s.wrap(err, "check stored content")
	}
	table := "blobs"
	if !empty {
		// Deduplicate against what is stored through a temporary table.
		if _, err := t.tx.Exec(ctx, `CREATE TEMP TABLE blob_import (LIKE blobs INCLUDING COMPRESSION) ON COMMIT DROP`); err != nil {
			return 0, t.s.wrap(err, "stage content")
		}
		table = "blob_import"
	}
	var total int64
	seen := map[[32]byte]struct{}{}
	var cur Blob
	src := pgx.CopyFromFunc(func() ([]any, error) {
		for {
			b, ok, err := next()
			if err != nil || !ok {
				return nil, err
			}
			var k [32]byte
			copy(k[:], b.Hash)
			if _, dup := seen[k]; dup {
				continue
			}
			seen[k] = struct{}{}
			total += int64(len(b.Data))
			cur = b
			var data, chunks any
			if b.Chunks != nil {
				chunks = b.Chunks
			} else {
				d := b.Data
				if d == nil {
					d = []byte{} // an empty content is an empty bytea, not NULL
				}
				data = d
			}
			return []any{cur.Hash, cur.Size, data, chunks}, nil
		}
	})
	if _, err := t.tx.CopyFrom(ctx, pgx.Identifier{table}, []string{"hash", "size", "data", "chunks"}, src); err != nil {
		return 0, t.s.wrap(err, "store content")
	}
	if !empty {
		if _, err := t.tx.Exec(ctx, `INSERT INTO blobs SELECT * FROM blob_import ON CONFLICT (hash) DO NOTHING`); err != nil {
			return 0, t.s.wrap(err, "store content")
		}
		if _, err := t.tx.Exec(ctx, `DROP TABLE blob_import`); err != nil {
			return 0, t.s.wrap(err, "store content")
		}
	}
	return total, nil
}

// PutBlob stores one blob if it is not stored yet.
func (t *Tx) PutBlob(ctx context.Context, b Blob) error {
	var data, chunks any
	if b.Chunks != nil {
		chunks = b.Chunks
	} else {
		data = b.Data
		if b.Data == nil {
			data = []byte{}
		}
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO blobs (hash, size, data, chunks) VALUES ($1, $2, $3, $4) ON CONFLICT (hash) DO NOTHING`,
		b.Hash, b.Size, data, chunks)
	if err == nil && b.Chunks == nil && len(b.Data) <= maxCatalogFile {
		if t.uploaded == nil {
			t.uploaded = map[string][]byte{}
		}
		t.uploaded[string(b.Hash)] = b.Data
	}
	return t.s.wrap(err, fmt.Sprintf("store content %x", b.Hash))
}

// ReplaceTree makes the tree exactly entries, which must be sorted with
// SortEntries and whose file contents must be stored. Names that are not in
// entries are removed. Entry "" sets the root directory's attributes. Entries
// with LinkTo share the inode of the earlier entry they name.
func (t *Tx) ReplaceTree(ctx context.Context, entries []Entry) error {
	old, err := t.Tree(ctx, "")
	if err != nil {
		return err
	}
	oldHash := make(map[string][]byte, len(old))
	oldBy := make(map[string]Entry, len(old))
	for _, e := range old {
		oldHash[e.Path] = e.Hash
		oldBy[e.Path] = e
	}
	if len(old) > 1 {
		for _, q := range []string{`DELETE FROM dentries`, `DELETE FROM xattrs`, `DELETE FROM inodes WHERE ino <> 1`} {
			if _, err := t.tx.Exec(ctx, q); err != nil {
				return t.s.wrap(err, "clear tree")
			}
		}
	}
	t.dirs = map[string]int64{"": RootIno}

	n := 0
	for _, e := range entries {
		if e.Path != "" && e.LinkTo == "" {
			n++
		}
	}
	ids := make([]int64, 0, n)
	rows, err := t.tx.Query(ctx, `SELECT nextval('inode_ids') FROM generate_series(1, $1)`, n)
	if err != nil {
		return t.s.wrap(err, "allocate inodes")
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return t.s.wrap(err, "allocate inodes")
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return t.s.wrap(err, "allocate inodes")
	}

	byPath := make(map[string]int, len(entries)) // path -> index in entries
	nlink := map[int64]int32{}
	reused := map[int64]bool{}
	var inodeRows, dentryRows [][]any
	next := 0
	for i := range entries {
		e := &entries[i]
		if err := ValidPath(e.Path); err != nil {
			return err
		}
		byPath[e.Path] = i
		if e.Path == "" {
			e.Ino = RootIno
			if _, err := t.tx.Exec(ctx, `UPDATE inodes SET mode = $1, uid = $2, gid = $3, mtime_ns = $4, ctime_ns = $5, rev = $6 WHERE ino = 1`,
				int32(e.Mode), int32(e.UID), int32(e.GID), e.MtimeNs, e.CtimeNs, t.rev); err != nil {
				return t.s.wrap(err, "set root attributes")
			}
			t.record("", OpMeta, *e, nil)
			continue
		}
		dir, name := splitPath(e.Path)
		pi, ok := byPath[dir]
		if !ok || entries[pi].Kind != KindDir {
			return fmt.Errorf("replace tree: %s: parent directory missing from the entries: %w", e.Path, ErrInvalid)
		}
		parent := entries[pi].Ino
		if e.LinkTo != "" {
			li, ok := byPath[e.LinkTo]
			if !ok || entries[li].Kind == KindDir {
				return fmt.Errorf("replace tree: %s: hard link to %s, which is not an earlier file: %w", e.Path, e.LinkTo, ErrInvalid)
			}
			e.Ino = entries[li].Ino
		} else {
			// A name that stays the same kind keeps its inode number: the
			// mounted nodes know it, and the change log only tells them what
			// changed.
			if o, ok := oldBy[e.Path]; ok && o.Kind == e.Kind && o.Ino != RootIno && !reused[o.Ino] {
				e.Ino = o.Ino
				reused[o.Ino] = true
			} else {
				e.Ino = ids[next]
				next++
			}
			var target any
			if e.Kind == KindSymlink {
				target = e.Target
			}
			inodeRows = append(inodeRows, []any{e.Ino, string(rune(e.Kind)), int32(e.Mode), int32(e.UID), int32(e.GID),
				e.Size, e.MtimeNs, e.CtimeNs, int32(1), e.Hash, target, t.rev})
		}
		nlink[e.Ino]++
		dentryRows = append(dentryRows, []any{parent, name, e.Ino})
		op := OpCreate
		var prev []byte
		if o, existed := oldBy[e.Path]; existed {
			delete(oldHash, e.Path)
			prev = o.Hash
			switch {
			case o.Kind != e.Kind || !bytes.Equal(o.Hash, e.Hash) || o.Target != e.Target:
				op = OpModify
			case o.Mode != e.Mode || o.UID != e.UID || o.GID != e.GID || o.MtimeNs != e.MtimeNs:
				op = OpMeta
			default:
				op = "" // unchanged: the inode is new, the file is not
			}
		}
		if op != "" {
			t.record(e.Path, op, *e, prev)
		}
	}
	for _, r := range inodeRows {
		ino := r[0].(int64)
		if r[1] == "d" {
			r[8] = int32(2)
		} else {
			r[8] = nlink[ino]
		}
	}
	if _, err := t.tx.CopyFrom(ctx, pgx.Identifier{"inodes"},
		[]string{"ino", "kind", "mode", "uid", "gid", "size", "mtime_ns", "ctime_ns", "nlink", "hash", "target", "rev"},
		pgx.CopyFromRows(inodeRows)); err != nil {
		return t.s.wrap(err, "store inodes")
	}
	if _, err := t.tx.CopyFrom(ctx, pgx.Identifier{"dentries"}, []string{"parent", "name", "ino"}, pgx.CopyFromRows(dentryRows)); err != nil {
		return t.s.wrap(err, "store names")
	}
	var missing int
	if err := t.tx.QueryRow(ctx, `SELECT count(*) FROM inodes i WHERE i.kind = 'f' AND NOT EXISTS (SELECT 1 FROM blobs b WHERE b.hash = i.hash)`).Scan(&missing); err != nil {
		return t.s.wrap(err, "check content")
	}
	if missing > 0 {
		return fmt.Errorf("replace tree: %d files whose content is not stored: %w", missing, ErrInvalid)
	}
	gone := make([]string, 0, len(oldHash))
	for p := range oldHash {
		if p != "" {
			gone = append(gone, p)
		}
	}
	goneEntries := make([]Entry, len(gone))
	for i, p := range gone {
		goneEntries[i].Path = p
	}
	SortEntries(goneEntries)
	for i := len(goneEntries) - 1; i >= 0; i-- {
		p := goneEntries[i].Path
		t.record(p, OpDelete, Entry{}, oldHash[p])
	}
	return nil
}
