package replica

import (
	"sort"

	"github.com/gscluster/gscluster/dbstore"
)

// Building blocks of the changes the mount commits, kept beside the tree
// they read so that the file system and the tests build the same rows.

// TouchDir adds to m the new mtime and ctime of directory dir, as a local
// disk sets them when a name in it changes, with its change row. A
// directory m already updates is left as it is.
func (t *Tree) TouchDir(m *dbstore.Mutation, dir int64, ts int64) {
	d := t.Get(dir)
	if d == nil {
		return
	}
	for _, e := range m.Inodes {
		if e.Ino == dir {
			return
		}
	}
	e := d.Entry()
	e.MtimeNs, e.CtimeNs = ts, ts
	m.Inodes = append(m.Inodes, e)
	if p, ok := t.Path(dir); ok {
		m.Changes = append(m.Changes, dbstore.ChangeEntry{Path: p, Op: dbstore.OpMeta, Entry: e})
	}
}

// Move builds the change that renames name on in directory od to nn in
// nd, replacing what nn names there. The caller has checked that the
// rename is allowed (the source exists; a replaced directory is empty and
// of the source's kind; a directory does not move into itself).
func (t *Tree) Move(od int64, on string, nd int64, nn string, ts int64) *Change {
	src, dst := t.Child(od, on), t.Child(nd, nn)
	oldP, _ := t.ChildPath(od, on)
	newP, _ := t.ChildPath(nd, nn)
	ch := &Change{Summary: "rename " + oldP + " to " + newP}
	m := &ch.Mutation
	m.Unlink = []dbstore.Dentry{{Parent: od, Name: on}}
	if dst != nil {
		dropName(m, nd, nn, dst, ts)
	}
	m.Link = []dbstore.Dentry{{Parent: nd, Name: nn, Ino: src.Ino}}
	se := src.Entry()
	se.CtimeNs = ts
	m.Inodes = append(m.Inodes, se)
	// The change log names paths: everything below a moved directory
	// leaves its old paths (deepest first) and takes new ones (parents
	// first).
	var sub []subEntry
	if src.Kind == dbstore.KindDir {
		sub = t.subtree(src, "")
	}
	for i := len(sub) - 1; i >= 0; i-- {
		m.Changes = append(m.Changes, dbstore.ChangeEntry{Path: oldP + "/" + sub[i].rel, Op: dbstore.OpDelete, OldHash: sub[i].e.Hash})
	}
	m.Changes = append(m.Changes, dbstore.ChangeEntry{Path: oldP, Op: dbstore.OpDelete, OldHash: src.Hash})
	op, oldHash := dbstore.OpCreate, []byte(nil)
	if dst != nil {
		op, oldHash = dbstore.OpModify, dst.Hash
	}
	m.Changes = append(m.Changes, dbstore.ChangeEntry{Path: newP, Op: op, Entry: se, OldHash: oldHash})
	for _, s := range sub {
		m.Changes = append(m.Changes, dbstore.ChangeEntry{Path: newP + "/" + s.rel, Op: dbstore.OpCreate, Entry: s.e})
	}
	t.TouchDir(m, od, ts)
	t.TouchDir(m, nd, ts)
	return ch
}

// Remove builds the change that removes name from directory dir: an empty
// directory, or one name of a file. The caller has checked that the name
// exists and may go.
func (t *Tree) Remove(dir int64, name string, ts int64) *Change {
	n := t.Child(dir, name)
	p, _ := t.ChildPath(dir, name)
	ch := &Change{Summary: "remove " + p}
	m := &ch.Mutation
	dropName(m, dir, name, n, ts)
	m.Changes = []dbstore.ChangeEntry{{Path: p, Op: dbstore.OpDelete, OldHash: n.Hash}}
	t.TouchDir(m, dir, ts)
	return ch
}

// dropName adds to m the removal of the name (dir, name) of n: the node
// goes with its last name (a directory has one), else it loses a link.
func dropName(m *dbstore.Mutation, dir int64, name string, n *Node, ts int64) {
	m.Unlink = append(m.Unlink, dbstore.Dentry{Parent: dir, Name: name})
	if n.Kind == dbstore.KindDir || len(n.Names) <= 1 {
		m.DropInodes = append(m.DropInodes, n.Ino)
		return
	}
	e := n.Entry()
	e.Nlink--
	e.CtimeNs = ts
	m.Inodes = append(m.Inodes, e)
}

type subEntry struct {
	rel string
	e   dbstore.Entry
}

// subtree lists what is below directory d, parents first.
func (t *Tree) subtree(d *Node, prefix string) []subEntry {
	names := make([]string, 0, len(d.Children))
	for name := range d.Children {
		names = append(names, name)
	}
	sort.Strings(names)
	var out []subEntry
	for _, name := range names {
		c := t.Get(d.Children[name])
		if c == nil {
			continue
		}
		rel := name
		if prefix != "" {
			rel = prefix + "/" + name
		}
		out = append(out, subEntry{rel, c.Entry()})
		if c.Kind == dbstore.KindDir {
			out = append(out, t.subtree(c, rel)...)
		}
	}
	return out
}
