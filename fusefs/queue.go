package fusefs

import "sync"

// workQueue hands items to one goroutine, in the order they came. The
// kernel notifications (invalidations, pushes) go through such queues:
// the kernel may block a notification until an operation on the same
// inode ends, so they are never sent from inside an operation or under a
// lock an operation waits for; add never blocks.
type workQueue[T any] struct {
	mu      sync.Mutex
	cond    *sync.Cond
	pending []T
	closed  bool
}

func (q *workQueue[T]) init() { q.cond = sync.NewCond(&q.mu) }

// add queues items; after stop it drops them.
func (q *workQueue[T]) add(items ...T) {
	if len(items) == 0 {
		return
	}
	q.mu.Lock()
	if !q.closed {
		q.pending = append(q.pending, items...)
	}
	q.mu.Unlock()
	q.cond.Signal()
}

func (q *workQueue[T]) stop() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Signal()
}

// run calls do for each item until stop.
func (q *workQueue[T]) run(do func(T)) {
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
		for _, it := range batch {
			do(it)
		}
	}
}
