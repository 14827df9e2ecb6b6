package fusefs

import (
	"bytes"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/gscluster/gscluster/dbstore"
)

// pushMax is the largest file whose content is pushed into the kernel's
// page cache when its name reaches the kernel. Catalog files (XML, SLD,
// properties, icons) are far below it; data files are read on demand.
const pushMax = 64 << 10

// pusher fills the kernel's page cache with the content of small files
// from the local content cache as soon as the kernel learns of them (a
// directory listing with attributes, a lookup), with FUSE_NOTIFY_STORE.
// A program that lists a directory and then reads its files, as GeoServer
// does for every workspace, store and layer when it starts, then reads
// them without a round trip to this daemon per file: on the 10,000-layer
// tree that round trip was most of the time of a fresh mount's first
// load (BENCHMARKS.md).
//
// A file whose content the daemon has served (a READ) or taken (a write
// through this mount) is not pushed: the kernel's pages came from there.
// This is checked when the push is prepared and again just before the
// kernel takes it; a read served after that answered the same bytes.
//
// A push must never leave stale bytes in the kernel. Two things can change
// a file while its push is on the way, and both are checked after it,
// which drops the pages again when either happened:
//   - a change committed elsewhere (the file's hash changes; its own
//     invalidation may have run before the push landed);
//   - a write through this mount: the kernel copies written bytes into
//     its page cache before it sends WRITE, and holds the page locked
//     until the reply, so a push that meets such a page waits for it and
//     then overwrites it; every write first opens a spool, which counts
//     as a write of the file, so the check after the push sees it.
//
// One window stays open: a READ served in the microseconds between the
// last check and the kernel taking the push, followed at once by a store
// into a shared writable mapping of the file, would have that store
// overwritten by the (equal) content the read returned. It needs a file's
// first listing on this node to meet its first mmap write; GeoServer
// writes its catalog with streams and renames, and its mmap users (H2,
// the tile cache) live in node-local paths, which are never pushed.
//
// Pushes run on their own queue's goroutine and hold no lock while the
// kernel takes them (a push can wait for a page lock held by a write in
// progress).
type pusher struct {
	queue workQueue[int64]

	mu    sync.Mutex
	files map[int64]pushState // until the kernel forgets the inode

	// Set by tests: before runs between reading a content and handing it
	// to the kernel, after once a push has run (kept: its pages stay).
	before atomic.Pointer[func(ino int64)]
	after  atomic.Pointer[func(ino int64, kept bool)]
}

type pushState struct {
	reads  uint32 // reads served by the daemon
	writes uint32 // spools opened (every change of the content opens one)
	tried  bool   // queued once
}

func (p *pusher) init() {
	p.queue.init()
	p.files = map[int64]pushState{}
}

func (p *pusher) stop() { p.queue.stop() }

// offer queues a push of file ino's content, once per file. It never
// blocks.
func (p *pusher) offer(ino int64) {
	p.mu.Lock()
	st := p.files[ino]
	queue := !st.tried && st.reads == 0 && st.writes == 0
	if queue {
		st.tried = true
		p.files[ino] = st
	}
	p.mu.Unlock()
	if queue {
		p.queue.add(ino)
	}
}

// served records that the daemon served ino's content to the kernel: a
// read (the kernel holds pages of it) or a write (the kernel's pages hold
// what was written).
func (p *pusher) served(ino int64, write bool) {
	p.mu.Lock()
	st := p.files[ino]
	if write {
		st.writes++
	} else {
		st.reads++
	}
	p.files[ino] = st
	p.mu.Unlock()
}

// forget drops what is known of ino: the kernel has dropped the inode,
// and its pages with it.
func (p *pusher) forget(ino int64) {
	p.mu.Lock()
	delete(p.files, ino)
	p.mu.Unlock()
}

func (p *pusher) counts(ino int64) (reads, writes uint32) {
	p.mu.Lock()
	st := p.files[ino]
	p.mu.Unlock()
	return st.reads, st.writes
}

// run pushes the queued files until stop.
func (p *pusher) run(f *FS, s *fuse.Server, log *slog.Logger) {
	p.queue.run(func(ino int64) {
		kept := p.push(f, s, ino, log)
		if h := p.after.Load(); h != nil {
			(*h)(ino, kept)
		}
	})
}

// push hands ino's content to the kernel and reports whether its pages
// stay there.
func (p *pusher) push(f *FS, s *fuse.Server, ino int64, log *slog.Logger) (kept bool) {
	if reads, writes := p.counts(ino); reads > 0 || writes > 0 || f.spoolOf(ino) != nil {
		return false
	}
	hash, size := f.fileContent(ino)
	if size == 0 || size > pushMax {
		return false
	}
	data, err := os.ReadFile(f.r.Cache.Path(hash)) // only what is cached here: no database round trip
	if err != nil || int64(len(data)) != size {
		return false
	}
	if h := p.before.Load(); h != nil {
		(*h)(ino)
	}
	if reads, _ := p.counts(ino); reads > 0 {
		return false // the kernel has the pages already
	}
	if st := s.InodeNotifyStoreCache(uint64(ino), 0, data); !st.Ok() {
		return false // ENOENT: the kernel has dropped the inode already
	}
	now, _ := f.fileContent(ino)
	if _, writes := p.counts(ino); writes > 0 || f.spoolOf(ino) != nil || !bytes.Equal(now, hash) {
		if st := s.InodeNotify(uint64(ino), 0, 0); !st.Ok() && st != fuse.ENOENT {
			log.Warn("drop pushed pages", "ino", ino, "status", st)
		}
		return false
	}
	return true
}

// fileContent returns the hash and size of a file in the replica (size 0
// for anything else).
func (f *FS) fileContent(ino int64) (hash []byte, size int64) {
	f.r.RLock()
	defer f.r.RUnlock()
	n := f.r.Get(ino)
	if n == nil || n.Kind != dbstore.KindFile {
		return nil, 0
	}
	return n.Hash, n.Size
}
