package receiver

import (
	"context"
	"sync"
)

// memoryBudget bounds the bytes held by the requests being read, decoded and stored at once.
// A request reserves what it may hold before its body is read and waits, without reading
// it, while there is no room: an event too large for the moment waits for room and is not
// refused. Requests that reserve little (small events) may use all of the budget; larger
// ones only what leaves a quarter of it free, so that small events never wait behind large
// ones. A reservation larger than that is cut to it, so that any request can run alone.
type memoryBudget struct {
	size  int64
	mu    sync.Mutex
	used  int64
	freed chan struct{} // closed, and replaced, whenever a reservation ends
}

func newMemoryBudget(size int64) *memoryBudget {
	return &memoryBudget{size: size, freed: make(chan struct{})}
}

// large is the share of the budget that requests reserving more than a sixteenth of it
// may use together.
func (b *memoryBudget) large() int64 { return b.size - b.size/4 }

// acquire reserves n bytes (cut to what one large request may hold), waiting for room until
// ctx ends, and returns what ends the reservation.
func (b *memoryBudget) acquire(ctx context.Context, n int64) (release func(), err error) {
	n = max(min(n, b.large()), 0)
	for {
		b.mu.Lock()
		limit := b.size
		if n > b.size/16 {
			limit = b.large()
		}
		if b.used+n <= limit {
			b.used += n
			b.mu.Unlock()
			var once sync.Once
			return func() { once.Do(func() { b.release(n) }) }, nil
		}
		freed := b.freed
		b.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (b *memoryBudget) release(n int64) {
	b.mu.Lock()
	b.used -= n
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}

// inUse returns the bytes reserved now.
func (b *memoryBudget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}
