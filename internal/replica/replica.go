// Package replica is a node's copy of the tree: every inode and name in
// memory, file contents in a content-addressed cache on local disk, both
// persisted under the state directory. It commits the node's own changes
// as row-level mutations and applies the changes other nodes commit, in
// revision order, reporting what it touched so that the kernel's caches
// can be invalidated.
package replica

import (
	"errors"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/gscluster/gscluster/dbstore"
)

// Node is one inode. Its fields are read under the replica's read lock and
// changed under its write lock.
type Node struct {
	Ino      int64
	Kind     dbstore.Kind
	Mode     uint32
	UID, GID uint32
	Size     int64
	MtimeNs  int64
	CtimeNs  int64
	Hash     []byte
	Target   string
	Rev      int64
	Names    []Name           // the names it has; a directory has one, the root none
	Children map[string]int64 // directories only
	Subdirs  int              // directories only: child directories, for the link count
	Xattrs   map[string][]byte

	// Pending is a file created on this node whose creation is not yet
	// committed: it lives in memory and in a spool until its first flush.
	Pending bool

	lookups atomic.Uint64 // the kernel's references, counted by fusefs
	gone    bool          // unlinked while the kernel still refers to it
}

// Name is one directory entry of a node.
type Name struct {
	Parent int64
	Name   string
}

// Nlink is the link count the kernel sees.
func (n *Node) Nlink() uint32 {
	if n.Kind == dbstore.KindDir {
		return uint32(2 + n.Subdirs)
	}
	return uint32(len(n.Names))
}

// Entry returns the node as a database row (without a path).
func (n *Node) Entry() dbstore.Entry {
	return dbstore.Entry{Ino: n.Ino, Kind: n.Kind, Mode: n.Mode, UID: n.UID, GID: n.GID, Size: n.Size,
		MtimeNs: n.MtimeNs, CtimeNs: n.CtimeNs, Nlink: int32(n.Nlink()), Hash: n.Hash, Target: n.Target, Rev: n.Rev}
}

// Tree is the in-memory tree. Reads take the read lock; the node's own
// commits and the apply loop take the write lock only to change memory,
// never while waiting for the database.
type Tree struct {
	mu      sync.RWMutex
	nodes   map[int64]*Node
	gone    map[int64]*Node // unlinked, still referenced by the kernel
	applied int64
	changed bool            // since the last snapshot
	limbo   map[int64]*Node // while applying changes: nodes that lost their last name
}

// newTree returns a tree with only the root directory.
func newTree() *Tree {
	t := &Tree{nodes: map[int64]*Node{}, gone: map[int64]*Node{}}
	t.nodes[dbstore.RootIno] = &Node{Ino: dbstore.RootIno, Kind: dbstore.KindDir, Mode: 0o755, Children: map[string]int64{}}
	return t
}

// RLock and RUnlock guard reads of nodes returned by Get and Child.
func (t *Tree) RLock()   { t.mu.RLock() }
func (t *Tree) RUnlock() { t.mu.RUnlock() }

// Applied is the revision the tree holds.
func (t *Tree) Applied() int64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.applied
}

// Get returns the node ino, including one that was unlinked while the
// kernel still refers to it. Call with the read lock held.
func (t *Tree) Get(ino int64) *Node {
	if n := t.nodes[ino]; n != nil {
		return n
	}
	return t.gone[ino]
}

// Child returns the node named name in directory dir. Call with the read
// lock held.
func (t *Tree) Child(dir int64, name string) *Node {
	d := t.nodes[dir]
	if d == nil || d.Children == nil {
		return nil
	}
	if ino, ok := d.Children[name]; ok {
		return t.nodes[ino]
	}
	return nil
}

// DirEntry is one name of a directory listing.
type DirEntry struct {
	Name string
	Ino  int64
	Kind dbstore.Kind
}

// List returns the names of directory dir in byte order. Call with the
// read lock held.
func (t *Tree) List(dir int64) []DirEntry {
	d := t.nodes[dir]
	if d == nil {
		return nil
	}
	out := make([]DirEntry, 0, len(d.Children))
	for name, ino := range d.Children {
		if c := t.nodes[ino]; c != nil {
			out = append(out, DirEntry{Name: name, Ino: ino, Kind: c.Kind})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Path returns a path of node ino ("" for the root), and false if the node
// is not reachable from the root. Call with the read lock held.
func (t *Tree) Path(ino int64) (string, bool) {
	var parts []string
	for depth := 0; ino != dbstore.RootIno; depth++ {
		n := t.nodes[ino]
		if n == nil || len(n.Names) == 0 || depth > 4096 {
			return "", false
		}
		parts = append(parts, n.Names[0].Name)
		ino = n.Names[0].Parent
	}
	var b []byte
	for i := len(parts) - 1; i >= 0; i-- {
		if len(b) > 0 {
			b = append(b, '/')
		}
		b = append(b, parts[i]...)
	}
	return string(b), true
}

// ChildPath joins a directory's path and a name.
func (t *Tree) ChildPath(dir int64, name string) (string, bool) {
	p, ok := t.Path(dir)
	if !ok {
		return "", false
	}
	if p == "" {
		return name, true
	}
	return p + "/" + name, true
}

// Resolve returns the node at a slash path. Call with the read lock held.
func (t *Tree) Resolve(p string) *Node {
	n := t.nodes[dbstore.RootIno]
	for p != "" && n != nil {
		var name string
		if i := indexByte(p, '/'); i >= 0 {
			name, p = p[:i], p[i+1:]
		} else {
			name, p = p, ""
		}
		n = t.Child(n.Ino, name)
	}
	return n
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// Ref counts n kernel references to ino (a lookup).
func (t *Tree) Ref(ino int64) {
	t.mu.RLock()
	if n := t.Get(ino); n != nil {
		n.lookups.Add(1)
	}
	t.mu.RUnlock()
}

// Forget drops n kernel references to ino; an unlinked node without any
// is freed. It reports whether the kernel holds none left (or the node is
// unknown).
func (t *Tree) Forget(ino int64, n uint64) (released bool) {
	t.mu.RLock()
	node := t.Get(ino)
	left := uint64(1)
	if node != nil {
		left = node.lookups.Add(^(n - 1))
	}
	t.mu.RUnlock()
	if node != nil && left == 0 {
		t.mu.Lock()
		if node.gone && node.lookups.Load() == 0 {
			delete(t.gone, ino)
		}
		t.mu.Unlock()
	}
	return node == nil || left == 0
}

// Memory operations, with the write lock held. They keep link counts and
// the kernel-reference bookkeeping right; the database rows are written by
// the caller.

var errNoParent = errors.New("parent directory missing")

// link adds the name (parent, name) for node n, replacing nothing: the
// caller unlinks what was there first.
func (t *Tree) link(parent int64, name string, n *Node) error {
	d := t.nodes[parent]
	if d == nil || d.Children == nil {
		return errNoParent
	}
	d.Children[name] = n.Ino
	n.Names = append(n.Names, Name{parent, name})
	if n.Kind == dbstore.KindDir {
		d.Subdirs++
	}
	if n.gone {
		n.gone = false
		delete(t.gone, n.Ino)
	}
	t.nodes[n.Ino] = n
	return nil
}

// unlink removes the name (parent, name); the node it named is dropped
// when that was its last name. It returns the node, or nil.
func (t *Tree) unlink(parent int64, name string) *Node {
	d := t.nodes[parent]
	if d == nil || d.Children == nil {
		return nil
	}
	ino, ok := d.Children[name]
	if !ok {
		return nil
	}
	delete(d.Children, name)
	n := t.nodes[ino]
	if n == nil {
		return nil
	}
	for i, nm := range n.Names {
		if nm.Parent == parent && nm.Name == name {
			n.Names = append(n.Names[:i:i], n.Names[i+1:]...)
			break
		}
	}
	if n.Kind == dbstore.KindDir {
		d.Subdirs--
	}
	if len(n.Names) == 0 && n.Ino != dbstore.RootIno {
		t.drop(n)
	}
	return n
}

// drop removes a node without names, keeping it while the kernel refers
// to it.
func (t *Tree) drop(n *Node) {
	delete(t.nodes, n.Ino)
	if n.lookups.Load() > 0 {
		n.gone = true
		t.gone[n.Ino] = n
	}
}

// Ref counts one more kernel reference (a lookup) to n. The caller holds
// the read lock.
func (n *Node) Ref() { n.lookups.Add(1) }

// AllFiles returns the content hashes of every file. Call with the read
// lock held.
func (t *Tree) AllFiles() [][]byte {
	out := make([][]byte, 0, len(t.nodes))
	for _, n := range t.nodes {
		if n.Kind == dbstore.KindFile && n.Size > 0 {
			out = append(out, n.Hash)
		}
	}
	return out
}
