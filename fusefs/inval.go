package fusefs

import (
	"log/slog"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/gscluster/gscluster/internal/replica"
)

// sendInval drops what the kernel caches of one entry, one inode's
// attributes or one inode's pages; it runs on the invalidation queue's
// goroutine (see workQueue). A status of ENOENT means the kernel holds
// nothing for that inode or name: nothing to drop.
func sendInval(s *fuse.Server, log *slog.Logger, iv replica.Inval) {
	var st fuse.Status
	switch iv.Kind {
	case replica.InvalEntry:
		st = s.EntryNotify(uint64(iv.Parent), iv.Name)
	case replica.InvalAttr:
		st = s.InodeNotify(uint64(iv.Ino), -1, 0)
	case replica.InvalContent:
		st = s.InodeNotify(uint64(iv.Ino), 0, 0)
	}
	if !st.Ok() && st != fuse.ENOENT {
		log.Debug("kernel cache invalidation", "kind", iv.Kind, "ino", iv.Ino, "parent", iv.Parent, "name", iv.Name, "status", st)
	}
}
