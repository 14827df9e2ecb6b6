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
// A push must never put stale bytes in the kernel. The content pushed is
// the one the replica names when the push is prepared; two things can
// change it meanwhile, and both are checked after the push, which drops
// the pages again when either happened (a read served meanwhile is no
// reason: it answered the same bytes, and dropping the pages would only
// cost the next reader a round trip):
//   - a change committed elsewhere (the file's hash changes; its own
//     invalidation may have run before the push landed);
//   - a write through this mount: the kernel copies written bytes into
//     its page cache before it sends WRITE, and holds the page locked
//     until the reply, so a push that meets such a page waits for it and
//     then overwrites it; every write first opens a spool, which counts
//     as a write of the file, so the check after the push sees it.
//
// A file the kernel has read through this daemon, or written, is never
// pushed: its pages came from elsewhere. One window stays open: a READ
// served in the microseconds between the last check and the kernel taking
// the push, followed at once by a store into a shared writable mapping of
// the file, would have that store overwritten by the (equal) content the
// read returned. It needs a file's first listing on this node to meet its
// first mmap write; GeoServer writes its catalog with streams and
// renames, and its mmap users (H2, the tile cache) live in node-local
// paths, which are never pushed. Pushes run on their own
// goroutine, never inside an operation, and hold no lock while the
// kernel takes them (a push can wait for a page lock held by a write in
// progress).
type pusher struct {
	mu     sync.Mutex
	cond   *sync.Cond
	queue  []int64
	files  map[int64]pushState
	closed bool

	// hook, when set (by tests), runs between reading a content and
	// handing it to the kernel.
	hook atomic.Pointer[func(ino int64)]
}

type pushState struct {
	reads  uint32 // reads served by the daemon
	writes uint32 // spools opened (every change of the content opens one)
	tried  bool   // queued or pushed once
	pushed bool   // in the kernel's page cache, not dropped since
	done   bool   // the push has run (kept, dropped or given up)
}

func (p *pusher) init() {
	p.cond = sync.NewCond(&p.mu)
	p.files = map[int64]pushState{}
}

// offer queues a push of file ino's content, once per file. It never
// blocks.
func (p *pusher) offer(ino int64) {
	p.mu.Lock()
	st := p.files[ino]
	if st.tried || st.reads > 0 || st.writes > 0 || p.closed {
		p.mu.Unlock()
		return
	}
	st.tried = true
	p.files[ino] = st
	p.queue = append(p.queue, ino)
	p.mu.Unlock()
	p.cond.Signal()
}

// read records a read of ino served by the daemon: the kernel has pages
// of it already.
func (p *pusher) read(ino int64) {
	p.mu.Lock()
	st := p.files[ino]
	st.reads++
	p.files[ino] = st
	p.mu.Unlock()
}

// write records that ino's content is being changed through this mount:
// the kernel's pages of it hold what was written.
func (p *pusher) write(ino int64) {
	p.mu.Lock()
	st := p.files[ino]
	st.writes++
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

func (p *pusher) stop() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.cond.Signal()
}

// result tells whether the push of ino has run and whether its pages
// were kept.
func (p *pusher) result(ino int64) (done, pushed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.files[ino]
	return st.done, st.pushed
}

func (p *pusher) counts(ino int64) (reads, writes uint32) {
	p.mu.Lock()
	st := p.files[ino]
	p.mu.Unlock()
	return st.reads, st.writes
}

// run pushes the queued files until stop.
func (p *pusher) run(f *FS, s *fuse.Server, log *slog.Logger) {
	for {
		p.mu.Lock()
		for len(p.queue) == 0 && !p.closed {
			p.cond.Wait()
		}
		if p.closed {
			p.mu.Unlock()
			return
		}
		batch := p.queue
		p.queue = nil
		p.mu.Unlock()
		for _, ino := range batch {
			p.push(f, s, ino, log)
		}
	}
}

func (p *pusher) push(f *FS, s *fuse.Server, ino int64, log *slog.Logger) {
	kept := false
	defer func() {
		p.mu.Lock()
		if st, ok := p.files[ino]; ok {
			st.done, st.pushed = true, kept
			p.files[ino] = st
		}
		p.mu.Unlock()
	}()
	if reads, writes := p.counts(ino); reads > 0 || writes > 0 || f.spoolOf(ino) != nil {
		return
	}
	hash, size := f.fileContent(ino)
	if size == 0 || size > pushMax {
		return
	}
	data, err := os.ReadFile(f.r.Cache.Path(hash)) // only what is cached here: no database round trip
	if err != nil || int64(len(data)) != size {
		return
	}
	if h := p.hook.Load(); h != nil {
		(*h)(ino)
	}
	if reads, _ := p.counts(ino); reads > 0 {
		return // the kernel has the pages already (see the limit above)
	}
	if st := s.InodeNotifyStoreCache(uint64(ino), 0, data); !st.Ok() {
		return // ENOENT: the kernel has dropped the inode already
	}
	now, _ := f.fileContent(ino)
	if _, writes := p.counts(ino); writes > 0 || f.spoolOf(ino) != nil || !bytes.Equal(now, hash) {
		if st := s.InodeNotify(uint64(ino), 0, 0); !st.Ok() && st != fuse.ENOENT {
			log.Warn("drop pushed pages", "ino", ino, "status", st)
		}
		return
	}
	kept = true
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
