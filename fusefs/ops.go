package fusefs

import (
	"context"
	"crypto/sha256"
	"sort"
	"strings"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/gscluster/gscluster/dbstore"
	"github.com/gscluster/gscluster/internal/replica"
)

// addNode commits a new directory, symlink or empty file named name in
// directory dir and answers the kernel's lookup of it.
func (f *FS) addNode(cancel <-chan struct{}, h *fuse.InHeader, name string, proto dbstore.Entry, out *fuse.EntryOut) fuse.Status {
	if st := f.writable(); !st.Ok() {
		return st
	}
	ctx, stop := ctxOf(cancel)
	defer stop()
	ino, err := f.r.NextIno(ctx)
	if err != nil {
		return f.errno("create", err)
	}
	dir := int64(h.NodeId)
	ts := now()
	err = f.r.Commit(ctx, func(t *replica.Tree) (*replica.Change, error) {
		parent := t.Get(dir)
		if parent == nil || len(parent.Names) == 0 && dir != dbstore.RootIno {
			return nil, syscall.ENOENT
		}
		if t.Child(dir, name) != nil {
			return nil, syscall.EEXIST
		}
		p, _ := t.ChildPath(dir, name)
		e := dbstore.Entry{Ino: ino, Kind: proto.Kind, Mode: proto.Mode, UID: h.Uid, GID: h.Gid, Size: proto.Size,
			MtimeNs: ts, CtimeNs: ts, Nlink: 1, Hash: proto.Hash, Target: proto.Target}
		if parent.Mode&syscall.S_ISGID != 0 {
			e.GID = parent.GID
			if e.Kind == dbstore.KindDir {
				e.Mode |= syscall.S_ISGID
			}
		}
		if e.Kind == dbstore.KindDir {
			e.Nlink = 2
		}
		ch := &replica.Change{Summary: "create " + p}
		m := &ch.Mutation
		m.Inodes = []dbstore.Entry{e}
		m.Link = []dbstore.Dentry{{Parent: dir, Name: name, Ino: ino}}
		m.Changes = []dbstore.ChangeEntry{{Path: p, Op: dbstore.OpCreate, Entry: e}}
		t.TouchDir(m, dir, ts)
		if e.Kind == dbstore.KindFile {
			ch.Upload = func(ctx context.Context, tx *dbstore.Tx) error {
				return tx.PutBlob(ctx, dbstore.Blob{Hash: e.Hash, Data: []byte{}})
			}
		}
		return ch, nil
	})
	if err != nil {
		return f.errno("create", err)
	}
	f.r.RLock()
	defer f.r.RUnlock()
	n := f.r.Get(ino)
	if n == nil {
		return fuse.ENOENT
	}
	f.entry(n, out)
	return fuse.OK
}

// Mkdir makes a directory.
func (f *FS) Mkdir(cancel <-chan struct{}, in *fuse.MkdirIn, name string, out *fuse.EntryOut) fuse.Status {
	if isLocalIno(in.NodeId) {
		return f.local.mkdir(in, name, out)
	}
	p, local, st := f.childPath(int64(in.NodeId), name)
	if !st.Ok() {
		return st
	}
	if local {
		return f.local.mkdirPath(p, in, out)
	}
	return f.addNode(cancel, &in.InHeader, name, dbstore.Entry{Kind: dbstore.KindDir, Mode: in.Mode & 07777 &^ in.Umask}, out)
}

// Symlink makes a symbolic link.
func (f *FS) Symlink(cancel <-chan struct{}, h *fuse.InHeader, target, name string, out *fuse.EntryOut) fuse.Status {
	if isLocalIno(h.NodeId) {
		return f.local.symlink(h, target, name, out)
	}
	p, local, st := f.childPath(int64(h.NodeId), name)
	if !st.Ok() {
		return st
	}
	if local {
		return f.local.symlinkPath(p, h, target, out)
	}
	return f.addNode(cancel, h, name, dbstore.Entry{Kind: dbstore.KindSymlink, Mode: 0o777, Target: target, Size: int64(len(target))}, out)
}

// Mknod makes an empty regular file; other kinds of node have no place in
// a data directory.
func (f *FS) Mknod(cancel <-chan struct{}, in *fuse.MknodIn, name string, out *fuse.EntryOut) fuse.Status {
	if isLocalIno(in.NodeId) {
		return f.local.mknod(in, name, out)
	}
	p, local, st := f.childPath(int64(in.NodeId), name)
	if !st.Ok() {
		return st
	}
	if local {
		return f.local.mknodPath(p, in, out)
	}
	if in.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return fuse.EPERM
	}
	empty := sha256.Sum256(nil)
	return f.addNode(cancel, &in.InHeader, name, dbstore.Entry{Kind: dbstore.KindFile, Mode: in.Mode & 07777 &^ in.Umask, Hash: empty[:]}, out)
}

// Unlink removes a name of a file or symlink.
func (f *FS) Unlink(cancel <-chan struct{}, h *fuse.InHeader, name string) fuse.Status {
	if isLocalIno(h.NodeId) {
		return f.local.unlink(h.NodeId, name)
	}
	p, local, st := f.childPath(int64(h.NodeId), name)
	if !st.Ok() {
		return st
	}
	if local {
		return f.local.unlinkPath(p)
	}
	return f.remove(cancel, int64(h.NodeId), name, false)
}

// Rmdir removes an empty directory.
func (f *FS) Rmdir(cancel <-chan struct{}, h *fuse.InHeader, name string) fuse.Status {
	if isLocalIno(h.NodeId) {
		return f.local.rmdir(h.NodeId, name)
	}
	p, local, st := f.childPath(int64(h.NodeId), name)
	if !st.Ok() {
		return st
	}
	if local {
		return f.local.rmdirPath(p)
	}
	if len(f.local.names(p)) > 0 {
		return fuse.Status(syscall.ENOTEMPTY)
	}
	return f.remove(cancel, int64(h.NodeId), name, true)
}

func (f *FS) remove(cancel <-chan struct{}, dir int64, name string, isDir bool) fuse.Status {
	if st := f.writable(); !st.Ok() {
		return st
	}
	f.r.RLock()
	n := f.r.Child(dir, name)
	pending := n != nil && n.Pending
	f.r.RUnlock()
	if pending && !isDir {
		// Never committed: it goes as it came, from memory.
		// Never committed: it goes as it came, and only its directory's
		// times change in the database.
		f.r.DropPending(dir, name)
		ctx, stop := ctxOf(cancel)
		defer stop()
		ts := now()
		err := f.r.Commit(ctx, func(t *replica.Tree) (*replica.Change, error) {
			p, _ := t.Path(dir)
			ch := &replica.Change{Summary: "touch " + p}
			t.TouchDir(&ch.Mutation, dir, ts)
			return ch, nil
		})
		return f.errno("remove", err)
	}
	ctx, stop := ctxOf(cancel)
	defer stop()
	ts := now()
	err := f.r.Commit(ctx, func(t *replica.Tree) (*replica.Change, error) {
		n := t.Child(dir, name)
		switch {
		case n == nil:
			return nil, syscall.ENOENT
		case isDir && n.Kind != dbstore.KindDir:
			return nil, syscall.ENOTDIR
		case !isDir && n.Kind == dbstore.KindDir:
			return nil, syscall.EISDIR
		case isDir && len(n.Children) > 0:
			return nil, syscall.ENOTEMPTY
		}
		return t.Remove(dir, name, ts), nil
	})
	return f.errno("remove", err)
}

// Link adds a name to a file.
func (f *FS) Link(cancel <-chan struct{}, in *fuse.LinkIn, name string, out *fuse.EntryOut) fuse.Status {
	if isLocalIno(in.NodeId) || isLocalIno(in.Oldnodeid) {
		if isLocalIno(in.NodeId) && isLocalIno(in.Oldnodeid) {
			return f.local.link(in, name, out)
		}
		return fuse.Status(syscall.EXDEV)
	}
	_, local, st := f.childPath(int64(in.NodeId), name)
	if !st.Ok() {
		return st
	}
	if local {
		return fuse.Status(syscall.EXDEV)
	}
	if st := f.writable(); !st.Ok() {
		return st
	}
	ctx, stop := ctxOf(cancel)
	defer stop()
	src, dir := int64(in.Oldnodeid), int64(in.NodeId)
	if err := f.commitFile(ctx, src); err != nil {
		return f.errno("link", err)
	}
	ts := now()
	err := f.r.Commit(ctx, func(t *replica.Tree) (*replica.Change, error) {
		n := t.Get(src)
		switch {
		case n == nil || len(n.Names) == 0:
			return nil, syscall.ENOENT
		case n.Kind == dbstore.KindDir:
			return nil, syscall.EPERM
		case t.Child(dir, name) != nil:
			return nil, syscall.EEXIST
		}
		p, _ := t.ChildPath(dir, name)
		e := n.Entry()
		e.Nlink++
		e.CtimeNs = ts
		ch := &replica.Change{Summary: "link " + p}
		m := &ch.Mutation
		m.Inodes = []dbstore.Entry{e}
		m.Link = []dbstore.Dentry{{Parent: dir, Name: name, Ino: src}}
		m.Changes = []dbstore.ChangeEntry{{Path: p, Op: dbstore.OpCreate, Entry: e}}
		t.TouchDir(m, dir, ts)
		return ch, nil
	})
	if err != nil {
		return f.errno("link", err)
	}
	f.r.RLock()
	defer f.r.RUnlock()
	n := f.r.Get(src)
	if n == nil {
		return fuse.ENOENT
	}
	f.entry(n, out)
	return fuse.OK
}

// The flags of renameat2(2).
const (
	renameNoReplace = 1
	renameExchange  = 2
)

// Rename moves a name, replacing what the new name held, in one revision.
func (f *FS) Rename(cancel <-chan struct{}, in *fuse.RenameIn, oldName, newName string) fuse.Status {
	od, nd := in.NodeId, in.Newdir
	if isLocalIno(od) || isLocalIno(nd) {
		if isLocalIno(od) && isLocalIno(nd) {
			return f.local.rename(in, oldName, newName)
		}
		return fuse.Status(syscall.EXDEV)
	}
	op, oldLocal, st := f.childPath(int64(od), oldName)
	if !st.Ok() {
		return st
	}
	np, newLocal, st := f.childPath(int64(nd), newName)
	if !st.Ok() {
		return st
	}
	if oldLocal || newLocal {
		if oldLocal && newLocal {
			return f.local.renamePath(op, np, in.Flags)
		}
		return fuse.Status(syscall.EXDEV)
	}
	if in.Flags&^renameNoReplace != 0 {
		return fuse.EINVAL // RENAME_EXCHANGE and RENAME_WHITEOUT are not supported
	}
	if st := f.writable(); !st.Ok() {
		return st
	}
	if len(f.local.names(np)) > 0 {
		return fuse.Status(syscall.ENOTEMPTY)
	}
	ctx, stop := ctxOf(cancel)
	defer stop()
	f.r.RLock()
	src := f.r.Child(int64(od), oldName)
	f.r.RUnlock()
	if src == nil {
		return fuse.ENOENT
	}
	// A file still being written is committed with its rename.
	ts := now()
	err := f.commitWith(ctx, src.Ino, func(t *replica.Tree) (*replica.Change, error) {
		return planRename(t, int64(od), oldName, int64(nd), newName, in.Flags, ts)
	})
	return f.errno("rename", err)
}

func planRename(t *replica.Tree, od int64, on string, nd int64, nn string, flags uint32, ts int64) (*replica.Change, error) {
	src := t.Child(od, on)
	dst := t.Child(nd, nn)
	switch {
	case src == nil:
		return nil, syscall.ENOENT
	case dst != nil && dst.Ino == src.Ino:
		return nil, nil // two names of one inode: nothing to do
	case dst != nil && flags&renameNoReplace != 0:
		return nil, syscall.EEXIST
	case dst != nil && src.Kind == dbstore.KindDir && dst.Kind != dbstore.KindDir:
		return nil, syscall.ENOTDIR
	case dst != nil && src.Kind != dbstore.KindDir && dst.Kind == dbstore.KindDir:
		return nil, syscall.EISDIR
	case dst != nil && dst.Kind == dbstore.KindDir && len(dst.Children) > 0:
		return nil, syscall.ENOTEMPTY
	}
	if src.Kind == dbstore.KindDir {
		// Not into itself.
		for d := nd; d != dbstore.RootIno; {
			if d == src.Ino {
				return nil, syscall.EINVAL
			}
			n := t.Get(d)
			if n == nil || len(n.Names) == 0 {
				break
			}
			d = n.Names[0].Parent
		}
	}
	return t.Move(od, on, nd, nn, ts), nil
}

// Extended attributes, kept in the database with their inode.

// GetXAttr reads an extended attribute.
func (f *FS) GetXAttr(cancel <-chan struct{}, h *fuse.InHeader, attr string, dest []byte) (uint32, fuse.Status) {
	if isLocalIno(h.NodeId) {
		return f.local.getxattr(h.NodeId, attr, dest)
	}
	f.r.RLock()
	defer f.r.RUnlock()
	n := f.r.Get(int64(h.NodeId))
	if n == nil {
		return 0, fuse.ENOENT
	}
	v, ok := n.Xattrs[attr]
	if !ok {
		return 0, fuse.ENOATTR
	}
	if len(dest) == 0 {
		return uint32(len(v)), fuse.OK
	}
	if len(dest) < len(v) {
		return uint32(len(v)), fuse.ERANGE
	}
	return uint32(copy(dest, v)), fuse.OK
}

// ListXAttr lists extended attribute names.
func (f *FS) ListXAttr(cancel <-chan struct{}, h *fuse.InHeader, dest []byte) (uint32, fuse.Status) {
	if isLocalIno(h.NodeId) {
		return f.local.listxattr(h.NodeId, dest)
	}
	f.r.RLock()
	n := f.r.Get(int64(h.NodeId))
	var names []string
	if n != nil {
		for k := range n.Xattrs {
			names = append(names, k)
		}
	}
	f.r.RUnlock()
	if n == nil {
		return 0, fuse.ENOENT
	}
	sort.Strings(names)
	var b []byte
	for _, k := range names {
		b = append(append(b, k...), 0)
	}
	if len(dest) == 0 {
		return uint32(len(b)), fuse.OK
	}
	if len(dest) < len(b) {
		return uint32(len(b)), fuse.ERANGE
	}
	return uint32(copy(dest, b)), fuse.OK
}

// SetXAttr sets an extended attribute.
func (f *FS) SetXAttr(cancel <-chan struct{}, in *fuse.SetXAttrIn, attr string, data []byte) fuse.Status {
	if isLocalIno(in.NodeId) {
		return f.local.setxattr(in, attr, data)
	}
	if strings.HasPrefix(attr, "system.") {
		return fuse.ENOTSUP
	}
	return f.changeXattr(cancel, int64(in.NodeId), attr, append([]byte(nil), data...), in.Flags, false)
}

// RemoveXAttr removes an extended attribute.
func (f *FS) RemoveXAttr(cancel <-chan struct{}, h *fuse.InHeader, attr string) fuse.Status {
	if isLocalIno(h.NodeId) {
		return f.local.removexattr(h.NodeId, attr)
	}
	return f.changeXattr(cancel, int64(h.NodeId), attr, nil, 0, true)
}

// The flags of setxattr(2).
const (
	xattrCreate  = 1
	xattrReplace = 2
)

func (f *FS) changeXattr(cancel <-chan struct{}, ino int64, attr string, value []byte, flags uint32, remove bool) fuse.Status {
	if st := f.writable(); !st.Ok() {
		return st
	}
	ctx, stop := ctxOf(cancel)
	defer stop()
	if err := f.commitFile(ctx, ino); err != nil {
		return f.errno("setxattr", err)
	}
	ts := now()
	err := f.r.Commit(ctx, func(t *replica.Tree) (*replica.Change, error) {
		n := t.Get(ino)
		if n == nil {
			return nil, syscall.ENOENT
		}
		_, has := n.Xattrs[attr]
		switch {
		case remove && !has, flags&xattrReplace != 0 && !has:
			return nil, syscall.ENODATA
		case flags&xattrCreate != 0 && has:
			return nil, syscall.EEXIST
		}
		e := n.Entry()
		e.CtimeNs = ts
		p, ok := t.Path(ino)
		ch := &replica.Change{Summary: "set extended attribute of " + p}
		m := &ch.Mutation
		m.Inodes = []dbstore.Entry{e}
		x := dbstore.Xattr{Ino: ino, Name: attr, Value: value}
		if remove {
			m.DelXattrs = []dbstore.Xattr{x}
		} else {
			m.SetXattrs = []dbstore.Xattr{x}
		}
		if ok {
			m.Changes = []dbstore.ChangeEntry{{Path: p, Op: dbstore.OpMeta, Entry: e}}
		}
		return ch, nil
	})
	return f.errno("setxattr", err)
}
