package dbstore

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Kind is the type of an inode.
type Kind byte

// The kinds of inode.
const (
	KindFile    Kind = 'f'
	KindDir     Kind = 'd'
	KindSymlink Kind = 'l'
)

func (k Kind) String() string {
	switch k {
	case KindFile:
		return "file"
	case KindDir:
		return "directory"
	case KindSymlink:
		return "symlink"
	}
	return fmt.Sprintf("kind(%d)", k)
}

// RootIno is the inode number of the tree's root directory.
const RootIno = 1

// Entry is one name in the tree with the attributes of its inode. Path is
// slash-separated and relative to the root; the root itself is "".
type Entry struct {
	Path    string
	Ino     int64
	Kind    Kind
	Mode    uint32 // permission bits, 07777
	UID     uint32
	GID     uint32
	Size    int64
	MtimeNs int64
	CtimeNs int64
	Nlink   int32
	Hash    []byte // files: SHA-256 of the content
	Target  string // symlinks
	Rev     int64  // the revision that last changed it (head trees only)
	// LinkTo, on input to BulkCreate, names an earlier entry's path whose
	// inode this entry shares (a hard link). Trees read from the database
	// leave it empty and share Ino instead.
	LinkTo string
}

// Tree is a whole tree (or a subtree) at one revision: entries sorted by
// path, every directory before its children.
type Tree struct {
	Rev     int64
	Entries []Entry
}

// Tree reads the tree at rev (0 or the head revision: the current tree)
// restricted to prefix ("" for all). The current tree comes from the inode
// and directory tables; an older one is rebuilt from the change log.
func (s *Store) Tree(ctx context.Context, rev int64, prefix string) (Tree, error) {
	var t Tree
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		t, err = readTree(ctx, tx, rev, prefix)
		return err
	})
	if err != nil {
		return Tree{}, s.wrap(err, fmt.Sprintf("read tree at revision %d", rev))
	}
	return t, nil
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func readTree(ctx context.Context, q querier, rev int64, prefix string) (Tree, error) {
	var head int64
	if err := q.QueryRow(ctx, `SELECT rev FROM head`).Scan(&head); err != nil {
		return Tree{}, err
	}
	if rev < 0 || rev > head {
		return Tree{}, fmt.Errorf("revision %d: %w (the newest is %d)", rev, ErrNotFound, head)
	}
	var entries []Entry
	var err error
	if rev == 0 || rev == head {
		rev = head
		entries, err = readHeadTree(ctx, q)
	} else {
		entries, err = readTreeAt(ctx, q, rev)
	}
	if err != nil {
		return Tree{}, err
	}
	if prefix != "" {
		kept := entries[:0]
		for _, e := range entries {
			if e.Path == prefix || strings.HasPrefix(e.Path, prefix+"/") {
				kept = append(kept, e)
			}
		}
		entries = kept
	}
	SortEntries(entries)
	return Tree{Rev: rev, Entries: entries}, nil
}

// SortEntries sorts entries so that every directory comes before its
// children and siblings are in byte order of their names.
func SortEntries(entries []Entry) {
	sort.Slice(entries, func(i, j int) bool { return PathLess(entries[i].Path, entries[j].Path) })
}

// PathLess orders paths component by component, so "a/b" < "a.x" (a
// plain string compare would put "a.x" between "a" and "a/b").
func PathLess(a, b string) bool {
	for {
		ai, bi := strings.IndexByte(a, '/'), strings.IndexByte(b, '/')
		ac, bc := a, b
		if ai >= 0 {
			ac = a[:ai]
		}
		if bi >= 0 {
			bc = b[:bi]
		}
		if ac != bc {
			return ac < bc
		}
		if ai < 0 || bi < 0 {
			return ai < 0 && bi >= 0
		}
		a, b = a[ai+1:], b[bi+1:]
	}
}

const inodeCols = `i.ino, i.kind, i.mode, i.uid, i.gid, i.size, i.mtime_ns, i.ctime_ns, i.nlink, i.hash, i.target, i.rev`

func scanInode(row pgx.Row, e *Entry, extra ...any) error {
	var kind string
	var target *string
	dest := append([]any{&e.Ino, &kind, &e.Mode, &e.UID, &e.GID, &e.Size, &e.MtimeNs, &e.CtimeNs, &e.Nlink, &e.Hash, &target, &e.Rev}, extra...)
	if err := row.Scan(dest...); err != nil {
		return err
	}
	e.Kind = Kind(kind[0])
	if target != nil {
		e.Target = *target
	}
	return nil
}

func readHeadTree(ctx context.Context, q querier) ([]Entry, error) {
	var root Entry
	if err := scanInode(q.QueryRow(ctx, `SELECT `+inodeCols+` FROM inodes i WHERE i.ino = 1`), &root); err != nil {
		return nil, err
	}
	rows, err := q.Query(ctx, `SELECT `+inodeCols+`, d.parent, d.name FROM dentries d JOIN inodes i ON i.ino = d.ino`)
	if err != nil {
		return nil, err
	}
	type named struct {
		Entry
		parent int64
		name   string
	}
	var all []named
	dirs := map[int64]int{} // dir ino -> index in all
	for rows.Next() {
		var n named
		if err := scanInode(rows, &n.Entry, &n.parent, &n.name); err != nil {
			rows.Close()
			return nil, err
		}
		if n.Kind == KindDir {
			dirs[n.Ino] = len(all)
		}
		all = append(all, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	paths := map[int64]string{RootIno: ""}
	var resolve func(ino int64, depth int) (string, bool)
	resolve = func(ino int64, depth int) (string, bool) {
		if p, ok := paths[ino]; ok {
			return p, true
		}
		i, ok := dirs[ino]
		if !ok || depth > 4096 {
			return "", false
		}
		pp, ok := resolve(all[i].parent, depth+1)
		if !ok {
			return "", false
		}
		p := joinPath(pp, all[i].name)
		paths[ino] = p
		return p, true
	}
	entries := make([]Entry, 0, len(all)+1)
	root.Path = ""
	entries = append(entries, root)
	for _, n := range all {
		pp, ok := resolve(n.parent, 0)
		if !ok {
			continue // an orphan: unreachable from the root
		}
		n.Entry.Path = joinPath(pp, n.name)
		entries = append(entries, n.Entry)
	}
	return entries, nil
}

func readTreeAt(ctx context.Context, q querier, rev int64) ([]Entry, error) {
	rows, err := q.Query(ctx, `
		SELECT path, op, coalesce(ino, 0), coalesce(kind, 'f'), coalesce(mode, 0), coalesce(uid, 0), coalesce(gid, 0),
		       coalesce(size, 0), coalesce(mtime_ns, 0), hash, coalesce(target, ''), rev
		FROM (SELECT DISTINCT ON (path) * FROM changes WHERE rev <= $1 ORDER BY path, rev DESC, seq DESC) last
		WHERE op <> 'delete'`, rev)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var entries []Entry
	links := map[int64]int32{}
	for rows.Next() {
		var e Entry
		var op, kind string
		if err := rows.Scan(&e.Path, &op, &e.Ino, &kind, &e.Mode, &e.UID, &e.GID, &e.Size, &e.MtimeNs, &e.Hash, &e.Target, &e.Rev); err != nil {
			return nil, err
		}
		e.Kind = Kind(kind[0])
		links[e.Ino]++
		entries = append(entries, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	hasRoot := false
	for i := range entries {
		entries[i].Nlink = links[entries[i].Ino]
		if entries[i].Path == "" {
			hasRoot = true
		}
	}
	if !hasRoot {
		entries = append(entries, Entry{Path: "", Ino: RootIno, Kind: KindDir, Mode: 0o755, Nlink: 2})
	}
	return entries, nil
}

func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}
