package cache

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// clock is an injectable clock that tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func answer(id string) *idresv1.ResolveResponse {
	return &idresv1.ResolveResponse{Outcome: idresv1.Outcome_OUTCOME_OK, Identifier: id}
}

func TestExpiryFollowsTTL(t *testing.T) {
	clk := &clock{t: time.Unix(1_000_000, 0)}
	c := New(10, clk.now)
	k := Key{Answer, "88/a"}
	c.Put(k, "88", answer("88/a"), 60)
	tests := []struct {
		advance time.Duration
		wantOK  bool
		wantTTL uint32
	}{
		{0, true, 60},
		{10 * time.Second, true, 50},
		{49*time.Second + 500*time.Millisecond, true, 1}, // rounds up: a live entry never says 0
		{500 * time.Millisecond, false, 0},
	}
	for i, tc := range tests {
		clk.add(tc.advance)
		_, ttl, ok := c.Get(k)
		if ok != tc.wantOK || ttl != tc.wantTTL {
			t.Fatalf("step %d: Get = ttl %d ok %v, want ttl %d ok %v", i, ttl, ok, tc.wantTTL, tc.wantOK)
		}
	}
	if c.Len() != 0 {
		t.Fatalf("expired entry still held: Len = %d", c.Len())
	}
}

func TestZeroTTLIsNotCached(t *testing.T) {
	c := New(10, nil)
	c.Put(Key{Answer, "88/a"}, "88", answer("88/a"), 0)
	if _, _, ok := c.Get(Key{Answer, "88/a"}); ok {
		t.Fatal("TTL 0 answer was cached")
	}
}

func TestEvictsLeastRecentlyUsedAtBound(t *testing.T) {
	c := New(3, nil)
	for _, n := range []string{"a", "b", "c"} {
		c.Put(Key{Answer, "88/" + n}, "88", answer(n), 100)
	}
	c.Get(Key{Answer, "88/a"}) // a is now most recent; b is the oldest
	c.Put(Key{Answer, "88/d"}, "88", answer("d"), 100)
	if c.Len() != 3 {
		t.Fatalf("Len = %d, want the bound 3", c.Len())
	}
	for n, want := range map[string]bool{"a": true, "b": false, "c": true, "d": true} {
		if _, _, ok := c.Get(Key{Answer, "88/" + n}); ok != want {
			t.Errorf("%s cached = %v, want %v", n, ok, want)
		}
	}
}

func TestGetReturnsACopy(t *testing.T) {
	c := New(3, nil)
	c.Put(Key{Answer, "88/a"}, "88", answer("88/a"), 100)
	r, _, _ := c.Get(Key{Answer, "88/a"})
	r.Identifier = "changed"
	r2, _, _ := c.Get(Key{Answer, "88/a"})
	if r2.Identifier != "88/a" {
		t.Fatalf("caller's change leaked into the cache: %q", r2.Identifier)
	}
}

func TestDeepestReferral(t *testing.T) {
	c := New(10, nil)
	ref := func(p string) *idresv1.ResolveResponse {
		return &idresv1.ResolveResponse{Outcome: idresv1.Outcome_OUTCOME_REFERRAL, Referral: &idresv1.Delegation{Prefix: p}}
	}
	c.Put(Key{Referral, "88"}, "88", ref("88"), 100)
	c.Put(Key{Referral, "88.100"}, "88.100", ref("88.100"), 100)
	tests := []struct{ prefix, want string }{
		{"88.100.1", "88.100"},
		{"88.100", "88.100"},
		{"88.1000", "88"},
		{"88", "88"},
		{"86", ""},
	}
	for _, tc := range tests {
		r, _, ok := c.DeepestReferral(tc.prefix)
		got := ""
		if ok {
			got = r.Referral.Prefix
		}
		if got != tc.want {
			t.Errorf("DeepestReferral(%q) = %q, want %q", tc.prefix, got, tc.want)
		}
	}
}

func TestFlushByPrefix(t *testing.T) {
	c := New(10, nil)
	for _, p := range []string{"88", "88.100", "88.100.1", "88.1000", "86"} {
		c.Put(Key{Referral, p}, p, answer(p), 100)
	}
	if n := c.Flush("88.100"); n != 2 {
		t.Fatalf("Flush(88.100) removed %d, want 2 (88.100 and 88.100.1, not 88.1000)", n)
	}
	if n := c.Flush(""); n != 3 {
		t.Fatalf("Flush(\"\") removed %d, want the 3 left", n)
	}
}

func TestGroupCoalescesConcurrentMisses(t *testing.T) {
	var g Group
	var fetches, owners atomic.Int32
	release := make(chan struct{})
	var wg, started sync.WaitGroup
	const n = 200
	for i := 0; i < n; i++ {
		wg.Add(1)
		started.Add(1)
		go func() {
			defer wg.Done()
			started.Done()
			r, shared, err := g.Do(context.Background(), "88/x", func(context.Context) (*idresv1.ResolveResponse, error) {
				fetches.Add(1)
				<-release
				return answer("88/x"), nil
			})
			if err != nil || r.Identifier != "88/x" {
				t.Errorf("Do = %v, %v", r, err)
			}
			if !shared {
				owners.Add(1)
			}
		}()
	}
	started.Wait()
	// The fetch is held until every other caller has joined it, so all
	// of them must share its one result.
	waitFor(t, func() bool { return g.joined("88/x") == n-1 })
	close(release)
	wg.Wait()
	if f, o := fetches.Load(), owners.Load(); f != 1 || o != 1 {
		t.Fatalf("%d callers made %d fetches (%d unshared results); want one fetch shared by all", n, f, o)
	}
}

func TestGroupWaiterMayGiveUp(t *testing.T) {
	var g Group
	release := make(chan struct{})
	defer close(release)
	go g.Do(context.Background(), "k", func(context.Context) (*idresv1.ResolveResponse, error) { <-release; return answer("k"), nil })
	waitFor(t, func() bool { return g.joined("k") >= 0 })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, shared, err := g.Do(ctx, "k", func(context.Context) (*idresv1.ResolveResponse, error) {
		return nil, fmt.Errorf("second fetch must not run")
	})
	if err != context.Canceled || !shared {
		t.Fatalf("Do with a cancelled context = shared %v, err %v; want shared, context.Canceled", shared, err)
	}
}

// joined reports how many callers wait on the fetch for key, or -1 when
// no fetch for key runs.
func (g *Group) joined(key string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	c, ok := g.calls[key]
	if !ok {
		return -1
	}
	return c.joined
}

// waitFor polls cond until it holds, failing after ten seconds: the test
// waits for the state it needs rather than sleeping a guessed time.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		time.Sleep(time.Millisecond) // a poll interval, not a guess at timing
	}
}

// TestByteBound: with a byte bound, big answers push out the least
// recently used ones, an answer larger than the whole bound is not kept,
// and the size accounting returns to zero when everything is gone.
func TestByteBound(t *testing.T) {
	big := func(id string, n int) *idresv1.ResolveResponse {
		r := answer(id)
		r.Values = []*idresv1.Value{{Index: 1, Type: "blob", Data: make([]byte, n)}}
		return r
	}
	c := New(1000, nil)
	c.LimitBytes(10_000)
	for i := range 5 {
		c.Put(Key{Answer, fmt.Sprintf("88/%d", i)}, "88", big(fmt.Sprint(i), 3000), 100)
	}
	if c.Bytes() > 10_000 {
		t.Errorf("Bytes = %d over the bound of 10000", c.Bytes())
	}
	if c.Len() != 3 {
		t.Errorf("Len = %d, want 3 answers of ~3.3 kB in 10 kB", c.Len())
	}
	for i, want := range []bool{false, false, true, true, true} {
		if _, _, ok := c.Get(Key{Answer, fmt.Sprintf("88/%d", i)}); ok != want {
			t.Errorf("answer %d cached = %v, want %v", i, ok, want)
		}
	}
	c.Put(Key{Answer, "88/huge"}, "88", big("huge", 20_000), 100)
	if _, _, ok := c.Get(Key{Answer, "88/huge"}); ok {
		t.Error("an answer larger than the bound was cached")
	}
	if c.Len() != 3 {
		t.Errorf("the refused answer evicted others: Len = %d", c.Len())
	}
	// Replacing an entry counts the new size, not both.
	c.Put(Key{Answer, "88/4"}, "88", answer("4"), 100)
	c.Flush("")
	if c.Len() != 0 || c.Bytes() != 0 {
		t.Errorf("after Flush: Len %d, Bytes %d; want 0, 0", c.Len(), c.Bytes())
	}
	c.Put(Key{Answer, "88/a"}, "88", big("a", 3000), 100)
	c.LimitBytes(1000)
	if c.Len() != 0 {
		t.Errorf("lowering the bound kept %d entries", c.Len())
	}
}

// TestGroupCancelsTheFetchWhenTheLastWaiterLeaves: the fetch's context
// lives as long as someone waits: one of two waiters leaving does not
// cancel it, the last one leaving does, at once; a caller arriving after
// that starts a fresh fetch instead of joining the cancelled one.
func TestGroupCancelsTheFetchWhenTheLastWaiterLeaves(t *testing.T) {
	var g Group
	fctx := make(chan context.Context, 1)
	fetch := func(ctx context.Context) (*idresv1.ResolveResponse, error) {
		fctx <- ctx
		<-ctx.Done()
		return nil, ctx.Err()
	}
	ctxA, cancelA := context.WithCancel(context.Background())
	ctxB, cancelB := context.WithCancel(context.Background())
	errA, errB := make(chan error, 1), make(chan error, 1)
	go func() { _, _, err := g.Do(ctxA, "k", fetch); errA <- err }()
	walk := <-fctx
	go func() { _, _, err := g.Do(ctxB, "k", fetch); errB <- err }()
	waitFor(t, func() bool { return g.joined("k") == 1 })

	cancelA()
	if err := <-errA; err != context.Canceled {
		t.Fatalf("first waiter: %v, want context.Canceled", err)
	}
	if walk.Err() != nil {
		t.Fatalf("fetch cancelled while a waiter remains: %v", walk.Err())
	}
	cancelB()
	if err := <-errB; err != context.Canceled {
		t.Fatalf("last waiter: %v, want context.Canceled", err)
	}
	if walk.Err() == nil {
		t.Fatal("the last waiter left and the fetch's context is still live")
	}
	r, shared, err := g.Do(context.Background(), "k", func(context.Context) (*idresv1.ResolveResponse, error) { return answer("k"), nil })
	if err != nil || shared || r.Identifier != "k" {
		t.Fatalf("caller after the cancel: %v shared %v err %v, want a fresh fetch of its own", r, shared, err)
	}
}
