package fusefs

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/gscluster/gscluster/dbstore"
	"github.com/gscluster/gscluster/internal/pathspec"
	"github.com/gscluster/gscluster/internal/replica"
)

// cacheTimeout is how long the kernel keeps entries and attributes. Changes
// made elsewhere are invalidated explicitly, so it can be long.
const cacheTimeout = time.Hour

// Options configure New.
type Options struct {
	Replica *replica.Replica
	// LocalDir holds the node-local paths, chosen by Local.
	LocalDir string
	Local    *pathspec.Matcher
	// RecoveryDir keeps the content of writes that could not be committed.
	RecoveryDir string
	// MaxFileSize bounds a file's size; a write beyond it fails with
	// EFBIG. 0: no limit.
	MaxFileSize int64
	ReadOnly    bool
	Logger      *slog.Logger
}

// FS is the FUSE file system of one node: the replica's tree for shared
// paths, a local directory for node-local ones. Node IDs are the database's
// inode numbers; node-local inodes get numbers from localBase up.
type FS struct {
	fuse.RawFileSystem
	r     *replica.Replica
	opt   Options
	log   *slog.Logger
	local *localFS

	srv   *fuse.Server
	inval workQueue[replica.Inval]
	push  pusher

	mu    sync.Mutex
	dirty map[int64]*spool
}

// New returns the file system; mount it with Mount.
func New(opt Options) (*FS, error) {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Local == nil {
		opt.Local, _ = pathspec.New()
	}
	lfs, err := newLocalFS(opt.LocalDir)
	if err != nil {
		return nil, err
	}
	f := &FS{RawFileSystem: fuse.NewDefaultRawFileSystem(), r: opt.Replica, opt: opt, log: opt.Logger,
		local: lfs, dirty: map[int64]*spool{}}
	f.inval.init()
	f.push.init()
	return f, nil
}

// String names the file system.
func (f *FS) String() string { return "gscluster" }

// Init is called by the server once the kernel has answered INIT.
func (f *FS) Init(s *fuse.Server) {
	f.srv = s
	go f.inval.run(func(iv replica.Inval) { sendInval(s, f.log, iv) })
	go f.push.run(f, s, f.log)
}

// OnUnmount stops the invalidation and push workers.
func (f *FS) OnUnmount() {
	f.inval.stop()
	f.push.stop()
}

// Invalidate queues kernel cache invalidations; the replica calls it for
// changes made elsewhere. It never blocks.
func (f *FS) Invalidate(inv []replica.Inval) { f.inval.add(inv...) }

// errno maps an error to the status the kernel gets, in one place: the
// sentinels of the packages below, then the error's own errno, then EIO
// (logged with its cause).
func (f *FS) errno(op string, err error) fuse.Status {
	if err == nil {
		return fuse.OK
	}
	var en syscall.Errno
	switch {
	case errors.Is(err, context.Canceled):
		return fuse.EINTR
	case errors.Is(err, replica.ErrReadOnly):
		return fuse.Status(syscall.EROFS)
	case errors.Is(err, dbstore.ErrNotFound):
		return fuse.ENOENT
	case errors.Is(err, dbstore.ErrExists):
		return fuse.Status(syscall.EEXIST)
	case errors.Is(err, dbstore.ErrNotEmpty):
		return fuse.Status(syscall.ENOTEMPTY)
	case errors.Is(err, dbstore.ErrNotDir):
		return fuse.ENOTDIR
	case errors.Is(err, dbstore.ErrIsDir):
		return fuse.Status(syscall.EISDIR)
	case errors.As(err, &en):
		// Before the fs sentinels: ENOTEMPTY "is" fs.ErrExist, EACCES
		// "is" fs.ErrPermission.
		return fuse.Status(en)
	case errors.Is(err, fs.ErrNotExist):
		return fuse.ENOENT
	case errors.Is(err, fs.ErrExist):
		return fuse.Status(syscall.EEXIST)
	case errors.Is(err, fs.ErrPermission):
		return fuse.EPERM
	}
	f.log.Error("filesystem operation failed", "op", op, "err", err)
	return fuse.EIO
}

// writable says why a change cannot be made now, if it cannot.
func (f *FS) writable() fuse.Status {
	if f.opt.ReadOnly {
		return fuse.Status(syscall.EROFS)
	}
	if f.r.ReadOnly() {
		return fuse.Status(syscall.EROFS)
	}
	return fuse.OK
}

// ctxOf is the context of an operation. It does not end when the kernel
// interrupts the request: a signal to the caller (Go's runtime sends them
// to preempt goroutines) must not abort a commit halfway; the operation
// finishes and the kernel drops the answer if the caller has gone.
func ctxOf(<-chan struct{}) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 2*time.Minute)
}

// fillAttr converts a node (and its spool, if it is being written) into
// the kernel's attributes.
func (f *FS) fillAttr(n *replica.Node, a *fuse.Attr) {
	a.Ino = uint64(n.Ino)
	a.Size = uint64(n.Size)
	mt := n.MtimeNs
	if sp := f.spoolOf(n.Ino); sp != nil {
		a.Size = uint64(sp.size.Load())
		mt = sp.mtimeNs.Load()
	}
	a.Blocks = (a.Size + 511) / 512
	a.Blksize = 4096
	a.Mtime, a.Mtimensec = uint64(mt/1e9), uint32(mt%1e9)
	a.Atime, a.Atimensec = a.Mtime, a.Mtimensec
	a.Ctime, a.Ctimensec = uint64(n.CtimeNs/1e9), uint32(n.CtimeNs%1e9)
	a.Mode = n.Mode & 07777
	switch n.Kind {
	case dbstore.KindDir:
		a.Mode |= syscall.S_IFDIR
	case dbstore.KindSymlink:
		a.Mode |= syscall.S_IFLNK
		a.Size = uint64(len(n.Target))
	default:
		a.Mode |= syscall.S_IFREG
	}
	a.Nlink = n.Nlink()
	a.Uid, a.Gid = n.UID, n.GID
}

// entry fills out for node n and counts the kernel's new reference.
func (f *FS) entry(n *replica.Node, out *fuse.EntryOut) {
	out.NodeId = uint64(n.Ino)
	out.Generation = 1
	out.SetEntryTimeout(cacheTimeout)
	out.SetAttrTimeout(cacheTimeout)
	f.fillAttr(n, &out.Attr)
	n.Ref()
}

// childPath is the path of name in directory dir, and whether it is
// node-local.
func (f *FS) childPath(dir int64, name string) (string, bool, fuse.Status) {
	if len(name) > 255 {
		return "", false, fuse.Status(syscall.ENAMETOOLONG)
	}
	f.r.RLock()
	p, ok := f.r.ChildPath(dir, name)
	f.r.RUnlock()
	if !ok {
		return "", false, fuse.ENOENT
	}
	return p, f.opt.Local.Local(p), fuse.OK
}

// Lookup finds name in a directory.
func (f *FS) Lookup(cancel <-chan struct{}, h *fuse.InHeader, name string, out *fuse.EntryOut) fuse.Status {
	if isLocalIno(h.NodeId) {
		return f.local.lookup(h.NodeId, name, out)
	}
	p, local, st := f.childPath(int64(h.NodeId), name)
	if !st.Ok() {
		return st
	}
	if local {
		return f.local.lookupPath(p, out)
	}
	f.r.RLock()
	defer f.r.RUnlock()
	n := f.r.Child(int64(h.NodeId), name)
	if n == nil {
		// A negative entry, cached until something creates the name.
		out.NodeId = 0
		out.SetEntryTimeout(cacheTimeout)
		return fuse.ENOENT
	}
	f.entry(n, out)
	f.offer(n)
	return fuse.OK
}

// offer queues a push of a small file's content into the kernel's page
// cache (see pusher).
func (f *FS) offer(n *replica.Node) {
	if n.Kind == dbstore.KindFile && n.Size > 0 && n.Size <= pushMax {
		f.push.offer(n.Ino)
	}
}

// Forget drops the kernel's references.
func (f *FS) Forget(nodeid, nlookup uint64) {
	if isLocalIno(nodeid) {
		return
	}
	if f.r.Forget(int64(nodeid), nlookup) {
		f.push.forget(int64(nodeid))
	}
}

// GetAttr returns the attributes of a node.
func (f *FS) GetAttr(cancel <-chan struct{}, in *fuse.GetAttrIn, out *fuse.AttrOut) fuse.Status {
	if isLocalIno(in.NodeId) {
		return f.local.getattr(in.NodeId, out)
	}
	f.r.RLock()
	defer f.r.RUnlock()
	n := f.r.Get(int64(in.NodeId))
	if n == nil {
		return fuse.ENOENT
	}
	f.fillAttr(n, &out.Attr)
	out.SetTimeout(cacheTimeout)
	return fuse.OK
}

// Open answers ENOSYS: the kernel then stops sending opens and keeps page
// caches across opens. Reads and writes come without a file handle, and a
// write is committed on the flush of every close.
func (f *FS) Open(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	return fuse.ENOSYS
}

// OpenDir answers ENOSYS as Open does; the kernel then caches listings.
func (f *FS) OpenDir(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	return fuse.ENOSYS
}

// ReleaseDir needs no work.
func (f *FS) ReleaseDir(in *fuse.ReleaseIn) {}

// Access defers to the kernel's permission checks (default_permissions).
func (f *FS) Access(cancel <-chan struct{}, in *fuse.AccessIn) fuse.Status {
	return fuse.ENOSYS
}

// StatFs reports the local disk that holds the caches, with 255-byte
// names.
func (f *FS) StatFs(cancel <-chan struct{}, h *fuse.InHeader, out *fuse.StatfsOut) fuse.Status {
	var st syscall.Statfs_t
	if err := syscall.Statfs(f.local.dir, &st); err != nil {
		return f.errno("statfs", err)
	}
	out.FromStatfsT(&st)
	out.NameLen = 255
	return fuse.OK
}

// Readlink returns a symlink's target.
func (f *FS) Readlink(cancel <-chan struct{}, h *fuse.InHeader) ([]byte, fuse.Status) {
	if isLocalIno(h.NodeId) {
		return f.local.readlink(h.NodeId)
	}
	f.r.RLock()
	defer f.r.RUnlock()
	n := f.r.Get(int64(h.NodeId))
	if n == nil {
		return nil, fuse.ENOENT
	}
	if n.Kind != dbstore.KindSymlink {
		return nil, fuse.EINVAL
	}
	return []byte(n.Target), fuse.OK
}

// ReadDir lists a directory.
func (f *FS) ReadDir(cancel <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	return f.readDir(in, out, false)
}

// ReadDirPlus lists a directory with each entry's attributes.
func (f *FS) ReadDirPlus(cancel <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	return f.readDir(in, out, true)
}

func (f *FS) readDir(in *fuse.ReadIn, out *fuse.DirEntryList, plus bool) fuse.Status {
	if isLocalIno(in.NodeId) {
		return f.local.readDir(in, out, plus)
	}
	dir := int64(in.NodeId)
	f.r.RLock()
	d := f.r.Get(dir)
	if d == nil || d.Kind != dbstore.KindDir {
		f.r.RUnlock()
		return fuse.ENOTDIR
	}
	list := f.r.List(dir)
	p, _ := f.r.Path(dir)
	f.r.RUnlock()
	type ent struct {
		name  string
		local bool
		ino   int64
		kind  dbstore.Kind
	}
	ents := make([]ent, 0, len(list)+2)
	for _, e := range list {
		ents = append(ents, ent{name: e.Name, ino: e.Ino, kind: e.Kind})
	}
	// Node-local names in this directory, if any.
	for _, name := range f.local.names(p) {
		if cp := join(p, name); f.opt.Local.Local(cp) {
			ents = append(ents, ent{name: name, local: true})
		}
	}
	all := append([]ent{{name: ".", ino: dir, kind: dbstore.KindDir}, {name: "..", ino: dir, kind: dbstore.KindDir}}, ents...)
	for i := int(in.Offset); i < len(all); i++ {
		e := all[i]
		de := fuse.DirEntry{Name: e.name, Ino: uint64(e.ino), Off: uint64(i + 1), Mode: kindMode(e.kind)}
		if e.local {
			var eo fuse.EntryOut
			if st := f.local.lookupPath(join(p, e.name), &eo); !st.Ok() {
				continue
			}
			de.Ino, de.Mode = eo.NodeId, eo.Attr.Mode&syscall.S_IFMT
			if !plus {
				f.local.forget(eo.NodeId)
				if !out.AddDirEntry(de) {
					break
				}
				continue
			}
			o := out.AddDirLookupEntry(de)
			if o == nil {
				break
			}
			*o = eo
			continue
		}
		if !plus {
			if !out.AddDirEntry(de) {
				break
			}
			continue
		}
		o := out.AddDirLookupEntry(de)
		if o == nil {
			break
		}
		if e.name == "." || e.name == ".." {
			continue // the kernel does not look these up
		}
		f.r.RLock()
		n := f.r.Get(e.ino)
		if n != nil {
			f.entry(n, o)
			f.offer(n)
		}
		f.r.RUnlock()
	}
	return fuse.OK
}

func kindMode(k dbstore.Kind) uint32 {
	switch k {
	case dbstore.KindDir:
		return syscall.S_IFDIR
	case dbstore.KindSymlink:
		return syscall.S_IFLNK
	}
	return syscall.S_IFREG
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// FsyncDir has nothing to do: every change is committed when made.
func (f *FS) FsyncDir(cancel <-chan struct{}, in *fuse.FsyncIn) fuse.Status { return fuse.OK }

// now is the time stamped on changes.
func now() int64 { return time.Now().UnixNano() }

var _ fuse.RawFileSystem = (*FS)(nil)

// osErr unwraps an *os.PathError's errno for errno().
func osErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
