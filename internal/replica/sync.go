package replica

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gscluster/gscluster/dbstore"
)

// Options configure Open.
type Options struct {
	// StateDir holds the saved replica, the content cache and the spool.
	StateDir string
	// Origin names this node in the revisions it commits.
	Origin string
	Logger *slog.Logger
	// Invalidate receives, outside every lock, what changes made elsewhere
	// touched. It must not block for long.
	Invalidate func([]Inval)
	// Poll is the slow poll that backs LISTEN/NOTIFY. Default 5 s.
	Poll time.Duration
}

// InvalKind says what a kernel cache invalidation drops.
type InvalKind int

// The invalidations.
const (
	InvalEntry   InvalKind = iota // the name Name in directory Parent
	InvalAttr                     // the attributes of Ino
	InvalContent                  // the pages (and attributes) of Ino
)

// Inval is one kernel cache invalidation.
type Inval struct {
	Kind   InvalKind
	Parent int64
	Name   string
	Ino    int64
}

// ErrReadOnly is returned by Commit while the database cannot be reached.
var ErrReadOnly = errors.New("the database is unreachable: the mount is read-only until it returns")

// Replica is a node's tree, kept in step with the database.
type Replica struct {
	*Tree
	Cache *Cache
	opt   Options
	log   *slog.Logger
	url   string

	store    atomic.Pointer[dbstore.Store]
	commitMu sync.Mutex // one writer: commits and catch-up
	identity string
	inos     []int64 // reserved inode numbers, under commitMu
	down     atomic.Bool
	kick     chan struct{}
	saveMu   sync.Mutex
}

// Open loads the saved replica from the state directory and brings it up
// to date from the database at url. If the database cannot be reached but
// a saved replica exists, the replica serves it read-only and keeps trying
// in the background (see Run).
func Open(ctx context.Context, url string, opt Options) (*Replica, error) {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Poll == 0 {
		opt.Poll = 5 * time.Second
	}
	if opt.Invalidate == nil {
		opt.Invalidate = func([]Inval) {}
	}
	cache, err := newCache(filepath.Join(opt.StateDir, "cache"))
	if err != nil {
		return nil, err
	}
	r := &Replica{Tree: newTree(), Cache: cache, opt: opt, log: opt.Logger, url: url, kick: make(chan struct{}, 1)}
	saved, err := r.loadSnapshot()
	if err != nil {
		r.log.Warn("ignoring the saved replica", "err", err)
	}
	if err := r.connect(ctx, saved); err != nil {
		if saved == nil || !errors.Is(err, dbstore.ErrUnavailable) {
			return nil, err
		}
		r.log.Warn("serving the saved replica read-only until the database returns", "rev", r.applied, "err", err)
		r.down.Store(true)
	}
	return r, nil
}

// connect opens the database and brings the tree up to date: from the
// saved replica if it belongs to this database, else by reading the whole
// tree.
func (r *Replica) connect(ctx context.Context, saved *snapshot) error {
	s, err := dbstore.Open(ctx, r.url, dbstore.Options{Logger: r.log})
	if err != nil {
		return err
	}
	id, err := s.Identity(ctx)
	if err != nil {
		s.Close()
		return err
	}
	head, err := s.Head(ctx)
	if err != nil {
		s.Close()
		return err
	}
	r.commitMu.Lock()
	defer r.commitMu.Unlock()
	if saved != nil && saved.Identity == id && saved.Applied <= head && head-saved.Applied < 50000 {
		r.identity = id
		r.store.Store(s)
		return r.catchUpLocked(ctx)
	}
	if saved != nil && r.store.Load() == nil {
		r.log.Info("the saved replica is of another database or too old: reading the whole tree")
	}
	if err := r.loadAll(ctx, s); err != nil {
		s.Close()
		return err
	}
	r.identity = id
	r.store.Store(s)
	return nil
}

// loadAll replaces the tree with the database's current one.
func (r *Replica) loadAll(ctx context.Context, s *dbstore.Store) error {
	tr, err := s.Tree(ctx, 0, "")
	if err != nil {
		return err
	}
	xs, err := s.Xattrs(ctx, nil)
	if err != nil {
		return err
	}
	t := newTree()
	dirs := map[string]int64{"": dbstore.RootIno}
	for _, e := range tr.Entries {
		if e.Path == "" {
			root := t.nodes[dbstore.RootIno]
			setAttrs(root, e)
			continue
		}
		dir, name := splitPath(e.Path)
		parent, ok := dirs[dir]
		if !ok {
			continue
		}
		n := t.nodes[e.Ino]
		if n == nil {
			n = &Node{Ino: e.Ino, Kind: e.Kind}
			setAttrs(n, e)
			if e.Kind == dbstore.KindDir {
				n.Children = map[string]int64{}
			}
		}
		if err := t.link(parent, name, n); err != nil {
			continue
		}
		if e.Kind == dbstore.KindDir {
			dirs[e.Path] = e.Ino
		}
	}
	for _, x := range xs {
		if n := t.nodes[x.Ino]; n != nil {
			if n.Xattrs == nil {
				n.Xattrs = map[string][]byte{}
			}
			n.Xattrs[x.Name] = x.Value
		}
	}
	r.mu.Lock()
	r.nodes, r.gone, r.applied, r.changed = t.nodes, map[int64]*Node{}, tr.Rev, true
	r.mu.Unlock()
	return nil
}

func setAttrs(n *Node, e dbstore.Entry) {
	n.Kind, n.Mode, n.UID, n.GID, n.Size = e.Kind, e.Mode, e.UID, e.GID, e.Size
	n.MtimeNs, n.Hash, n.Target, n.Rev = e.MtimeNs, e.Hash, e.Target, e.Rev
	n.CtimeNs = e.CtimeNs
	if n.CtimeNs == 0 {
		n.CtimeNs = e.MtimeNs
	}
}

func splitPath(p string) (dir, name string) {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[:i], p[i+1:]
		}
	}
	return "", p
}

// Store is the database, or nil while it has never been reached.
func (r *Replica) Store() *dbstore.Store { return r.store.Load() }

// ReadOnly tells whether writes are refused because the database is down.
func (r *Replica) ReadOnly() bool { return r.down.Load() || r.store.Load() == nil }

// Close saves the replica and closes the database.
func (r *Replica) Close() error {
	err := r.Save()
	if s := r.store.Load(); s != nil {
		s.Close()
	}
	return err
}

// Run follows the database until ctx ends: it listens for revisions,
// polls slowly in case a notification is lost, catches up, reconnects
// after an outage and saves the replica now and then.
func (r *Replica) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			s := r.store.Load()
			if s == nil || r.down.Load() {
				sleep(ctx, time.Second)
				continue
			}
			r.Kick() // catch up on what came before LISTEN
			if err := s.Listen(ctx, func(rev int64) {
				if rev > r.Applied() { // not one of this node's own commits
					r.Kick()
				}
			}); err != nil {
				r.noteErr(err)
				sleep(ctx, time.Second)
			}
		}
	}()
	poll := time.NewTicker(r.opt.Poll)
	defer poll.Stop()
	save := time.NewTicker(10 * time.Second)
	defer save.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
		case <-poll.C:
		case <-save.C:
			if err := r.Save(); err != nil {
				r.log.Warn("save the replica", "err", err)
			}
			continue
		}
		if r.store.Load() == nil {
			if err := r.connect(ctx, r.currentSnapshot()); err != nil {
				r.noteErr(err)
				continue
			}
		}
		r.commitMu.Lock()
		err := r.catchUpLocked(ctx)
		r.commitMu.Unlock()
		r.noteErr(err)
	}
}

// Kick asks Run to catch up now.
func (r *Replica) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// noteErr tracks whether the database is reachable, saying so once per
// outage.
func (r *Replica) noteErr(err error) {
	switch {
	case err == nil:
		if r.down.Swap(false) {
			r.log.Info("the database is back: the mount is writable again", "rev", r.Applied())
		}
	case errors.Is(err, dbstore.ErrUnavailable):
		if !r.down.Swap(true) {
			r.log.Warn("the database is unreachable: the mount is read-only until it returns", "err", err)
		}
	case errors.Is(err, context.Canceled):
	default:
		r.log.Error("follow the database", "err", err)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// catchUpLocked applies every revision after the applied one. The caller
// holds commitMu.
func (r *Replica) catchUpLocked(ctx context.Context) error {
	s := r.store.Load()
	if s == nil {
		return fmt.Errorf("catch up: %w", dbstore.ErrUnavailable)
	}
	inv, err := r.applyFrom(ctx, s, r.Applied(), nil)
	if err != nil {
		return err
	}
	if len(inv) > 0 {
		r.opt.Invalidate(inv)
	}
	r.refreshIdentity(ctx, s)
	return nil
}

// applyFrom reads the revisions after rev with the extended attributes of
// the inodes they touch and applies them; if then is set, it runs under
// the write lock after them. It returns the invalidations to send.
func (r *Replica) applyFrom(ctx context.Context, s *dbstore.Store, rev int64, then func()) ([]Inval, error) {
	changes, err := s.Changed(ctx, rev)
	if err != nil {
		return nil, err
	}
	var inos []int64
	seen := map[int64]bool{}
	for _, c := range changes {
		if c.Op != dbstore.OpDelete && !seen[c.Entry.Ino] {
			seen[c.Entry.Ino] = true
			inos = append(inos, c.Entry.Ino)
		}
	}
	xattrs := map[int64]map[string][]byte{}
	if len(inos) > 0 {
		xs, err := s.Xattrs(ctx, inos)
		if err != nil {
			return nil, err
		}
		for _, x := range xs {
			if xattrs[x.Ino] == nil {
				xattrs[x.Ino] = map[string][]byte{}
			}
			xattrs[x.Ino][x.Name] = x.Value
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var inv []Inval
	if len(changes) > 0 {
		r.limbo = map[int64]*Node{}
		for _, c := range changes {
			inv = r.applyChange(c, inv)
		}
		r.limbo = nil
		for _, ino := range inos {
			if n := r.Get(ino); n != nil {
				n.Xattrs = xattrs[ino]
			}
		}
		r.applied = changes[len(changes)-1].Rev
		r.changed = true
	}
	if then != nil {
		then()
	}
	return inv, nil
}

// applyChange applies one change-log row made elsewhere, with the write
// lock held, and adds the invalidations it needs.
func (r *Replica) applyChange(c dbstore.ChangeEntry, inv []Inval) []Inval {
	t := r.Tree
	if c.Path == "" {
		root := t.nodes[dbstore.RootIno]
		setAttrs(root, c.Entry)
		root.CtimeNs = c.At.UnixNano()
		return append(inv, Inval{Kind: InvalAttr, Ino: dbstore.RootIno})
	}
	dir, name := splitPath(c.Path)
	d := t.Resolve(dir)
	if d == nil || d.Kind != dbstore.KindDir {
		r.log.Warn("a change names a path under a missing directory: skipped", "rev", c.Rev, "path", c.Path)
		return inv
	}
	old := t.Child(d.Ino, name)
	if c.Op == dbstore.OpDelete {
		if old != nil {
			inv = r.removeName(d.Ino, name, inv)
		}
		return inv
	}
	if old != nil && old.Ino != c.Entry.Ino {
		inv = r.removeName(d.Ino, name, inv)
		old = nil
	}
	n := t.nodes[c.Entry.Ino]
	if n == nil {
		n = t.gone[c.Entry.Ino]
	}
	if n == nil {
		n = r.limbo[c.Entry.Ino] // moved: removed from its old path earlier in the batch
	}
	if n == nil {
		n = &Node{Ino: c.Entry.Ino}
	}
	contentChanged := n.Kind == dbstore.KindFile && string(n.Hash) != string(c.Entry.Hash) || n.Target != c.Entry.Target
	setAttrs(n, c.Entry)
	n.CtimeNs = c.At.UnixNano()
	n.Pending = false
	if n.Kind == dbstore.KindDir && n.Children == nil {
		n.Children = map[string]int64{}
	}
	if old == nil {
		if err := t.link(d.Ino, name, n); err != nil {
			return inv
		}
		inv = append(inv, Inval{Kind: InvalEntry, Parent: d.Ino, Name: name}, Inval{Kind: InvalContent, Ino: d.Ino})
	}
	if contentChanged {
		return append(inv, Inval{Kind: InvalContent, Ino: n.Ino})
	}
	return append(inv, Inval{Kind: InvalAttr, Ino: n.Ino})
}

// removeName unlinks a name and, for a directory, everything below it.
func (r *Replica) removeName(parent int64, name string, inv []Inval) []Inval {
	t := r.Tree
	if c := t.Child(parent, name); c != nil && c.Kind == dbstore.KindDir && len(c.Names) == 1 {
		for child := range c.Children {
			inv = r.removeName(c.Ino, child, inv)
		}
	}
	n := t.unlink(parent, name)
	inv = append(inv, Inval{Kind: InvalEntry, Parent: parent, Name: name}, Inval{Kind: InvalContent, Ino: parent})
	if n != nil && len(n.Names) == 0 && r.limbo != nil {
		r.limbo[n.Ino] = n
	}
	if n != nil {
		inv = append(inv, Inval{Kind: InvalAttr, Ino: n.Ino})
	}
	return inv
}

// Change is what one of the node's own operations commits.
type Change struct {
	Summary  string
	Mutation dbstore.Mutation
	// Upload, if set, stores content in the transaction first.
	Upload func(ctx context.Context, tx *dbstore.Tx) error
}

var errBehind = errors.New("behind the database")

// Commit plans a change against the up-to-date tree (plan runs under the
// read lock and must not change the tree), commits it as one revision and
// applies it to memory. A plan error is returned as it is, with nothing
// committed.
func (r *Replica) Commit(ctx context.Context, plan func(t *Tree) (*Change, error)) error {
	r.commitMu.Lock()
	defer r.commitMu.Unlock()
	s := r.store.Load()
	if s == nil || r.down.Load() {
		return ErrReadOnly
	}
	errPlan := errors.New("plan failed")
	for attempt := 0; ; attempt++ {
		r.mu.RLock()
		ch, err := plan(r.Tree)
		applied := r.applied
		r.mu.RUnlock()
		if err != nil || ch == nil {
			return err
		}
		var planErr error
		var inv []Inval
		rev, err := s.Write(ctx, r.opt.Origin, ch.Summary, func(ctx context.Context, tx *dbstore.Tx) error {
			if tx.Rev()-1 != applied {
				// This transaction holds the head row: nobody else commits
				// until it ends, so what is read now is everything before
				// it, and the plan made after it is current.
				var err error
				inv, err = r.applyFrom(ctx, s, applied, func() {
					applied = r.applied
					ch, planErr = plan(r.Tree)
				})
				if err != nil {
					return err
				}
				if planErr != nil || ch == nil {
					return errPlan
				}
				if tx.Rev()-1 != applied {
					return errBehind
				}
			}
			if ch.Upload != nil {
				if err := ch.Upload(ctx, tx); err != nil {
					return err
				}
			}
			return tx.Apply(ctx, &ch.Mutation)
		})
		if len(inv) > 0 {
			r.opt.Invalidate(inv)
		}
		if errors.Is(err, errPlan) {
			return planErr
		}
		if errors.Is(err, errBehind) && attempt < 10 {
			if err := r.catchUpLocked(ctx); err != nil {
				r.noteErr(err)
				return err
			}
			continue
		}
		if err != nil {
			r.noteErr(err)
			return err
		}
		r.mu.Lock()
		r.applyMutation(&ch.Mutation, rev)
		r.applied = rev
		r.changed = true
		r.mu.Unlock()
		r.refreshIdentity(ctx, s)
		return nil
	}
}

// refreshIdentity renames the database once it has its first revision:
// an identity taken while it had none would not match it any more, and
// the saved replica would be thrown away on the next start.
func (r *Replica) refreshIdentity(ctx context.Context, s *dbstore.Store) {
	r.mu.RLock()
	stale := strings.HasSuffix(r.identity, "/-") && r.applied > 0
	r.mu.RUnlock()
	if !stale {
		return
	}
	if id, err := s.Identity(ctx); err == nil {
		r.mu.Lock()
		r.identity = id
		r.mu.Unlock()
	}
}

// NextIno returns an inode number reserved for this node. It needs the
// database only when the reserve runs out.
func (r *Replica) NextIno(ctx context.Context) (int64, error) {
	r.commitMu.Lock()
	defer r.commitMu.Unlock()
	if len(r.inos) == 0 {
		s := r.store.Load()
		if s == nil || r.down.Load() {
			return 0, ErrReadOnly
		}
		inos, err := s.NextInos(ctx, 256)
		if err != nil {
			r.noteErr(err)
			return 0, err
		}
		r.inos = inos
	}
	ino := r.inos[0]
	r.inos = r.inos[1:]
	return ino, nil
}

// AddPending puts a file created on this node, not yet committed, in the
// tree.
func (r *Replica) AddPending(parent int64, name string, n *Node) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t := r.Tree; t.Child(parent, name) != nil {
		return os.ErrExist
	}
	n.Pending = true
	return r.link(parent, name, n)
}

// DropPending removes a pending file's name.
func (r *Replica) DropPending(parent int64, name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.Child(parent, name); c != nil && c.Pending {
		r.unlink(parent, name)
	}
}

// Update changes a node in memory only, under the write lock (for state
// that is not committed yet, such as a pending file's size).
func (r *Replica) Update(ino int64, fn func(n *Node)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := r.Get(ino); n != nil {
		fn(n)
	}
}

// applyMutation applies the node's own committed rows to memory.
func (r *Replica) applyMutation(m *dbstore.Mutation, rev int64) {
	t := r.Tree
	limbo := map[int64]*Node{}
	find := func(ino int64) *Node {
		if n := t.nodes[ino]; n != nil {
			return n
		}
		if n := limbo[ino]; n != nil {
			return n
		}
		return t.gone[ino]
	}
	for _, d := range m.Unlink {
		if n := t.unlink(d.Parent, d.Name); n != nil && len(n.Names) == 0 {
			limbo[n.Ino] = n
		}
	}
	for _, e := range m.Inodes {
		n := find(e.Ino)
		if n == nil {
			n = &Node{Ino: e.Ino}
			limbo[e.Ino] = n
		}
		setAttrs(n, e)
		n.Rev = rev
		n.Pending = false
		if n.Kind == dbstore.KindDir && n.Children == nil {
			n.Children = map[string]int64{}
		}
		if e.Ino == dbstore.RootIno {
			t.nodes[e.Ino] = n
		}
	}
	for _, d := range m.Link {
		if n := find(d.Ino); n != nil {
			if c := t.Child(d.Parent, d.Name); c != nil {
				if c == n {
					continue
				}
				t.unlink(d.Parent, d.Name)
			}
			t.link(d.Parent, d.Name, n) //nolint:errcheck // the parent is in the tree: the plan saw it
			delete(limbo, d.Ino)
		}
	}
	for _, ino := range m.DropInodes {
		if n := t.nodes[ino]; n != nil && len(n.Names) == 0 {
			t.drop(n)
		}
	}
	for _, x := range m.SetXattrs {
		if n := find(x.Ino); n != nil {
			if n.Xattrs == nil {
				n.Xattrs = map[string][]byte{}
			}
			n.Xattrs[x.Name] = x.Value
		}
	}
	for _, x := range m.DelXattrs {
		if n := find(x.Ino); n != nil {
			delete(n.Xattrs, x.Name)
		}
	}
}
