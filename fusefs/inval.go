package fusefs

import (
	"log/slog"
	"sync"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/gscluster/gscluster/internal/replica"
)

// invalQueue hands kernel cache invalidations to one goroutine. The
// kernel may block a notification until an operation on the same inode
// ends, so they are never sent from inside an operation or under a lock
// an operation waits for; push never blocks.
type invalQueue struct {
	mu      sync.Mutex
	cond    *sync.Cond
	pending []replica.Inval
	closed  bool
}

func (q *invalQueue) init() { q.cond = sync.NewCond(&q.mu) }

func (q *invalQueue) push(inv []replica.Inval) {
	if len(inv) == 0 {
		return
	}
	q.mu.Lock()
	q.pending = append(q.pending, inv...)
	q.mu.Unlock()
	q.cond.Signal()
}

func (q *invalQueue) stop() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Signal()
}

// run sends the queued invalidations until stop. A status of ENOENT means
// the kernel holds nothing for that inode or name: nothing to drop.
func (q *invalQueue) run(s *fuse.Server, log *slog.Logger) {
	for {
		q.mu.Lock()
		for len(q.pending) == 0 && !q.closed {
			q.cond.Wait()
		}
		if q.closed {
			q.mu.Unlock()
			return
		}
		batch := q.pending
		q.pending = nil
		q.mu.Unlock()
		for _, iv := range batch {
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
	}
}
