package dnsbridge

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/resolver/answer"
	"github.com/idres/idres/resolver/ratelimit"
)

// countingResolver is the real Authority, counting the resolutions asked of it.
type countingResolver struct {
	*answer.Authority
	n atomic.Int64
}

func (c *countingResolver) Resolve(ctx context.Context, req *idresv1.ResolveRequest) (*idresv1.ResolveResponse, error) {
	c.n.Add(1)
	return c.Authority.Resolve(ctx, req)
}

func (c *countingResolver) ResolvePrefix(ctx context.Context, p string) (*idresv1.ResolveResponse, error) {
	c.n.Add(1)
	return c.Authority.ResolvePrefix(ctx, p)
}

// startBridgeWith is startBridge's fixture served by a second handler
// with a counting resolver and rrl.
func startBridgeWith(t *testing.T, rrl *ratelimit.RRL) (*testBridge, *countingResolver) {
	t.Helper()
	b := startBridge(t)
	srv, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	res := &countingResolver{Authority: &answer.Authority{Store: b.store, Self: &idresv1.Delegation{Dns: []string{srv.Addr()}}}}
	h, err := New(Config{Zone: testZone, Resolver: res, RateLimit: rrl, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve(h)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return &testBridge{store: b.store, h: h, srv: srv, addr: srv.Addr()}, res
}

// TestRateLimitedQueryIsNotResolved: the response-rate limit decides
// before any lookup, so a limited query costs a table lookup, not a
// resolution (and not the building of an answer that is then thrown away).
func TestRateLimitedQueryIsNotResolved(t *testing.T) {
	now := time.Unix(1e9, 0)
	rrl := ratelimit.NewRRL(1, 1) // one answer a second; every limited one slips, truncated
	rrl.Now = func() time.Time { return now }
	b, res := startBridgeWith(t, rrl)
	const queries = 10
	tc := 0
	for range queries {
		r := exchange(t, b.addr, "udp", part42, dns.TypeTXT, 1232)
		if r.Truncated {
			tc++
		}
	}
	if tc != queries-1 {
		t.Fatalf("%d of %d answers truncated, want %d (one token, slip 1)", tc, queries, queries-1)
	}
	if n := res.n.Load(); n != 1 {
		t.Errorf("%d resolutions for %d queries of which %d were rate limited, want 1", n, queries, queries-1)
	}
}

// bigRecord stores an identifier of n values of size NUL bytes each, as
// older code let one be written (up to 1000 x 64 KiB), bypassing the
// registrar's limits.
func bigRecord(t *testing.T, b *testBridge, id string, n, size int) {
	t.Helper()
	vals := make([]*idresv1.Value, n)
	for i := range vals {
		vals[i] = &idresv1.Value{Index: uint32(i + 1), Type: "t", Data: make([]byte, size), Ttl: proto.Uint32(60), PublicRead: proto.Bool(true)}
	}
	err := b.store.Update(func(tx *store.Tx) error {
		return tx.CreateIdentifier(ident.MustParse(id), &idresv1.Identifier{Values: vals})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAnswerBuiltWithinTransportSize: the records of an identifier are
// built only while they fit what the transport carries, so a 59-byte
// query on a record of megabytes renders at most about one message's
// worth of record data: over UDP the answer is TC with what fits; over
// TCP, the records that fit 65535 bytes, TC set (DNS-005: an RRset beyond
// 64 KiB is not served whole by DNS).
func TestAnswerBuiltWithinTransportSize(t *testing.T) {
	b, _ := startBridgeWith(t, nil)
	// 40 x 65,000 NUL bytes: 2.6 MB stored, 10.4 MB as TXT presentation text.
	bigRecord(t, b, "88.100/huge", 40, 65000)
	const name = "huge._id.100.88.id.example."
	for _, c := range []struct {
		network string
		edns    uint16
		max     int
		records int // answer records expected
	}{
		{"udp", 0, 512, 0},
		{"udp", 1232, 1232, 0},
		{"tcp", 0, 65535, 1},
	} {
		for _, qtype := range []uint16{dns.TypeTXT, dns.TypeANY} {
			before := b.h.rendered.Load()
			r := exchange(t, b.addr, c.network, name, qtype, c.edns)
			rendered := b.h.rendered.Load() - before
			raw, err := r.Pack()
			if err != nil {
				t.Fatal(err)
			}
			what := c.network + " " + dns.TypeToString[qtype]
			if !r.Truncated || len(raw) > c.max || len(r.Answer) != c.records {
				t.Errorf("%s: TC %v, %d bytes, %d records; want TC, at most %d bytes, %d records", what, r.Truncated, len(raw), len(r.Answer), c.max, c.records)
			}
			// One record of 65,000 NUL bytes is 260 KB of presentation
			// text; none may be built that the message cannot carry.
			if limit := int64(4 * c.max); rendered > limit {
				t.Errorf("%s: rendered %d bytes of record data for an answer of at most %d bytes (limit %d)", what, rendered, c.max, limit)
			}
		}
	}
}

// BenchmarkLargeRecord is one UDP query (EDNS 1232), over loopback, for
// the record: 250 values of 65,000 NUL bytes (16 MB). B/op
// counts the server's allocations too (same process).
func BenchmarkLargeRecord(b *testing.B) {
	br := startBridge(b)
	vals := make([]*idresv1.Value, 250)
	for i := range vals {
		vals[i] = &idresv1.Value{Index: uint32(i + 1), Type: "t", Data: make([]byte, 65000), Ttl: proto.Uint32(60), PublicRead: proto.Bool(true)}
	}
	if err := br.store.Update(func(tx *store.Tx) error {
		return tx.CreateIdentifier(ident.MustParse("88.100/huge"), &idresv1.Identifier{Values: vals})
	}); err != nil {
		b.Fatal(err)
	}
	for _, network := range []string{"udp", "tcp"} {
		b.Run(network, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				exchange(b, br.addr, network, "huge._id.100.88.id.example.", dns.TypeTXT, 1232)
			}
		})
	}
}
