package cache

import (
	"context"
	"sync"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// Group coalesces identical concurrent misses: while one fetch for a key
// runs, every other caller asking for the same key waits for its result
// instead of starting another (as golang.org/x/sync/singleflight, but a
// waiter may give up when its own context ends without cancelling the
// fetch for the others). The zero Group is ready to use.
type Group struct {
	mu    sync.Mutex
	calls map[string]*call
}

type call struct {
	done chan struct{}
	resp *idresv1.ResolveResponse
	err  error
	// joined counts the callers waiting on another's fetch (under
	// Group.mu), so a test can wait until they have all arrived rather
	// than sleep and hope.
	joined int
}

// Do runs fetch once for key among concurrent callers and hands each a
// copy-safe result: the response is shared, so callers must not modify it.
// shared reports whether the result came from another caller's fetch.
// fetch runs in its own goroutine and gets no caller's context: it must
// bound its own time.
func (g *Group) Do(ctx context.Context, key string, fetch func() (*idresv1.ResolveResponse, error)) (resp *idresv1.ResolveResponse, shared bool, err error) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = make(map[string]*call)
	}
	c, ok := g.calls[key]
	if ok {
		c.joined++
	} else {
		c = &call{done: make(chan struct{})}
		g.calls[key] = c
		go func() {
			defer close(c.done)
			c.resp, c.err = fetch()
			g.mu.Lock()
			delete(g.calls, key)
			g.mu.Unlock()
		}()
	}
	g.mu.Unlock()
	select {
	case <-c.done:
		return c.resp, ok, c.err
	case <-ctx.Done():
		return nil, ok, ctx.Err()
	}
}
