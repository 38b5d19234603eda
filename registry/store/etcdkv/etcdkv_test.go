package etcdkv_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idres/idres/registry/store/etcdkv"
	"github.com/idres/idres/registry/store/etcdkv/etcdtest"
	"github.com/idres/idres/registry/store/kv"
	"github.com/idres/idres/registry/store/kv/kvtest"
)

var prefixes atomic.Int64

// newPrefix gives each store of a test its own key range.
func newPrefix(t *testing.T) string {
	return fmt.Sprintf("/idres-test/%d", prefixes.Add(1))
}

func open(t *testing.T, cfg etcdkv.Config) *etcdkv.Backend {
	t.Helper()
	b, err := etcdkv.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestSuite runs the shared storage suite on etcd.
func TestSuite(t *testing.T) {
	t.Parallel()
	c := etcdtest.Start(t, 1)
	kvtest.Run(t, func(t *testing.T) func() (kv.Backend, error) {
		cfg := etcdkv.Config{Endpoints: c.Endpoints(), Prefix: newPrefix(t)}
		return func() (kv.Backend, error) { return etcdkv.Open(context.Background(), cfg) }
	})
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("after %s: %s", d, what)
		}
		time.Sleep(100 * time.Microsecond)
	}
	return time.Since(start)
}

func get(b kv.Backend, bucket, key string) string {
	var out string
	_ = b.View(func(tx kv.Tx) error {
		if bk := tx.Bucket([]byte(bucket)); bk != nil {
			out = string(bk.Get([]byte(key)))
		}
		return nil
	})
	return out
}

func put(b kv.Backend, bucket, key, val string) error {
	return b.Update(func(tx kv.Tx) error {
		bk, err := tx.CreateBucketIfNotExists([]byte(bucket))
		if err != nil {
			return err
		}
		return bk.Put([]byte(key), []byte(val))
	})
}

// TestReplicas: two backends on one prefix, each through its own member.
// A write on one is seen by the other; increments from both at once are
// all kept.
func TestReplicas(t *testing.T) {
	t.Parallel()
	c := etcdtest.Start(t, 3)
	prefix := newPrefix(t)
	a := open(t, etcdkv.Config{Endpoints: []string{c.Endpoint(0)}, Prefix: prefix})
	b := open(t, etcdkv.Config{Endpoints: []string{c.Endpoint(1)}, Prefix: prefix})

	changed := make(chan struct{}, 1)
	b.OnChange(func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	})
	if err := put(a, "m", "k", "from a"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "b never saw a's write", func() bool { return get(b, "m", "k") == "from a" })
	select {
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Error("b's OnChange did not run for a's write")
	}
	// The lag from a's acknowledgement to b's first read that sees it.
	var lags []time.Duration
	for i := range 50 {
		if err := put(a, "m", "k", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
		lags = append(lags, waitFor(t, 5*time.Second, "b never saw a's write", func() bool { return get(b, "m", "k") == fmt.Sprint(i) }))
	}
	slices.Sort(lags)
	t.Logf("write on a -> visible on b, 50 writes: median %s, p90 %s, max %s", lags[25], lags[45], lags[49])

	const each = 40
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, r := range []kv.Backend{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if err := r.Update(func(tx kv.Tx) error { return kvtest.Increment(tx.Bucket([]byte("m")), "n") }); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("increment: %v", err)
	}
	for name, r := range map[string]kv.Backend{"a": a, "b": b} {
		waitFor(t, 5*time.Second, "replicas did not converge", func() bool { return get(r, "m", "n") == fmt.Sprint(2*each) })
		t.Logf("replica %s: n = %s", name, get(r, "m", "n"))
	}
}

// TestQuorumLoss: with one member of three down, reads and writes go on;
// with two down, reads are served from the cache until the stale limit
// and writes fail as unavailable; once the members return, writes resume
// without reopening.
func TestQuorumLoss(t *testing.T) {
	t.Parallel()
	c := etcdtest.Start(t, 3)
	b := open(t, etcdkv.Config{Endpoints: c.Endpoints(), Prefix: newPrefix(t), WriteTimeout: 2 * time.Second, StaleLimit: 4 * time.Second})
	if err := put(b, "m", "k", "1"); err != nil {
		t.Fatal(err)
	}

	c.Stop(2)
	if err := put(b, "m", "k", "2"); err != nil {
		t.Fatalf("write with two of three members: %v", err)
	}
	if got := get(b, "m", "k"); got != "2" {
		t.Fatalf("read with two of three members = %q", got)
	}

	c.Stop(1)
	err := put(b, "m", "k", "3")
	if !errors.Is(err, kv.ErrUnavailable) {
		t.Fatalf("write without quorum: %v, want ErrUnavailable", err)
	}
	if got := get(b, "m", "k"); got != "2" {
		t.Errorf("read from the cache without quorum = %q, want 2", got)
	}
	waitFor(t, 15*time.Second, "reads still served past the stale limit", func() bool {
		return errors.Is(b.View(func(kv.Tx) error { return nil }), kv.ErrUnavailable)
	})
	t.Logf("reads refused once stale for %s", b.Staleness().Round(time.Millisecond))

	c.Restart(1)
	c.Restart(2)
	c.WaitQuorum(t)
	waitFor(t, 20*time.Second, "writes did not resume", func() bool { return put(b, "m", "k", "4") == nil })
	waitFor(t, 10*time.Second, "reads did not resume", func() bool { return get(b, "m", "k") == "4" })
}

// TestWatchResumeAndResync: a replica whose member goes away catches up
// from its last revision when it comes back, and reloads everything when
// that revision was compacted meanwhile.
func TestWatchResumeAndResync(t *testing.T) {
	t.Parallel()
	c := etcdtest.Start(t, 3)
	prefix := newPrefix(t)
	a := open(t, etcdkv.Config{Endpoints: []string{c.Endpoint(0)}, Prefix: prefix, StaleLimit: time.Hour})
	w := open(t, etcdkv.Config{Endpoints: []string{c.Endpoint(1), c.Endpoint(2)}, Prefix: prefix})
	if err := put(w, "m", "k", "0"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "a did not see the first write", func() bool { return get(a, "m", "k") == "0" })

	for round, compact := range []bool{false, true} {
		c.Stop(0)
		for i := 1; i <= 5; i++ {
			if err := put(w, "m", "k", fmt.Sprint(10*round+i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := put(w, "m", fmt.Sprintf("round%d", round), "done"); err != nil {
			t.Fatal(err)
		}
		if compact {
			c.Compact(t, int64(w.AppliedRevision()))
		}
		if got := get(a, "m", "k"); got == fmt.Sprint(10*round+5) {
			t.Fatalf("round %d: a saw the writes while its member was down", round)
		}
		reloads := a.Reloads()
		c.Restart(0)
		c.WaitQuorum(t)
		waitFor(t, 20*time.Second, fmt.Sprintf("round %d: a did not catch up", round), func() bool {
			return get(a, "m", "k") == fmt.Sprint(10*round+5) && get(a, "m", fmt.Sprintf("round%d", round)) == "done"
		})
		if got := a.Reloads() - reloads; compact != (got > 0) {
			t.Errorf("round %d (compacted %v): %d reloads", round, compact, got)
		}
	}
}

// TestTxnTooLarge: a transaction over the limits is refused before it is
// sent, or mapped from etcd's own refusal, as kv.ErrTxnTooLarge.
func TestTxnTooLarge(t *testing.T) {
	t.Parallel()
	c := etcdtest.Start(t, 1)
	many := func(n int) func(kv.Tx) error {
		return func(tx kv.Tx) error {
			bk, err := tx.CreateBucketIfNotExists([]byte("m"))
			if err != nil {
				return err
			}
			for i := range n {
				if err := bk.Put(fmt.Appendf(nil, "k%d", i), []byte("v")); err != nil {
					return err
				}
			}
			return nil
		}
	}
	ours := open(t, etcdkv.Config{Endpoints: c.Endpoints(), Prefix: newPrefix(t), MaxTxnOps: 50})
	if err := ours.Update(many(60)); !errors.Is(err, kv.ErrTxnTooLarge) {
		t.Errorf("60 keys with MaxTxnOps 50: %v", err)
	}
	if err := ours.Update(many(40)); err != nil {
		t.Errorf("40 keys with MaxTxnOps 50: %v", err)
	}
	// Told a higher limit than the server's (128): the server refuses.
	theirs := open(t, etcdkv.Config{Endpoints: c.Endpoints(), Prefix: newPrefix(t), MaxTxnOps: 1000})
	if err := theirs.Update(many(200)); !errors.Is(err, kv.ErrTxnTooLarge) {
		t.Errorf("200 keys against etcd's 128: %v", err)
	}
}

// TestAuth: with etcd authentication on, the right password opens the
// store and a wrong one is refused at Open.
func TestAuth(t *testing.T) {
	t.Parallel()
	c := etcdtest.Start(t, 1, etcdtest.Auth("idres", "s3cret-pass"))
	cfg := etcdkv.Config{Endpoints: c.Endpoints(), Prefix: newPrefix(t), Username: "idres", Password: "wrong", DialTimeout: 3 * time.Second}
	if b, err := etcdkv.Open(context.Background(), cfg); err == nil {
		b.Close()
		t.Fatal("Open with a wrong password succeeded")
	} else if strings.Contains(err.Error(), "wrong") {
		t.Errorf("the error shows the password: %v", err)
	}
	cfg.Password = "s3cret-pass"
	b := open(t, cfg)
	if err := put(b, "m", "k", "v"); err != nil {
		t.Fatalf("write as idres: %v", err)
	}
	if got := get(b, "m", "k"); got != "v" {
		t.Errorf("read back %q", got)
	}
}

// TestTLS: a cluster that serves clients over TLS and requires a client
// certificate is used with one, and refuses a client without.
func TestTLS(t *testing.T) {
	t.Parallel()
	c := etcdtest.Start(t, 1, etcdtest.TLS())
	cfg := etcdkv.Config{Endpoints: c.Endpoints(), Prefix: newPrefix(t), TLS: c.ClientTLS()}
	b := open(t, cfg)
	if err := put(b, "m", "k", "v"); err != nil {
		t.Fatalf("write over TLS: %v", err)
	}
	if got := get(b, "m", "k"); got != "v" {
		t.Errorf("read back %q", got)
	}
	noCert := c.ClientTLS()
	noCert.Certificates = nil
	cfg.TLS, cfg.DialTimeout = noCert, 3*time.Second
	if b, err := etcdkv.Open(context.Background(), cfg); err == nil {
		b.Close()
		t.Error("Open without a client certificate succeeded")
	}
}

// TestLeaderKilled: a write started right after the leader dies (SIGKILL,
// no handover) is committed through the new leader within the write
// timeout, once: an increment is not applied twice by the retry.
func TestLeaderKilled(t *testing.T) {
	t.Parallel()
	c := etcdtest.Start(t, 3)
	b := open(t, etcdkv.Config{Endpoints: c.Endpoints(), Prefix: newPrefix(t), WriteTimeout: 8 * time.Second})
	inc := func() error {
		return b.Update(func(tx kv.Tx) error {
			bk, err := tx.CreateBucketIfNotExists([]byte("m"))
			if err != nil {
				return err
			}
			return kvtest.Increment(bk, "n")
		})
	}
	if err := inc(); err != nil {
		t.Fatal(err)
	}
	cli := c.Client(t)
	leader := -1
	for i, ep := range c.Endpoints() {
		st, err := cli.Status(context.Background(), ep)
		if err != nil {
			t.Fatal(err)
		}
		if st.Leader == st.Header.MemberId {
			leader = i
		}
	}
	if leader < 0 {
		t.Fatal("no leader")
	}
	c.Kill(leader)
	start := time.Now()
	if err := inc(); err != nil {
		t.Fatalf("increment after the leader was killed: %v", err)
	}
	t.Logf("write acknowledged %s after the leader was killed", time.Since(start).Round(time.Millisecond))
	if got := get(b, "m", "n"); got != "2" {
		t.Errorf("counter = %s after two increments", got)
	}
}
