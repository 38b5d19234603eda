package grpcserver

import (
	"context"
	"sync"
)

// Buffer limits of ResolveStream. The read-ahead bounds the requests a
// stream holds; these bound their bytes, with their answers, per stream
// and across the node, since one request may be 25 KB (100 type filters)
// and one answer far more. A normal client, of requests of ~100 bytes,
// holds a few hundred KB at its full read-ahead and never waits on them.
const (
	DefaultStreamBuffer      = 4 << 20
	DefaultStreamBufferTotal = 256 << 20
)

// byteBudget is bytes held against a limit. take waits until n more fit,
// or until nothing is held, so that one message larger than the limit
// still goes through alone; add counts bytes without waiting (answers,
// which exist once resolved); give returns them.
type byteBudget struct {
	limit int64

	mu    sync.Mutex
	held  int64
	freed chan struct{} // closed and replaced by give
}

func newByteBudget(limit int64) *byteBudget {
	return &byteBudget{limit: limit, freed: make(chan struct{})}
}

// tryTake takes n if they fit; otherwise it returns a channel closed at
// the next give.
func (b *byteBudget) tryTake(n int64) (<-chan struct{}, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.held == 0 || b.held+n <= b.limit {
		b.held += n
		return nil, true
	}
	return b.freed, false
}

func (b *byteBudget) add(n int64) {
	b.mu.Lock()
	b.held += n
	b.mu.Unlock()
}

func (b *byteBudget) give(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.held -= n
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}

// streamBuffers is one stream's bytes, counted against its own budget and
// the node's (Service.BufferTotal): every take, add and give goes to
// both, so at the end the stream gives back to the node what it still
// holds.
type streamBuffers struct {
	stream, node *byteBudget
	stats        *StreamStats
}

// take waits until n bytes fit in the stream's budget and then the
// node's, or ctx ends.
func (s *streamBuffers) take(ctx context.Context, n int64) error {
	for _, b := range []*byteBudget{s.stream, s.node} {
		for {
			freed, ok := b.tryTake(n)
			if ok {
				break
			}
			s.stats.waiting.Add(1)
			select {
			case <-freed:
				s.stats.waiting.Add(-1)
			case <-ctx.Done():
				s.stats.waiting.Add(-1)
				if b == s.node {
					s.stream.give(n)
				}
				return context.Cause(ctx)
			}
		}
	}
	s.stats.addBytes(n)
	return nil
}

func (s *streamBuffers) add(n int64) {
	s.stream.add(n)
	s.node.add(n)
	s.stats.addBytes(n)
}

func (s *streamBuffers) give(n int64) {
	s.stats.addBytes(-n)
	s.stream.give(n)
	s.node.give(n)
}

// close gives back what the stream still holds; call it once nothing
// else of the stream runs.
func (s *streamBuffers) close() {
	s.stream.mu.Lock()
	n := s.stream.held
	s.stream.mu.Unlock()
	s.give(n)
}

// workerPool runs a stream's batches on up to max goroutines, started
// as the work needs them rather than when the stream opens: an idle
// stream costs no resolver goroutine, a stream of one request at a time
// costs one.
type workerPool struct {
	max    int
	work   chan *streamBatch
	run    func(*streamBatch)
	active int // only the reader, which calls queued, touches it
	wg     sync.WaitGroup
}

// queued is called after each batch is put on work.
func (p *workerPool) queued() {
	if p.active >= p.max || p.active > 0 && len(p.work) == 0 {
		return
	}
	p.active++
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for b := range p.work {
			p.run(b)
		}
	}()
}

// wait waits for the workers, once work is closed.
func (p *workerPool) wait() { p.wg.Wait() }
