package fusefs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// localBase is the first node ID of node-local inodes; the database's
// inode numbers stay far below it.
const localBase = 1 << 62

func isLocalIno(id uint64) bool { return id >= localBase }

// localFS serves node-local paths (logs, temp, the tile cache...) from a
// directory on local disk, by path: a node ID stands for a path under it.
type localFS struct {
	dir string

	mu    sync.Mutex
	next  uint64
	paths map[uint64]string // node ID -> path relative to dir
	ids   map[string]uint64
}

func newLocalFS(dir string) (*localFS, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &localFS{dir: dir, next: localBase, paths: map[uint64]string{}, ids: map[string]uint64{}}, nil
}

func (l *localFS) abs(rel string) string { return filepath.Join(l.dir, filepath.FromSlash(rel)) }

func (l *localFS) id(rel string) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if id, ok := l.ids[rel]; ok {
		return id
	}
	l.next++
	l.paths[l.next], l.ids[rel] = rel, l.next
	return l.next
}

func (l *localFS) path(id uint64) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, ok := l.paths[id]
	return p, ok
}

// forget is a no-op: local paths keep their IDs for the mount's life, so
// a path always maps to one node.
func (l *localFS) forget(uint64) {}

// moved renames the IDs of a path and everything below it.
func (l *localFS) moved(from, to string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for rel, id := range l.ids {
		if rel == from || strings.HasPrefix(rel, from+"/") {
			nrel := to + rel[len(from):]
			delete(l.ids, rel)
			l.ids[nrel], l.paths[id] = id, nrel
		}
	}
}

// names lists the node-local names in the directory rel (shared or local).
func (l *localFS) names(rel string) []string {
	ents, err := os.ReadDir(l.abs(rel))
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(ents))
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func errnoOf(err error) fuse.Status {
	if err == nil {
		return fuse.OK
	}
	return fuse.ToStatus(osErr(err))
}

func (l *localFS) statOut(rel string, out *fuse.EntryOut) fuse.Status {
	var st syscall.Stat_t
	if err := syscall.Lstat(l.abs(rel), &st); err != nil {
		return errnoOf(err)
	}
	out.Attr.FromStat(&st)
	out.NodeId = l.id(rel)
	out.Attr.Ino = out.NodeId
	out.Generation = 1
	out.SetEntryTimeout(cacheTimeout)
	out.SetAttrTimeout(cacheTimeout)
	return fuse.OK
}

func (l *localFS) lookupPath(rel string, out *fuse.EntryOut) fuse.Status {
	return l.statOut(rel, out)
}

func (l *localFS) child(dir uint64, name string) (string, fuse.Status) {
	if len(name) > 255 {
		return "", fuse.Status(syscall.ENAMETOOLONG)
	}
	p, ok := l.path(dir)
	if !ok {
		return "", fuse.ENOENT
	}
	return join(p, name), fuse.OK
}

func (l *localFS) lookup(dir uint64, name string, out *fuse.EntryOut) fuse.Status {
	p, st := l.child(dir, name)
	if !st.Ok() {
		return st
	}
	return l.statOut(p, out)
}

func (l *localFS) getattr(id uint64, out *fuse.AttrOut) fuse.Status {
	p, ok := l.path(id)
	if !ok {
		return fuse.ENOENT
	}
	var st syscall.Stat_t
	if err := syscall.Lstat(l.abs(p), &st); err != nil {
		return errnoOf(err)
	}
	out.Attr.FromStat(&st)
	out.Attr.Ino = id
	out.SetTimeout(cacheTimeout)
	return fuse.OK
}

// ensureParent makes the directories of a node-local path that lie in
// shared directories.
func (l *localFS) ensureParent(rel string) error {
	return os.MkdirAll(filepath.Dir(l.abs(rel)), 0o755)
}

func (l *localFS) chown(p string, h *fuse.InHeader) {
	os.Lchown(p, int(h.Uid), int(h.Gid)) //nolint:errcheck // as root only; otherwise the daemon's user owns it
}

func (l *localFS) createPath(rel string, in *fuse.CreateIn, out *fuse.CreateOut) fuse.Status {
	if err := l.ensureParent(rel); err != nil {
		return errnoOf(err)
	}
	fd, err := syscall.Open(l.abs(rel), int(in.Flags)|syscall.O_CREAT, in.Mode&07777&^in.Umask)
	if err != nil {
		return errnoOf(err)
	}
	syscall.Close(fd)
	l.chown(l.abs(rel), &in.InHeader)
	out.OpenFlags = fuse.FOPEN_KEEP_CACHE
	return l.statOut(rel, &out.EntryOut)
}

func (l *localFS) create(in *fuse.CreateIn, name string, out *fuse.CreateOut) fuse.Status {
	p, st := l.child(in.NodeId, name)
	if !st.Ok() {
		return st
	}
	return l.createPath(p, in, out)
}

func (l *localFS) mkdirPath(rel string, in *fuse.MkdirIn, out *fuse.EntryOut) fuse.Status {
	if err := l.ensureParent(rel); err != nil {
		return errnoOf(err)
	}
	if err := syscall.Mkdir(l.abs(rel), in.Mode&07777&^in.Umask); err != nil {
		return errnoOf(err)
	}
	l.chown(l.abs(rel), &in.InHeader)
	return l.statOut(rel, out)
}

func (l *localFS) mkdir(in *fuse.MkdirIn, name string, out *fuse.EntryOut) fuse.Status {
	p, st := l.child(in.NodeId, name)
	if !st.Ok() {
		return st
	}
	return l.mkdirPath(p, in, out)
}

func (l *localFS) mknodPath(rel string, in *fuse.MknodIn, out *fuse.EntryOut) fuse.Status {
	if err := l.ensureParent(rel); err != nil {
		return errnoOf(err)
	}
	if err := syscall.Mknod(l.abs(rel), in.Mode&^in.Umask, int(in.Rdev)); err != nil {
		return errnoOf(err)
	}
	l.chown(l.abs(rel), &in.InHeader)
	return l.statOut(rel, out)
}

func (l *localFS) mknod(in *fuse.MknodIn, name string, out *fuse.EntryOut) fuse.Status {
	p, st := l.child(in.NodeId, name)
	if !st.Ok() {
		return st
	}
	return l.mknodPath(p, in, out)
}

func (l *localFS) symlinkPath(rel string, h *fuse.InHeader, target string, out *fuse.EntryOut) fuse.Status {
	if err := l.ensureParent(rel); err != nil {
		return errnoOf(err)
	}
	if err := os.Symlink(target, l.abs(rel)); err != nil {
		return errnoOf(err)
	}
	l.chown(l.abs(rel), h)
	return l.statOut(rel, out)
}

func (l *localFS) symlink(h *fuse.InHeader, target, name string, out *fuse.EntryOut) fuse.Status {
	p, st := l.child(h.NodeId, name)
	if !st.Ok() {
		return st
	}
	return l.symlinkPath(p, h, target, out)
}

func (l *localFS) readlink(id uint64) ([]byte, fuse.Status) {
	p, ok := l.path(id)
	if !ok {
		return nil, fuse.ENOENT
	}
	t, err := os.Readlink(l.abs(p))
	if err != nil {
		return nil, errnoOf(err)
	}
	return []byte(t), fuse.OK
}

func (l *localFS) unlinkPath(rel string) fuse.Status {
	return errnoOf(syscall.Unlink(l.abs(rel)))
}

func (l *localFS) unlink(dir uint64, name string) fuse.Status {
	p, st := l.child(dir, name)
	if !st.Ok() {
		return st
	}
	return l.unlinkPath(p)
}

func (l *localFS) rmdirPath(rel string) fuse.Status {
	return errnoOf(syscall.Rmdir(l.abs(rel)))
}

func (l *localFS) rmdir(dir uint64, name string) fuse.Status {
	p, st := l.child(dir, name)
	if !st.Ok() {
		return st
	}
	return l.rmdirPath(p)
}

func (l *localFS) renamePath(from, to string, flags uint32) fuse.Status {
	if err := l.ensureParent(to); err != nil {
		return errnoOf(err)
	}
	if err := unix.Renameat2(unix.AT_FDCWD, l.abs(from), unix.AT_FDCWD, l.abs(to), uint(flags)); err != nil {
		return errnoOf(err)
	}
	l.moved(from, to)
	return fuse.OK
}

func (l *localFS) rename(in *fuse.RenameIn, oldName, newName string) fuse.Status {
	from, st := l.child(in.NodeId, oldName)
	if !st.Ok() {
		return st
	}
	to, st := l.child(in.Newdir, newName)
	if !st.Ok() {
		return st
	}
	return l.renamePath(from, to, in.Flags)
}

func (l *localFS) link(in *fuse.LinkIn, name string, out *fuse.EntryOut) fuse.Status {
	src, ok := l.path(in.Oldnodeid)
	if !ok {
		return fuse.ENOENT
	}
	p, st := l.child(in.NodeId, name)
	if !st.Ok() {
		return st
	}
	if err := os.Link(l.abs(src), l.abs(p)); err != nil {
		return errnoOf(err)
	}
	return l.statOut(p, out)
}

func (l *localFS) readDir(in *fuse.ReadIn, out *fuse.DirEntryList, plus bool) fuse.Status {
	p, ok := l.path(in.NodeId)
	if !ok {
		return fuse.ENOENT
	}
	ents, err := os.ReadDir(l.abs(p))
	if err != nil {
		return errnoOf(err)
	}
	names := []string{".", ".."}
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names[2:])
	for i := int(in.Offset); i < len(names); i++ {
		de := fuse.DirEntry{Name: names[i], Off: uint64(i + 1), Mode: syscall.S_IFDIR, Ino: in.NodeId}
		var eo fuse.EntryOut
		if i >= 2 {
			if st := l.statOut(join(p, names[i]), &eo); !st.Ok() {
				continue
			}
			de.Ino, de.Mode = eo.NodeId, eo.Attr.Mode&syscall.S_IFMT
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
		if i >= 2 {
			*o = eo
		}
	}
	return fuse.OK
}

func (l *localFS) read(in *fuse.ReadIn, buf []byte) (fuse.ReadResult, fuse.Status) {
	p, ok := l.path(in.NodeId)
	if !ok {
		return nil, fuse.ENOENT
	}
	f, err := os.Open(l.abs(p))
	if err != nil {
		return nil, errnoOf(err)
	}
	defer f.Close()
	n, err := f.ReadAt(buf, int64(in.Offset))
	if err != nil && n == 0 && !errors.Is(err, io.EOF) {
		return nil, errnoOf(err)
	}
	return fuse.ReadResultData(buf[:n]), fuse.OK
}

func (l *localFS) write(in *fuse.WriteIn, data []byte) (uint32, fuse.Status) {
	p, ok := l.path(in.NodeId)
	if !ok {
		return 0, fuse.ENOENT
	}
	f, err := os.OpenFile(l.abs(p), os.O_WRONLY, 0)
	if err != nil {
		return 0, errnoOf(err)
	}
	defer f.Close()
	n, err := f.WriteAt(data, int64(in.Offset))
	return uint32(n), errnoOf(err)
}

func (l *localFS) fsync(id uint64) fuse.Status {
	p, ok := l.path(id)
	if !ok {
		return fuse.ENOENT
	}
	f, err := os.Open(l.abs(p))
	if err != nil {
		return errnoOf(err)
	}
	defer f.Close()
	return errnoOf(f.Sync())
}

func (l *localFS) setattr(in *fuse.SetAttrIn, out *fuse.AttrOut) fuse.Status {
	p, ok := l.path(in.NodeId)
	if !ok {
		return fuse.ENOENT
	}
	a := l.abs(p)
	if m, ok := in.GetMode(); ok {
		if err := syscall.Chmod(a, m); err != nil {
			return errnoOf(err)
		}
	}
	uid, uok := in.GetUID()
	gid, gok := in.GetGID()
	if uok || gok {
		u, g := -1, -1
		if uok {
			u = int(uid)
		}
		if gok {
			g = int(gid)
		}
		if err := os.Lchown(a, u, g); err != nil {
			return errnoOf(err)
		}
	}
	if sz, ok := in.GetSize(); ok {
		if err := syscall.Truncate(a, int64(sz)); err != nil {
			return errnoOf(err)
		}
	}
	mt, mok := in.GetMTime()
	at, aok := in.GetATime()
	if mok || aok || in.Valid&(fuse.FATTR_MTIME_NOW|fuse.FATTR_ATIME_NOW) != 0 {
		ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, {Nsec: unix.UTIME_OMIT}}
		if aok {
			ts[0] = unix.NsecToTimespec(at.UnixNano())
		}
		if in.Valid&fuse.FATTR_ATIME_NOW != 0 {
			ts[0] = unix.Timespec{Nsec: unix.UTIME_NOW}
		}
		if mok {
			ts[1] = unix.NsecToTimespec(mt.UnixNano())
		}
		if in.Valid&fuse.FATTR_MTIME_NOW != 0 {
			ts[1] = unix.Timespec{Nsec: unix.UTIME_NOW}
		}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, a, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return errnoOf(err)
		}
	}
	return l.getattr(in.NodeId, out)
}

func (l *localFS) getxattr(id uint64, attr string, dest []byte) (uint32, fuse.Status) {
	p, ok := l.path(id)
	if !ok {
		return 0, fuse.ENOENT
	}
	n, err := unix.Lgetxattr(l.abs(p), attr, dest)
	return uint32(max(n, 0)), errnoOf(err)
}

func (l *localFS) listxattr(id uint64, dest []byte) (uint32, fuse.Status) {
	p, ok := l.path(id)
	if !ok {
		return 0, fuse.ENOENT
	}
	n, err := unix.Llistxattr(l.abs(p), dest)
	return uint32(max(n, 0)), errnoOf(err)
}

func (l *localFS) setxattr(in *fuse.SetXAttrIn, attr string, data []byte) fuse.Status {
	p, ok := l.path(in.NodeId)
	if !ok {
		return fuse.ENOENT
	}
	return errnoOf(unix.Lsetxattr(l.abs(p), attr, data, int(in.Flags)))
}

func (l *localFS) removexattr(id uint64, attr string) fuse.Status {
	p, ok := l.path(id)
	if !ok {
		return fuse.ENOENT
	}
	return errnoOf(unix.Lremovexattr(l.abs(p), attr))
}

func (l *localFS) fallocate(in *fuse.FallocateIn) fuse.Status {
	p, ok := l.path(in.NodeId)
	if !ok {
		return fuse.ENOENT
	}
	f, err := os.OpenFile(l.abs(p), os.O_WRONLY, 0)
	if err != nil {
		return errnoOf(err)
	}
	defer f.Close()
	return errnoOf(unix.Fallocate(int(f.Fd()), in.Mode, int64(in.Offset), int64(in.Length)))
}
