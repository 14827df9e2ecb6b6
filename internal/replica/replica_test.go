package replica

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gscluster/gscluster/dbstore"
	"github.com/gscluster/gscluster/internal/pgtest"
)

// converge bounds how long a follower may take to apply a revision.
const converge = 5 * time.Second

// ---------------------------------------------------------------------
// Logging: slog into t.Log; warnings fail the test unless allowed.

type logSink struct {
	t       testing.TB
	mu      sync.Mutex
	done    bool
	msgs    []string // every message, "LEVEL msg"
	allowed []string // substrings of warnings a test expects
}

func newLogSink(t testing.TB) *logSink {
	s := &logSink{t: t}
	// Registered before any node, so it runs after they are closed.
	t.Cleanup(func() {
		s.mu.Lock()
		s.done = true
		msgs := append([]string(nil), s.msgs...)
		allowed := s.allowed
		s.mu.Unlock()
		for _, m := range msgs {
			if !strings.HasPrefix(m, "WARN ") && !strings.HasPrefix(m, "ERROR ") {
				continue
			}
			ok := false
			for _, a := range allowed {
				ok = ok || strings.Contains(m, a)
			}
			if !ok {
				t.Errorf("unexpected log message: %s", m)
			}
		}
	})
	return s
}

func (s *logSink) allow(substr string) {
	s.mu.Lock()
	s.allowed = append(s.allowed, substr)
	s.mu.Unlock()
}

// count returns how many messages contain substr.
func (s *logSink) count(substr string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, m := range s.msgs {
		if strings.Contains(m, substr) {
			n++
		}
	}
	return n
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.done {
		s.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

type recHandler struct {
	slog.Handler
	sink *logSink
}

func (h recHandler) Handle(ctx context.Context, r slog.Record) error {
	h.sink.mu.Lock()
	h.sink.msgs = append(h.sink.msgs, r.Level.String()+" "+r.Message)
	h.sink.mu.Unlock()
	return h.Handler.Handle(ctx, r)
}

func (h recHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return recHandler{h.Handler.WithAttrs(as), h.sink}
}

func (h recHandler) WithGroup(g string) slog.Handler {
	return recHandler{h.Handler.WithGroup(g), h.sink}
}

func (s *logSink) logger(node string) *slog.Logger {
	h := slog.NewTextHandler(s, &slog.HandlerOptions{Level: slog.LevelDebug})
	return slog.New(recHandler{h, s}).With("node", node)
}

// ---------------------------------------------------------------------
// Nodes: a replica with its invalidations and, optionally, its Run.

type node struct {
	*Replica
	name string
	t    *testing.T

	mu     sync.Mutex
	invals []Inval

	stopRun func()
	once    sync.Once
}

type nodeOpt struct {
	run  bool
	poll time.Duration
}

func openNode(t *testing.T, sink *logSink, dbURL, stateDir, name string, o nodeOpt) *node {
	t.Helper()
	n, err := tryOpenNode(t, sink, dbURL, stateDir, name, o)
	if err != nil {
		t.Fatalf("open replica %s: %v", name, err)
	}
	return n
}

func tryOpenNode(t *testing.T, sink *logSink, dbURL, stateDir, name string, o nodeOpt) (*node, error) {
	t.Helper()
	n := &node{name: name, t: t}
	if o.poll == 0 {
		o.poll = 100 * time.Millisecond
	}
	r, err := Open(context.Background(), dbURL, Options{
		StateDir: stateDir,
		Origin:   name,
		Logger:   sink.logger(name),
		Poll:     o.poll,
		Invalidate: func(inv []Inval) {
			n.mu.Lock()
			n.invals = append(n.invals, inv...)
			n.mu.Unlock()
		},
	})
	if err != nil {
		return nil, err
	}
	n.Replica = r
	n.stopRun = func() {}
	if o.run {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			r.Run(ctx)
		}()
		n.stopRun = func() {
			cancel()
			<-done
		}
	}
	t.Cleanup(n.close)
	return n, nil
}

// close stops Run and closes the replica (which saves it). Safe twice.
func (n *node) close() {
	n.once.Do(func() {
		n.stopRun()
		if err := n.Replica.Close(); err != nil {
			n.t.Errorf("close replica %s: %v", n.name, err)
		}
	})
}

// takeInvals returns and forgets the invalidations received so far.
func (n *node) takeInvals() []Inval {
	n.mu.Lock()
	defer n.mu.Unlock()
	inv := n.invals
	n.invals = nil
	return inv
}

func (n *node) peekInvals() []Inval {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]Inval(nil), n.invals...)
}

func openStore(t *testing.T, dbURL string) *dbstore.Store {
	t.Helper()
	s, err := dbstore.Open(context.Background(), dbURL, dbstore.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// ---------------------------------------------------------------------
// Operations, planned as fusefs plans them (ops.go, write.go), by path.

func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

func hashOf(content string) []byte {
	sum := sha256.Sum256([]byte(content))
	return sum[:]
}

// create commits a new directory, file (with content, in Blobs) or
// symlink at p, as addNode and the first flush of a new file do.
func create(ctx context.Context, r *Replica, p string, kind dbstore.Kind, mode uint32, content string) (int64, error) {
	ino, err := r.NextIno(ctx)
	if err != nil {
		return 0, err
	}
	ts := time.Now().UnixNano()
	err = r.Commit(ctx, func(t *Tree) (*Change, error) {
		dir, name := splitPath(p)
		parent := t.Resolve(dir)
		if parent == nil || parent.Kind != dbstore.KindDir {
			return nil, fmt.Errorf("create %s: %w", p, dbstore.ErrNotFound)
		}
		if t.Child(parent.Ino, name) != nil {
			return nil, fmt.Errorf("create %s: %w", p, dbstore.ErrExists)
		}
		e := dbstore.Entry{Ino: ino, Kind: kind, Mode: mode, MtimeNs: ts, CtimeNs: ts, Nlink: 1}
		ch := &Change{Summary: "create " + p}
		m := &ch.Mutation
		switch kind {
		case dbstore.KindDir:
			e.Nlink = 2
		case dbstore.KindFile:
			e.Hash, e.Size = hashOf(content), int64(len(content))
			m.Blobs = []dbstore.Blob{{Hash: e.Hash, Size: e.Size, Data: []byte(content)}}
		case dbstore.KindSymlink:
			e.Target, e.Size = content, int64(len(content))
		}
		m.Inodes = []dbstore.Entry{e}
		m.Link = []dbstore.Dentry{{Parent: parent.Ino, Name: name, Ino: ino}}
		m.Changes = []dbstore.ChangeEntry{{Path: p, Op: dbstore.OpCreate, Entry: e}}
		t.TouchDir(m, parent.Ino, ts)
		return ch, nil
	})
	return ino, err
}

// write commits new content for the file at p, as contentChange does.
func write(ctx context.Context, r *Replica, p, content string) error {
	hash := hashOf(content)
	ts := time.Now().UnixNano()
	return r.Commit(ctx, func(t *Tree) (*Change, error) {
		n := t.Resolve(p)
		if n == nil || n.Kind != dbstore.KindFile {
			return nil, fmt.Errorf("write %s: %w", p, dbstore.ErrNotFound)
		}
		e := n.Entry()
		e.Hash, e.Size, e.MtimeNs, e.CtimeNs = hash, int64(len(content)), ts, ts
		op := dbstore.OpModify
		if string(n.Hash) == string(hash) {
			op = dbstore.OpMeta
		}
		ch := &Change{Summary: "write " + p}
		ch.Mutation.Inodes = []dbstore.Entry{e}
		ch.Mutation.Blobs = []dbstore.Blob{{Hash: hash, Size: e.Size, Data: []byte(content)}}
		ch.Mutation.Changes = []dbstore.ChangeEntry{{Path: p, Op: op, Entry: e, OldHash: n.Hash}}
		return ch, nil
	})
}

// remove commits the removal of the name p (an empty directory, or one
// name of a file), as fusefs's remove does.
func remove(ctx context.Context, r *Replica, p string) error {
	ts := time.Now().UnixNano()
	return r.Commit(ctx, func(t *Tree) (*Change, error) {
		dirP, name := splitPath(p)
		d := t.Resolve(dirP)
		if d == nil {
			return nil, fmt.Errorf("remove %s: %w", p, dbstore.ErrNotFound)
		}
		n := t.Child(d.Ino, name)
		switch {
		case n == nil:
			return nil, fmt.Errorf("remove %s: %w", p, dbstore.ErrNotFound)
		case n.Kind == dbstore.KindDir && len(n.Children) > 0:
			return nil, fmt.Errorf("remove %s: %w", p, dbstore.ErrNotEmpty)
		}
		return t.Remove(d.Ino, name, ts), nil
	})
}

// link commits a new name newP for the file at oldP, as fusefs's Link.
func link(ctx context.Context, r *Replica, oldP, newP string) error {
	ts := time.Now().UnixNano()
	return r.Commit(ctx, func(t *Tree) (*Change, error) {
		n := t.Resolve(oldP)
		dirP, name := splitPath(newP)
		d := t.Resolve(dirP)
		switch {
		case n == nil || d == nil:
			return nil, fmt.Errorf("link %s: %w", newP, dbstore.ErrNotFound)
		case n.Kind == dbstore.KindDir:
			return nil, fmt.Errorf("link %s: %w", newP, dbstore.ErrIsDir)
		case t.Child(d.Ino, name) != nil:
			return nil, fmt.Errorf("link %s: %w", newP, dbstore.ErrExists)
		}
		e := n.Entry()
		e.Nlink++
		e.CtimeNs = ts
		ch := &Change{Summary: "link " + newP}
		m := &ch.Mutation
		m.Inodes = []dbstore.Entry{e}
		m.Link = []dbstore.Dentry{{Parent: d.Ino, Name: name, Ino: n.Ino}}
		m.Changes = []dbstore.ChangeEntry{{Path: newP, Op: dbstore.OpCreate, Entry: e}}
		t.TouchDir(m, d.Ino, ts)
		return ch, nil
	})
}

// rename commits a rename, replacing what newP named, with the checks
// fusefs makes (as errors of dbstore) and the change it builds.
func rename(ctx context.Context, r *Replica, oldP, newP string) error {
	ts := time.Now().UnixNano()
	return r.Commit(ctx, func(t *Tree) (*Change, error) {
		odP, on := splitPath(oldP)
		ndP, nn := splitPath(newP)
		odN, ndN := t.Resolve(odP), t.Resolve(ndP)
		if odN == nil || ndN == nil {
			return nil, fmt.Errorf("rename %s: %w", oldP, dbstore.ErrNotFound)
		}
		od, nd := odN.Ino, ndN.Ino
		src, dst := t.Child(od, on), t.Child(nd, nn)
		switch {
		case src == nil:
			return nil, fmt.Errorf("rename %s: %w", oldP, dbstore.ErrNotFound)
		case dst != nil && dst.Ino == src.Ino:
			return nil, nil
		case dst != nil && (src.Kind == dbstore.KindDir) != (dst.Kind == dbstore.KindDir):
			return nil, fmt.Errorf("rename %s to %s: %w", oldP, newP, dbstore.ErrInvalid)
		case dst != nil && dst.Kind == dbstore.KindDir && len(dst.Children) > 0:
			return nil, fmt.Errorf("rename %s to %s: %w", oldP, newP, dbstore.ErrNotEmpty)
		}
		return t.Move(od, on, nd, nn, ts), nil
	})
}

// setXattr sets (or with value nil removes) an extended attribute, as
// fusefs's changeXattr does.
func setXattr(ctx context.Context, r *Replica, p, attr string, value []byte) error {
	ts := time.Now().UnixNano()
	return r.Commit(ctx, func(t *Tree) (*Change, error) {
		n := t.Resolve(p)
		if n == nil {
			return nil, fmt.Errorf("set extended attribute of %s: %w", p, dbstore.ErrNotFound)
		}
		e := n.Entry()
		e.CtimeNs = ts
		ch := &Change{Summary: "set extended attribute of " + p}
		m := &ch.Mutation
		m.Inodes = []dbstore.Entry{e}
		x := dbstore.Xattr{Ino: n.Ino, Name: attr, Value: value}
		if value == nil {
			m.DelXattrs = []dbstore.Xattr{x}
		} else {
			m.SetXattrs = []dbstore.Xattr{x}
		}
		m.Changes = []dbstore.ChangeEntry{{Path: p, Op: dbstore.OpMeta, Entry: e}}
		return ch, nil
	})
}

// setAttr changes the mode and mtime of p, as fusefs's SetAttr does.
func setAttr(ctx context.Context, r *Replica, p string, mode uint32, mtimeNs int64) error {
	ts := time.Now().UnixNano()
	return r.Commit(ctx, func(t *Tree) (*Change, error) {
		n := t.Resolve(p)
		if n == nil {
			return nil, fmt.Errorf("change attributes of %s: %w", p, dbstore.ErrNotFound)
		}
		e := n.Entry()
		e.Mode, e.MtimeNs, e.CtimeNs = mode, mtimeNs, ts
		ch := &Change{Summary: "change attributes of " + p}
		ch.Mutation.Inodes = []dbstore.Entry{e}
		ch.Mutation.Changes = []dbstore.ChangeEntry{{Path: p, Op: dbstore.OpMeta, Entry: e}}
		return ch, nil
	})
}

// ---------------------------------------------------------------------
// Tree states, from a replica or from the database.

type entryState struct {
	Ino     int64
	Kind    dbstore.Kind
	Mode    uint32
	Size    int64
	MtimeNs int64
	Hash    string
	Target  string
	Nlink   uint32
}

func (e entryState) String() string {
	s := fmt.Sprintf("{ino %d %s mode %o size %d mtime %d nlink %d", e.Ino, e.Kind, e.Mode, e.Size, e.MtimeNs, e.Nlink)
	if e.Hash != "" {
		s += " hash " + e.Hash[:12]
	}
	if e.Target != "" {
		s += " target " + e.Target
	}
	return s + "}"
}

type treeState struct {
	Rev     int64
	Entries map[string]entryState
	Xattrs  map[string]string // by path, for names with extended attributes
	// Problems are internal inconsistencies of the replica.
	Problems []string
}

func xattrString(xs map[string][]byte) string {
	keys := make([]string, 0, len(xs))
	for k := range xs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q;", k, xs[k])
	}
	return b.String()
}

// replicaState walks the replica's tree from the root and checks that its
// bookkeeping (names, subdirectory counts, unreachable nodes) is right.
func replicaState(r *Replica) treeState {
	r.RLock()
	defer r.RUnlock()
	st := treeState{Rev: r.applied, Entries: map[string]entryState{}, Xattrs: map[string]string{}}
	seen := map[int64][]Name{}
	add := func(p string, n *Node) {
		h := ""
		if n.Kind == dbstore.KindFile {
			h = hex.EncodeToString(n.Hash)
		}
		st.Entries[p] = entryState{Ino: n.Ino, Kind: n.Kind, Mode: n.Mode, Size: n.Size, MtimeNs: n.MtimeNs,
			Hash: h, Target: n.Target, Nlink: n.Nlink()}
		if len(n.Xattrs) > 0 {
			st.Xattrs[p] = xattrString(n.Xattrs)
		}
	}
	root := r.Get(dbstore.RootIno)
	if root == nil {
		st.Problems = append(st.Problems, "no root")
		return st
	}
	add("", root)
	var walk func(d *Node, prefix string, depth int)
	walk = func(d *Node, prefix string, depth int) {
		if depth > 100 {
			st.Problems = append(st.Problems, "a cycle at "+prefix)
			return
		}
		subdirs := 0
		for _, de := range r.List(d.Ino) {
			n := r.Get(de.Ino)
			p := joinPath(prefix, de.Name)
			if n.Ino != de.Ino {
				st.Problems = append(st.Problems, fmt.Sprintf("%s: node %d filed under inode %d", p, n.Ino, de.Ino))
			}
			add(p, n)
			seen[n.Ino] = append(seen[n.Ino], Name{d.Ino, de.Name})
			if n.Kind == dbstore.KindDir {
				subdirs++
				walk(n, p, depth+1)
			}
		}
		if len(d.Children) != len(r.List(d.Ino)) {
			st.Problems = append(st.Problems, fmt.Sprintf("%q: %d children name missing nodes", prefix, len(d.Children)-len(r.List(d.Ino))))
		}
		if d.Subdirs != subdirs {
			st.Problems = append(st.Problems, fmt.Sprintf("%q: Subdirs %d, has %d subdirectories", prefix, d.Subdirs, subdirs))
		}
	}
	walk(root, "", 0)
	key := func(ns []Name) string {
		s := make([]string, len(ns))
		for i, n := range ns {
			s[i] = fmt.Sprintf("%d/%s", n.Parent, n.Name)
		}
		sort.Strings(s)
		return strings.Join(s, ",")
	}
	for ino, names := range seen {
		if n := r.Get(ino); key(n.Names) != key(names) {
			st.Problems = append(st.Problems, fmt.Sprintf("inode %d has Names %s, is found at %s", ino, key(n.Names), key(names)))
		}
	}
	for ino := range r.nodes {
		if ino != dbstore.RootIno && seen[ino] == nil {
			st.Problems = append(st.Problems, fmt.Sprintf("inode %d is in the tree but unreachable", ino))
		}
	}
	sort.Strings(st.Problems)
	return st
}

// dbState reads the current tree and extended attributes from the
// database. A directory's link count is counted from the tree (the nlink
// column of a directory is not kept up to date by dbstore); a file's is the
// column, which must match its names.
func dbState(t *testing.T, s *dbstore.Store) treeState {
	t.Helper()
	ctx := context.Background()
	tr, err := s.Tree(ctx, 0, "")
	if err != nil {
		t.Fatalf("read the database's tree: %v", err)
	}
	xs, err := s.Xattrs(ctx, nil)
	if err != nil {
		t.Fatalf("read the database's extended attributes: %v", err)
	}
	st := treeState{Rev: tr.Rev, Entries: map[string]entryState{}, Xattrs: map[string]string{}}
	subdirs := map[string]uint32{}
	names := map[int64]int32{}
	for _, e := range tr.Entries {
		if e.Path != "" && e.Kind == dbstore.KindDir {
			dir, _ := splitPath(e.Path)
			subdirs[dir]++
		}
		names[e.Ino]++
	}
	byIno := map[int64]map[string][]byte{}
	for _, x := range xs {
		if byIno[x.Ino] == nil {
			byIno[x.Ino] = map[string][]byte{}
		}
		byIno[x.Ino][x.Name] = x.Value
	}
	for _, e := range tr.Entries {
		h := ""
		if e.Kind == dbstore.KindFile {
			h = hex.EncodeToString(e.Hash)
		}
		nlink := uint32(e.Nlink)
		if e.Kind == dbstore.KindDir {
			nlink = 2 + subdirs[e.Path]
		} else if e.Nlink != names[e.Ino] {
			st.Problems = append(st.Problems, fmt.Sprintf("%s: nlink column %d, has %d names", e.Path, e.Nlink, names[e.Ino]))
		}
		st.Entries[e.Path] = entryState{Ino: e.Ino, Kind: e.Kind, Mode: e.Mode, Size: e.Size, MtimeNs: e.MtimeNs,
			Hash: h, Target: e.Target, Nlink: nlink}
		if x := byIno[e.Ino]; len(x) > 0 {
			st.Xattrs[e.Path] = xattrString(x)
		}
	}
	sort.Strings(st.Problems)
	return st
}

// diffEntries lists how two trees differ in names and attributes.
func diffEntries(aName string, a treeState, bName string, b treeState) []string {
	var out []string
	if a.Rev != b.Rev {
		out = append(out, fmt.Sprintf("revision: %s %d, %s %d", aName, a.Rev, bName, b.Rev))
	}
	for _, p := range unionKeys(a.Entries, b.Entries) {
		ea, oka := a.Entries[p]
		eb, okb := b.Entries[p]
		switch {
		case !okb:
			out = append(out, fmt.Sprintf("%q only in %s: %v", p, aName, ea))
		case !oka:
			out = append(out, fmt.Sprintf("%q only in %s: %v", p, bName, eb))
		case ea != eb:
			out = append(out, fmt.Sprintf("%q: %s %v, %s %v", p, aName, ea, bName, eb))
		}
	}
	for _, p := range a.Problems {
		out = append(out, aName+": "+p)
	}
	for _, p := range b.Problems {
		out = append(out, bName+": "+p)
	}
	return out
}

// unionKeys lists the keys of a and b, sorted.
func unionKeys[V any](a, b map[string]V) []string {
	keys := slices.Collect(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func diffXattrs(aName string, a treeState, bName string, b treeState) []string {
	var out []string
	for _, p := range unionKeys(a.Xattrs, b.Xattrs) {
		if a.Xattrs[p] != b.Xattrs[p] {
			out = append(out, fmt.Sprintf("%q extended attributes: %s {%s}, %s {%s}", p, aName, a.Xattrs[p], bName, b.Xattrs[p]))
		}
	}
	return out
}

// eventually polls cond until it holds or d passes; it then reports
// cond's last explanation.
func eventually(d time.Duration, cond func() (bool, string)) (bool, string) {
	deadline := time.Now().Add(d)
	for {
		ok, why := cond()
		if ok || time.Now().After(deadline) {
			return ok, why
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// matchesDB checks that the replica equals the database now: names and
// attributes fatally, extended attributes with an error.
func matchesDB(t *testing.T, what string, r *node, s *dbstore.Store) {
	t.Helper()
	db := dbState(t, s)
	st := replicaState(r.Replica)
	if d := diffEntries(r.name, st, "database", db); len(d) > 0 {
		t.Fatalf("%s: replica %s differs from the database:\n  %s", what, r.name, strings.Join(d, "\n  "))
	}
	if d := diffXattrs(r.name, st, "database", db); len(d) > 0 {
		t.Errorf("%s: replica %s differs from the database:\n  %s", what, r.name, strings.Join(d, "\n  "))
	}
}

// converges waits until the follower equals the database (names and
// attributes), then checks its extended attributes.
func converges(t *testing.T, what string, r *node, s *dbstore.Store) {
	t.Helper()
	var db treeState
	ok, why := eventually(converge, func() (bool, string) {
		db = dbState(t, s)
		d := diffEntries(r.name, replicaState(r.Replica), "database", db)
		return len(d) == 0, strings.Join(d, "\n  ")
	})
	if !ok {
		t.Fatalf("%s: replica %s did not converge to the database within %v:\n  %s", what, r.name, converge, why)
	}
	if d := diffXattrs(r.name, replicaState(r.Replica), "database", db); len(d) > 0 {
		t.Errorf("%s: replica %s converged but its extended attributes differ:\n  %s", what, r.name, strings.Join(d, "\n  "))
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// ---------------------------------------------------------------------
// 1. A follower converges step by step and invalidates what it touched.

func TestFollowerConverges(t *testing.T) {
	ctx := context.Background()
	sink := newLogSink(t)
	dbURL := pgtest.NewDB(t)
	s := openStore(t, dbURL)
	a := openNode(t, sink, dbURL, t.TempDir(), "a", nodeOpt{})
	b := openNode(t, sink, dbURL, t.TempDir(), "b", nodeOpt{run: true})

	// entry and content name the invalidations B must send, from A's
	// tree after the step (the parent directories still exist there).
	entry := func(p string) Inval {
		dir, name := splitPath(p)
		a.RLock()
		defer a.RUnlock()
		d := a.Resolve(dir)
		if d == nil {
			t.Fatalf("no directory %q in a", dir)
		}
		return Inval{Kind: InvalEntry, Parent: d.Ino, Name: name}
	}
	content := func(p string) Inval {
		a.RLock()
		defer a.RUnlock()
		n := a.Resolve(p)
		if n == nil {
			t.Fatalf("no %q in a", p)
		}
		return Inval{Kind: InvalContent, Ino: n.Ino}
	}
	step := func(what string, do func() error, want func() []Inval) {
		t.Helper()
		b.takeInvals()
		must(t, what, do())
		matchesDB(t, what, a, s)
		converges(t, what, b, s)
		if d := diffEntries("a", replicaState(a.Replica), "b", replicaState(b.Replica)); len(d) > 0 {
			t.Fatalf("%s: a and b differ:\n  %s", what, strings.Join(d, "\n  "))
		}
		if want == nil {
			return
		}
		w := want()
		ok, _ := eventually(converge, func() (bool, string) {
			return len(missingInvals(b.peekInvals(), w)) == 0, ""
		})
		if !ok {
			t.Errorf("%s: b's invalidations %v lack %v", what, b.peekInvals(), missingInvals(b.peekInvals(), w))
		}
	}
	mk := func(p string, kind dbstore.Kind, mode uint32, content string) func() error {
		return func() error {
			_, err := create(ctx, a.Replica, p, kind, mode, content)
			return err
		}
	}
	entries := func(ps ...string) func() []Inval {
		return func() []Inval {
			var out []Inval
			for _, p := range ps {
				out = append(out, entry(p))
			}
			return out
		}
	}

	step("mkdir a", mk("a", dbstore.KindDir, 0o755, ""), entries("a"))
	step("mkdir a/b", mk("a/b", dbstore.KindDir, 0o750, ""), entries("a/b"))
	step("mkdir a/b/c", mk("a/b/c", dbstore.KindDir, 0o755, ""), entries("a/b/c"))
	step("create a/b/f1", mk("a/b/f1", dbstore.KindFile, 0o644, "one"), entries("a/b/f1"))
	step("create a/b/c/g", mk("a/b/c/g", dbstore.KindFile, 0o644, "gee"), entries("a/b/c/g"))
	step("create a/f2", mk("a/f2", dbstore.KindFile, 0o600, "two"), entries("a/f2"))
	step("create a/old", mk("a/old", dbstore.KindFile, 0o644, "old content"), entries("a/old"))
	step("create top", mk("top", dbstore.KindFile, 0o644, "top"), entries("top"))
	step("create empty file", mk("nothing", dbstore.KindFile, 0o644, ""), entries("nothing"))
	step("symlink ln", mk("ln", dbstore.KindSymlink, 0o777, "a/f2"), entries("ln"))
	step("mkdir empty", mk("empty", dbstore.KindDir, 0o755, ""), entries("empty"))
	step("mkdir dst", mk("dst", dbstore.KindDir, 0o755, ""), entries("dst"))

	step("write a/f2", func() error { return write(ctx, a.Replica, "a/f2", "two, second version") },
		func() []Inval { return []Inval{content("a/f2")} })
	step("rename a/f2 over a/old", func() error { return rename(ctx, a.Replica, "a/f2", "a/old") },
		entries("a/f2", "a/old"))
	step("rename a/b to dst/b2", func() error { return rename(ctx, a.Replica, "a/b", "dst/b2") },
		entries("a/b", "dst/b2"))
	step("link top to a/top-link", func() error { return link(ctx, a.Replica, "top", "a/top-link") },
		entries("a/top-link"))
	step("link dst/b2/f1 to f1-link", func() error { return link(ctx, a.Replica, "dst/b2/f1", "f1-link") },
		entries("f1-link"))
	// A directory with a hard-linked file in it moves again.
	step("rename dst/b2 to b3", func() error { return rename(ctx, a.Replica, "dst/b2", "b3") },
		entries("dst/b2", "b3"))
	step("unlink top", func() error { return remove(ctx, a.Replica, "top") }, entries("top"))
	step("write b3/f1 (hard-linked)", func() error { return write(ctx, a.Replica, "b3/f1", "one, second version") },
		func() []Inval { return []Inval{content("f1-link")} })
	step("rmdir empty", func() error { return remove(ctx, a.Replica, "empty") }, entries("empty"))
	step("set xattr", func() error { return setXattr(ctx, a.Replica, "a/top-link", "user.k", []byte("v1")) }, nil)
	step("replace xattr", func() error { return setXattr(ctx, a.Replica, "a/top-link", "user.k", []byte("v2")) }, nil)
	step("remove xattr", func() error { return setXattr(ctx, a.Replica, "a/top-link", "user.k", nil) }, nil)
	step("chmod and mtime of a file", func() error { return setAttr(ctx, a.Replica, "a/top-link", 0o600, 1234567890) }, nil)
	step("chmod and mtime of a directory", func() error { return setAttr(ctx, a.Replica, "dst", 0o700, 42) }, nil)
	step("chmod root", func() error { return setAttr(ctx, a.Replica, "", 0o711, 7) }, nil)
	step("rename a file over a hard-linked one", func() error { return rename(ctx, a.Replica, "nothing", "f1-link") },
		entries("nothing", "f1-link"))
	step("unlink last name", func() error { return remove(ctx, a.Replica, "b3/f1") }, entries("b3/f1"))

	// B's content cache fetches what A wrote.
	b.RLock()
	n := b.Resolve("a/old")
	hash := n.Hash
	b.RUnlock()
	p, err := b.Cache.Fetch(ctx, b.Store(), hash)
	must(t, "fetch a/old into b's cache", err)
	if got, _ := os.ReadFile(p); string(got) != "two, second version" {
		t.Errorf("b's cached a/old = %q, want %q", got, "two, second version")
	}
}

// missingInvals returns the entries of want not in got.
func missingInvals(got, want []Inval) []Inval {
	have := map[Inval]bool{}
	for _, g := range got {
		have[g] = true
	}
	var out []Inval
	for _, w := range want {
		if !have[w] {
			out = append(out, w)
		}
	}
	return out
}

// A follower that read a node's extended attributes when it loaded the
// tree keeps them when the node is renamed, alone or inside a directory.
func TestFollowerKeepsXattrsAcrossRename(t *testing.T) {
	ctx := context.Background()
	sink := newLogSink(t)
	dbURL := pgtest.NewDB(t)
	s := openStore(t, dbURL)
	a := openNode(t, sink, dbURL, t.TempDir(), "a", nodeOpt{})
	_, err := create(ctx, a.Replica, "f", dbstore.KindFile, 0o644, "f")
	must(t, "create f", err)
	_, err = create(ctx, a.Replica, "d", dbstore.KindDir, 0o755, "")
	must(t, "mkdir d", err)
	_, err = create(ctx, a.Replica, "d/g", dbstore.KindFile, 0o644, "g")
	must(t, "create d/g", err)
	must(t, "set xattr of f", setXattr(ctx, a.Replica, "f", "user.f", []byte("1")))
	must(t, "set xattr of d", setXattr(ctx, a.Replica, "d", "user.d", []byte("2")))
	must(t, "set xattr of d/g", setXattr(ctx, a.Replica, "d/g", "user.g", []byte("3")))

	// c loads the whole tree, extended attributes included.
	c := openNode(t, sink, dbURL, t.TempDir(), "c", nodeOpt{run: true})
	matchesDB(t, "open c", c, s)

	must(t, "rename f to f2", rename(ctx, a.Replica, "f", "f2"))
	must(t, "rename d to e", rename(ctx, a.Replica, "d", "e"))
	matchesDB(t, "renames", a, s)
	converges(t, "renames", c, s)
}

// ---------------------------------------------------------------------
// 2. Concurrent commits from two replicas all land.

func TestConcurrentCommits(t *testing.T) {
	ctx := context.Background()
	sink := newLogSink(t)
	dbURL := pgtest.NewDB(t)
	s := openStore(t, dbURL)
	a := openNode(t, sink, dbURL, t.TempDir(), "a", nodeOpt{run: true})
	b := openNode(t, sink, dbURL, t.TempDir(), "b", nodeOpt{run: true})
	_, err := create(ctx, a.Replica, "c", dbstore.KindDir, 0o755, "")
	must(t, "mkdir c", err)
	converges(t, "mkdir c", b, s)

	const goroutines, each = 3, 8
	want := map[string]string{}
	var wg sync.WaitGroup
	errs := make(chan error, 2*goroutines*each*2)
	for _, n := range []*node{a, b} {
		for g := range goroutines {
			for i := range each {
				p := fmt.Sprintf("c/%s-%d-%d", n.name, g, i)
				want[p] = fmt.Sprintf("%s, %d, %d", n.name, g, i)
				if i%2 == 0 {
					want[p] += ", rewritten"
				}
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					p := fmt.Sprintf("c/%s-%d-%d", n.name, g, i)
					content := fmt.Sprintf("%s, %d, %d", n.name, g, i)
					if _, err := create(ctx, n.Replica, p, dbstore.KindFile, 0o644, content); err != nil {
						errs <- fmt.Errorf("create %s on %s: %w", p, n.name, err)
						continue
					}
					if i%2 == 0 {
						if err := write(ctx, n.Replica, p, content+", rewritten"); err != nil {
							errs <- fmt.Errorf("write %s on %s: %w", p, n.name, err)
						}
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	converges(t, "concurrent commits", a, s)
	converges(t, "concurrent commits", b, s)
	db := dbState(t, s)
	for p, c := range want {
		e, ok := db.Entries[p]
		if !ok || e.Hash != hex.EncodeToString(hashOf(c)) {
			t.Errorf("%s in the database: %v, want content %q", p, e, c)
		}
	}
	if n := len(db.Entries); n != 2+len(want) {
		t.Errorf("the database has %d entries, want %d", n, 2+len(want))
	}
	// Every commit is one revision: mkdir, each create and each write.
	if wantRev := int64(1 + len(want) + len(want)/2); db.Rev != wantRev {
		t.Errorf("head revision %d, want %d", db.Rev, wantRev)
	}
}

// ---------------------------------------------------------------------
// 3. Snapshots.

func TestSnapshot(t *testing.T) {
	ctx := context.Background()
	sink := newLogSink(t)
	dbURL := pgtest.NewDB(t)
	s := openStore(t, dbURL)
	dirA, dirB := t.TempDir(), t.TempDir()
	const reload = "reading the whole tree"
	// A first revision before A opens: the database's identity includes
	// its time (see TestSnapshotOfNewDatabase).
	seed(t, s, "seed", 1)

	a := openNode(t, sink, dbURL, dirA, "a", nodeOpt{})
	for _, p := range []string{"ws", "empty", "ws/sub"} {
		_, err := create(ctx, a.Replica, p, dbstore.KindDir, 0o755, "")
		must(t, "mkdir "+p, err)
	}
	for _, p := range []string{"ws/x.xml", "ws/sub/y.xml", "f"} {
		_, err := create(ctx, a.Replica, p, dbstore.KindFile, 0o644, "<"+p+"/>")
		must(t, "create "+p, err)
	}
	must(t, "link", link(ctx, a.Replica, "f", "ws/f"))
	must(t, "set xattr", setXattr(ctx, a.Replica, "f", "user.x", []byte("y")))
	matchesDB(t, "before the save", a, s)
	saved := replicaState(a.Replica)
	must(t, "save", a.Save())
	if _, err := os.Stat(filepath.Join(dirA, "replica.gob")); err != nil {
		t.Fatalf("no snapshot after Save: %v", err)
	}
	a.close()

	// The same database: the snapshot is used as it is.
	reloads := sink.count(reload)
	a2 := openNode(t, sink, dbURL, dirA, "a2", nodeOpt{})
	if d := append(diffEntries("saved", saved, "reopened", replicaState(a2.Replica)),
		diffXattrs("saved", saved, "reopened", replicaState(a2.Replica))...); len(d) > 0 {
		t.Fatalf("reopened replica differs from the saved one:\n  %s", strings.Join(d, "\n  "))
	}
	if a2.Applied() != saved.Rev {
		t.Errorf("reopened replica applied %d, saved %d", a2.Applied(), saved.Rev)
	}
	if n := sink.count(reload); n != reloads {
		t.Errorf("the reopened replica read the whole tree instead of using the snapshot")
	}
	// The loaded tree takes changes, including in a directory that was
	// empty when saved.
	_, err := create(ctx, a2.Replica, "empty/new", dbstore.KindFile, 0o644, "new")
	must(t, "create in a directory that was empty when saved", err)
	must(t, "rename after reopening", rename(ctx, a2.Replica, "ws/sub", "sub"))
	matchesDB(t, "commits after reopening", a2, s)
	a2.close()

	// Commits made elsewhere while A is closed are caught up on reopening.
	b := openNode(t, sink, dbURL, dirB, "b", nodeOpt{})
	_, err = create(ctx, b.Replica, "ws/z.xml", dbstore.KindFile, 0o644, "<z/>")
	must(t, "create on b", err)
	must(t, "write on b", write(ctx, b.Replica, "ws/x.xml", "<x version='2'/>"))
	must(t, "rename on b", rename(ctx, b.Replica, "sub", "ws/sub2"))
	must(t, "unlink on b", remove(ctx, b.Replica, "f"))
	_, err = create(ctx, b.Replica, "empty/d", dbstore.KindDir, 0o755, "")
	must(t, "mkdir on b", err)
	b.close()

	reloads = sink.count(reload)
	a3 := openNode(t, sink, dbURL, dirA, "a3", nodeOpt{})
	matchesDB(t, "reopen after commits elsewhere", a3, s)
	if n := sink.count(reload); n != reloads {
		t.Errorf("the replica read the whole tree instead of catching up from the snapshot")
	}
	a3.close()

	// Another database (as many revisions or more, other content): the
	// snapshot must not be used.
	otherURL := pgtest.NewDB(t)
	other := openStore(t, otherURL)
	head, err := s.Head(ctx)
	must(t, "read the head revision", err)
	seed(t, other, "o", int(head)+5)
	reloads = sink.count(reload)
	a4 := openNode(t, sink, otherURL, dirA, "a4", nodeOpt{})
	if n := sink.count(reload); n != reloads+1 {
		t.Errorf("against another database the replica did not say it reads the whole tree")
	}
	matchesDB(t, "reopen against another database", a4, other)
}

// seed commits n files named prefix0, prefix1... one revision each,
// through dbstore's path interface.
func seed(t *testing.T, s *dbstore.Store, prefix string, n int) {
	t.Helper()
	for i := range n {
		_, err := s.Write(context.Background(), "seed", "seed", func(ctx context.Context, tx *dbstore.Tx) error {
			c := fmt.Sprintf("%s %d", prefix, i)
			if err := tx.PutBlob(ctx, dbstore.Blob{Hash: hashOf(c), Size: int64(len(c)), Data: []byte(c)}); err != nil {
				return err
			}
			return tx.Put(ctx, dbstore.Entry{Path: fmt.Sprintf("%s%d", prefix, i), Kind: dbstore.KindFile, Mode: 0o644,
				Size: int64(len(c)), MtimeNs: 1, Hash: hashOf(c)})
		})
		must(t, "seed the database", err)
	}
}

// A replica first opened on a new, empty database (as a node mounting a
// database before anything is imported) uses its snapshot on reopening.
func TestSnapshotOfNewDatabase(t *testing.T) {
	ctx := context.Background()
	sink := newLogSink(t)
	dbURL := pgtest.NewDB(t)
	dir := t.TempDir()
	a := openNode(t, sink, dbURL, dir, "a", nodeOpt{})
	_, err := create(ctx, a.Replica, "f", dbstore.KindFile, 0o644, "f")
	must(t, "create f", err)
	saved := replicaState(a.Replica)
	a.close()

	a2 := openNode(t, sink, dbURL, dir, "a2", nodeOpt{})
	if n := sink.count("reading the whole tree"); n != 0 {
		t.Errorf("the reopened replica read the whole tree instead of using its snapshot of the same database")
	}
	if d := diffEntries("saved", saved, "reopened", replicaState(a2.Replica)); len(d) > 0 {
		t.Errorf("reopened replica differs from the saved one:\n  %s", strings.Join(d, "\n  "))
	}
}

// ---------------------------------------------------------------------
// 4. An unreachable database with a saved snapshot: read-only.

// closedPort returns an address on which nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func withHost(t *testing.T, dbURL, hostport string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = hostport
	q := u.Query()
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()
	return u.String()
}

func TestUnreachableReadOnly(t *testing.T) {
	ctx := context.Background()
	sink := newLogSink(t)
	dbURL := pgtest.NewDB(t)
	dir := t.TempDir()
	a := openNode(t, sink, dbURL, dir, "a", nodeOpt{})
	_, err := create(ctx, a.Replica, "d", dbstore.KindDir, 0o755, "")
	must(t, "mkdir d", err)
	_, err = create(ctx, a.Replica, "d/f", dbstore.KindFile, 0o644, "f")
	must(t, "create d/f", err)
	must(t, "set xattr", setXattr(ctx, a.Replica, "d/f", "user.k", []byte("v")))
	saved := replicaState(a.Replica)
	must(t, "save", a.Save())
	a.close()

	down := withHost(t, dbURL, closedPort(t))
	sink.allow("serving the saved replica read-only")

	// Without a snapshot there is nothing to serve.
	_, err = tryOpenNode(t, sink, down, t.TempDir(), "empty", nodeOpt{})
	if !errors.Is(err, dbstore.ErrUnavailable) {
		t.Errorf("open without a snapshot against a closed port: %v, want ErrUnavailable", err)
	}

	ro, err := tryOpenNode(t, sink, down, dir, "ro", nodeOpt{})
	if err != nil {
		t.Fatalf("open with a snapshot against a closed port: %v, want the saved replica", err)
	}
	if !ro.ReadOnly() {
		t.Errorf("ReadOnly() = false against a closed port")
	}
	st := replicaState(ro.Replica)
	if d := append(diffEntries("saved", saved, "read-only", st), diffXattrs("saved", saved, "read-only", st)...); len(d) > 0 {
		t.Errorf("read-only replica differs from the saved one:\n  %s", strings.Join(d, "\n  "))
	}
	if _, err := create(ctx, ro.Replica, "g", dbstore.KindFile, 0o644, "g"); !errors.Is(err, ErrReadOnly) {
		t.Errorf("create while read-only: %v, want ErrReadOnly", err)
	}
	err = ro.Commit(ctx, func(*Tree) (*Change, error) {
		t.Error("Commit planned while read-only")
		return nil, nil
	})
	if !errors.Is(err, ErrReadOnly) {
		t.Errorf("Commit while read-only: %v, want ErrReadOnly", err)
	}
	// Reads still work, contents included where cached.
	ro.RLock()
	n := ro.Resolve("d/f")
	ro.RUnlock()
	if n == nil || n.Xattrs["user.k"] == nil {
		t.Fatalf("d/f or its extended attribute missing from the read-only replica")
	}
	if _, err := ro.Cache.Fetch(ctx, ro.Store(), n.Hash); !errors.Is(err, dbstore.ErrUnavailable) {
		t.Errorf("fetch of uncached content while read-only: %v, want ErrUnavailable", err)
	}
}

// ---------------------------------------------------------------------
// 5. After an outage, Run reconnects and catches up.

// proxy forwards TCP connections to the database and can be cut.
type proxy struct {
	t      *testing.T
	addr   string
	target string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func (p *proxy) up() {
	p.t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("proxy: listen again on %s: %v", p.addr, err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[d] = true, true
			p.mu.Unlock()
			for _, pair := range [][2]net.Conn{{c, d}, {d, c}} {
				p.wg.Add(1)
				go func() {
					defer p.wg.Done()
					io.Copy(pair[0], pair[1]) //nolint:errcheck
					pair[0].Close()
					pair[1].Close()
				}()
			}
		}
	}()
}

func (p *proxy) down() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
	p.mu.Unlock()
	p.wg.Wait()
}

func TestReconnectAfterOutage(t *testing.T) {
	ctx := context.Background()
	sink := newLogSink(t)
	dbURL := pgtest.NewDB(t)
	s := openStore(t, dbURL)
	u, _ := url.Parse(dbURL)
	p := &proxy{t: t, addr: closedPort(t), target: u.Host, conns: map[net.Conn]bool{}}
	p.up()
	t.Cleanup(p.down)
	viaProxy := withHost(t, dbURL, p.addr)
	dir := t.TempDir()

	a := openNode(t, sink, viaProxy, dir, "a", nodeOpt{})
	_, err := create(ctx, a.Replica, "f", dbstore.KindFile, 0o644, "f")
	must(t, "create f", err)
	a.close()

	p.down()
	sink.allow("serving the saved replica read-only")
	sink.allow("the database is unreachable")
	a2 := openNode(t, sink, viaProxy, dir, "a2", nodeOpt{run: true, poll: 50 * time.Millisecond})
	if !a2.ReadOnly() {
		t.Fatalf("ReadOnly() = false while the proxy is down")
	}
	b := openNode(t, sink, dbURL, t.TempDir(), "b", nodeOpt{})
	_, err = create(ctx, b.Replica, "g", dbstore.KindFile, 0o644, "g")
	must(t, "create g on b", err)
	must(t, "write f on b", write(ctx, b.Replica, "f", "f2"))

	p.up()
	ok, _ := eventually(converge, func() (bool, string) { return !a2.ReadOnly(), "" })
	if !ok {
		t.Fatalf("the replica stayed read-only %v after the database returned", converge)
	}
	converges(t, "after the outage", a2, s)
	_, err = create(ctx, a2.Replica, "h", dbstore.KindFile, 0o644, "h")
	must(t, "create after the outage", err)
	matchesDB(t, "commit after the outage", a2, s)
}

// ---------------------------------------------------------------------
// Saving while commits change the tree must not race with them.

func TestSaveWhileCommitting(t *testing.T) {
	ctx := context.Background()
	sink := newLogSink(t)
	dbURL := pgtest.NewDB(t)
	a := openNode(t, sink, dbURL, t.TempDir(), "a", nodeOpt{})
	_, err := create(ctx, a.Replica, "f", dbstore.KindFile, 0o644, "f")
	must(t, "create f", err)
	must(t, "set xattr", setXattr(ctx, a.Replica, "f", "user.k0", []byte("0")))

	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if err := a.Save(); err != nil {
				done <- err
				return
			}
		}
	}()
	for i := range 40 {
		must(t, "set xattr", setXattr(ctx, a.Replica, "f", fmt.Sprintf("user.k%d", i%5), []byte(fmt.Sprint(i))))
	}
	close(stop)
	must(t, "save", <-done)
}

// ---------------------------------------------------------------------
// A replica that commits while another commits without pause still gets
// its commits in: Commit's catch-up and retry must make progress.

func TestCommitNotStarved(t *testing.T) {
	ctx := context.Background()
	sink := newLogSink(t)
	dbURL := pgtest.NewDB(t)
	s := openStore(t, dbURL)
	b := openNode(t, sink, dbURL, t.TempDir(), "b", nodeOpt{run: true})
	// Two busy writers, each on its own replica, commit without pause.
	var writers []*node
	for _, name := range []string{"a", "c"} {
		n := openNode(t, sink, dbURL, t.TempDir(), name, nodeOpt{})
		_, err := create(ctx, n.Replica, name, dbstore.KindFile, 0o644, "0")
		must(t, "create "+name, err)
		writers = append(writers, n)
	}
	stop := make(chan struct{})
	var busy []chan error
	for _, n := range writers {
		name := n.name
		done := make(chan error, 1)
		busy = append(busy, done)
		go func() {
			for i := 1; ; i++ {
				select {
				case <-stop:
					done <- nil
					return
				default:
				}
				if err := write(ctx, n.Replica, name, fmt.Sprint(i)); err != nil {
					done <- fmt.Errorf("write %s on %s: %w", name, name, err)
					return
				}
			}
		}()
	}
	var errs []error
	for i := range 10 {
		if _, err := create(ctx, b.Replica, fmt.Sprintf("b%d", i), dbstore.KindFile, 0o644, "b"); err != nil {
			errs = append(errs, fmt.Errorf("create b%d on b while a and c commit: %w", i, err))
		}
	}
	close(stop)
	for _, done := range busy {
		if err := <-done; err != nil {
			errs = append(errs, err)
		}
	}
	for _, err := range errs {
		t.Error(err)
	}
	if len(errs) > 0 {
		sink.allow("follow the database")
	}
	converges(t, "after the race", b, s)
}

// ---------------------------------------------------------------------
// A node the kernel still refers to survives the loss of its last name,
// and is the same node when a rename elsewhere moves it.

func TestFollowerKeepsReferencedNodes(t *testing.T) {
	ctx := context.Background()
	sink := newLogSink(t)
	dbURL := pgtest.NewDB(t)
	s := openStore(t, dbURL)
	a := openNode(t, sink, dbURL, t.TempDir(), "a", nodeOpt{})
	b := openNode(t, sink, dbURL, t.TempDir(), "b", nodeOpt{run: true})
	ino, err := create(ctx, a.Replica, "f", dbstore.KindFile, 0o644, "f")
	must(t, "create f", err)
	converges(t, "create f", b, s)

	b.RLock()
	before := b.Get(ino)
	b.RUnlock()
	b.Ref(ino) // the kernel looked it up

	must(t, "rename f to g", rename(ctx, a.Replica, "f", "g"))
	converges(t, "rename f to g", b, s)
	b.RLock()
	after := b.Get(ino)
	b.RUnlock()
	if after != before {
		t.Errorf("the follower made a new node for inode %d on its rename: the kernel's reference count is lost", ino)
	}

	must(t, "remove g", remove(ctx, a.Replica, "g"))
	converges(t, "remove g", b, s)
	b.RLock()
	gone := b.Get(ino)
	b.RUnlock()
	if gone == nil {
		t.Fatalf("inode %d vanished from the follower while the kernel refers to it", ino)
	}
	b.Forget(ino, 1)
	b.RLock()
	gone = b.Get(ino)
	b.RUnlock()
	if gone != nil {
		t.Errorf("inode %d is kept after the kernel forgot it", ino)
	}
}
