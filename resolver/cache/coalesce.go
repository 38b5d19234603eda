package cache

import (
	"context"
	"sync"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// Group coalesces identical concurrent misses: while one fetch for a key
// runs, every other caller asking for the same key waits for its result
// instead of starting another (as golang.org/x/sync/singleflight). A
// waiter may give up when its own context ends; the fetch goes on for the
// others, and is cancelled when the last waiter has gone, so that work
// nobody waits for stops (its context is reference-counted). The zero
// Group is ready to use.
type Group struct {
	mu    sync.Mutex
	calls map[string]*call
}

type call struct {
	done chan struct{}
	resp *idresv1.ResolveResponse
	err  error
	// waiters counts the callers still waiting (under Group.mu); when it
	// falls to 0 before the fetch ends, cancel stops the fetch.
	waiters int
	cancel  context.CancelFunc
	// joined counts the callers that came to another's fetch (under
	// Group.mu), so a test can wait until they have all arrived rather
	// than sleep and hope.
	joined int
}

// Do runs fetch once for key among concurrent callers and hands each a
// copy-safe result: the response is shared, so callers must not modify it.
// shared reports whether the result came from another caller's fetch.
// fetch runs in its own goroutine with a context of its own that carries
// no caller's values: it is cancelled once every caller waiting for it has
// given up (and then later callers start a fresh fetch rather than join
// the one being torn down). fetch must still bound its own time.
func (g *Group) Do(ctx context.Context, key string, fetch func(context.Context) (*idresv1.ResolveResponse, error)) (resp *idresv1.ResolveResponse, shared bool, err error) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = make(map[string]*call)
	}
	c, ok := g.calls[key]
	if ok {
		c.joined++
	} else {
		fctx, cancel := context.WithCancel(context.Background())
		c = &call{done: make(chan struct{}), cancel: cancel}
		g.calls[key] = c
		go func() {
			defer close(c.done)
			defer cancel()
			c.resp, c.err = fetch(fctx)
			g.mu.Lock()
			if g.calls[key] == c {
				delete(g.calls, key)
			}
			g.mu.Unlock()
		}()
	}
	c.waiters++
	g.mu.Unlock()
	select {
	case <-c.done:
		return c.resp, ok, c.err
	case <-ctx.Done():
		g.mu.Lock()
		if c.waiters--; c.waiters == 0 {
			c.cancel()
			if g.calls[key] == c {
				delete(g.calls, key)
			}
		}
		g.mu.Unlock()
		return nil, ok, ctx.Err()
	}
}
