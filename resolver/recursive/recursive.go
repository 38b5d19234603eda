// Package recursive is the recursive resolver (design §4): a Walker that
// holds no zones, starts at the deepest referral it has cached (else the
// root hints), follows REFERRAL answers from node to node over gRPC until
// an authoritative node answers, and caches what it learns in
// resolver/cache. It implements resolver.Resolver, so the same gRPC
// service fronts it as fronts an authoritative node. The same walk, with a
// Trace callback and no cache, is what `idres resolve --trace` prints.
package recursive

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/value"
	"github.com/idres/idres/resolver/cache"
	"github.com/idres/idres/resolver/client"
)

// Defaults for Config.
const (
	DefaultUpstreamTimeout = 2 * time.Second
	// DefaultWalkTimeout bounds a whole walk: a few slow endpoints and a
	// full descent fit; 16 silent endpoints (2 s each) do not (REC-013).
	DefaultWalkTimeout = 10 * time.Second
	// DefaultMaxUpstreamQueries bounds the calls of one walk: two dead
	// endpoints at each level of a deep walk fit, a delegation padded
	// with dead endpoints at every level does not (REC-013).
	DefaultMaxUpstreamQueries = 32
	// DefaultFailureTTL is how long a walk that ended in SERVER_FAILURE is
	// remembered for its identifier (REC-014): RFC 9520 asks at least 1 s
	// and at most 5 min.
	DefaultFailureTTL = 5 * time.Second
	// DefaultMaxTTL and DefaultMaxNegativeTTL cap how long an upstream's
	// answers and referrals, and its denials, are kept, whatever TTL
	// they carry (REC-015): unbound's cache-max-ttl and
	// cache-max-negative-ttl.
	DefaultMaxTTL         = 86400
	DefaultMaxNegativeTTL = 3600
	// MaxReferrals is how many referrals one resolution may follow: enough
	// for a prefix of 16 segments below the root.
	MaxReferrals = 16
	// maxConns bounds the pool of upstream connections.
	maxConns = 256
)

// Config configures a Walker.
type Config struct {
	// Roots are the gRPC addresses (host:port) of the root node(s), tried
	// in order.
	Roots []string
	// Cache, when set, is consulted before walking and filled by it; nil
	// walks every time (as the trace does).
	Cache *cache.Cache
	// UpstreamTimeout bounds each call to one endpoint; after it the next
	// endpoint is tried. 0 means DefaultUpstreamTimeout.
	UpstreamTimeout time.Duration
	// WalkTimeout bounds one whole walk, shared by coalesced callers. 0
	// means DefaultWalkTimeout. A walk also ends as soon as no caller
	// waits for it any more.
	WalkTimeout time.Duration
	// MaxUpstreamQueries bounds the upstream calls of one walk, failed
	// ones and the walks again from a parent zone included. 0 means
	// DefaultMaxUpstreamQueries.
	MaxUpstreamQueries int
	// FailureTTL is how long a walk's SERVER_FAILURE is kept for its
	// identifier; 0 means DefaultFailureTTL, negative keeps none. Only
	// walks that ran to their end are kept: not those whose callers all
	// left.
	FailureTTL time.Duration
	// MaxTTL caps the TTL of cached answers (OK, GONE), their values and
	// referrals; MaxNegativeTTL that of cached denials (NOT_FOUND,
	// VALUES_NOT_FOUND, PREFIX_NOT_FOUND). 0 means DefaultMaxTTL and
	// DefaultMaxNegativeTTL.
	MaxTTL, MaxNegativeTTL uint32
	// Dial restricts the addresses delegations may make the walker dial;
	// nil means DefaultDialPolicy(). The root hints are always dialled.
	Dial *DialPolicy
	// HideFailureDetail answers SERVER_FAILURE without what went wrong
	// upstream (addresses, dial errors, whatever answered there), saying
	// only which zone gave no usable answer; referral loops are still
	// explained, as they name zones only. A node serving strangers sets
	// it; the trace, whose user walks for themself, does not.
	HideFailureDetail bool
	// Log, when set, receives the detail of every walk that ran to its
	// end in SERVER_FAILURE.
	Log *slog.Logger
	// TLS, when set, secures every upstream connection; nil means
	// plaintext.
	TLS *tls.Config
	// DialOptions are added to every upstream connection (tests count
	// calls with an interceptor here).
	DialOptions []grpc.DialOption
	// Trace, when set, is called for every step of every walk. It must be
	// safe for concurrent use when the walker is.
	Trace func(Step)
}

// Step is one event of a walk, for tracing.
type Step struct {
	// Zone is the zone cut being asked about ("." for the root hints).
	Zone string
	// Addr is the endpoint asked; "" for a cache step.
	Addr string
	// Cached is set when the step was served from the cache.
	Cached bool
	// Resp is what the endpoint (or cache) answered; nil on error.
	Resp *idresv1.ResolveResponse
	// Err is why the endpoint gave no answer (then the next is tried).
	Err error
	// Elapsed is how long the call took.
	Elapsed time.Duration
}

// Walker resolves recursively. Safe for concurrent use; Close releases
// its upstream connections.
type Walker struct {
	cfg     Config
	flights cache.Group
	stats   struct{ hits, walks, upstream, failures, abandoned atomic.Uint64 }

	mu     sync.Mutex
	conns  map[string]*client.Client
	closed bool
}

// New returns a Walker; it dials nothing until asked.
func New(cfg Config) (*Walker, error) {
	if len(cfg.Roots) == 0 {
		return nil, errors.New("recursive resolver needs at least one root address")
	}
	if cfg.UpstreamTimeout <= 0 {
		cfg.UpstreamTimeout = DefaultUpstreamTimeout
	}
	if cfg.WalkTimeout <= 0 {
		cfg.WalkTimeout = DefaultWalkTimeout
	}
	if cfg.MaxUpstreamQueries <= 0 {
		cfg.MaxUpstreamQueries = DefaultMaxUpstreamQueries
	}
	if cfg.FailureTTL == 0 {
		cfg.FailureTTL = DefaultFailureTTL
	}
	if cfg.MaxTTL == 0 {
		cfg.MaxTTL = DefaultMaxTTL
	}
	if cfg.MaxNegativeTTL == 0 {
		cfg.MaxNegativeTTL = DefaultMaxNegativeTTL
	}
	if cfg.Dial == nil {
		cfg.Dial = DefaultDialPolicy()
	}
	return &Walker{cfg: cfg, conns: make(map[string]*client.Client)}, nil
}

// Stats are the walker's counters since it was made.
type Stats struct {
	// CacheHits: resolutions answered from the cache without a walk.
	CacheHits uint64
	// Walks: walks started (coalesced callers share one).
	Walks uint64
	// UpstreamQueries: calls to authoritative endpoints, failed ones too.
	UpstreamQueries uint64
	// Failures: walks that ended in SERVER_FAILURE.
	Failures uint64
	// Abandoned: walks cancelled because every caller waiting for them
	// had gone.
	Abandoned uint64
}

// Stats returns the walker's counters.
func (w *Walker) Stats() Stats {
	return Stats{
		CacheHits: w.stats.hits.Load(), Walks: w.stats.walks.Load(),
		UpstreamQueries: w.stats.upstream.Load(), Failures: w.stats.failures.Load(),
		Abandoned: w.stats.abandoned.Load(),
	}
}

// Config is the walker's configuration with the defaults filled in.
func (w *Walker) Config() Config { return w.cfg }

// Cache is the walker's cache (nil when it has none).
func (w *Walker) Cache() *cache.Cache { return w.cfg.Cache }

// Close closes every upstream connection.
func (w *Walker) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	var errs []error
	for addr, c := range w.conns {
		if err := c.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", addr, err))
		}
	}
	w.conns = map[string]*client.Client{}
	return errors.Join(errs...)
}

// Resolve implements resolver.Resolver. It always recurses, whatever
// req.Recursive says (REC-001), and never forwards the caller's
// credential, so only public values come back (REC-008).
func (w *Walker) Resolve(ctx context.Context, req *idresv1.ResolveRequest) (*idresv1.ResolveResponse, error) {
	id, err := ident.Parse(req.GetIdentifier())
	if err != nil {
		return &idresv1.ResolveResponse{
			Outcome:    idresv1.Outcome_OUTCOME_INVALID_IDENTIFIER,
			Identifier: req.GetIdentifier(),
			Message:    err.Error(),
		}, nil
	}
	resp, ttl, ok := w.cached(id)
	if ok {
		w.stats.hits.Add(1)
	} else {
		// Coalesce on the lookup key: the walk asks upstream without
		// filters, so every filter variant shares one fetch.
		// The walk's context ends when no caller waits any more (the
		// group counts them) or at the walk's own bound.
		var shared *idresv1.ResolveResponse
		shared, _, err = w.flights.Do(ctx, id.Key(), func(fctx context.Context) (*idresv1.ResolveResponse, error) {
			if r, t, ok := w.cached(id); ok {
				return withTTL(r, t), nil
			}
			wctx, cancel := context.WithTimeout(fctx, w.cfg.WalkTimeout)
			defer cancel()
			w.stats.walks.Add(1)
			resp, detail, err := w.walk(wctx, id)
			switch {
			case fctx.Err() != nil:
				// Nobody waits for this answer: neither count nor keep
				// a failure the walk did not run to.
				w.stats.abandoned.Add(1)
			case resp.GetOutcome() == idresv1.Outcome_OUTCOME_SERVER_FAILURE:
				w.stats.failures.Add(1)
				w.storeFailure(id, resp)
				if w.cfg.Log != nil {
					w.cfg.Log.Info("recursive walk failed", "identifier", id.String(), "detail", detail)
				}
			}
			return resp, err
		})
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", id, err)
		}
		resp, ttl = proto.Clone(shared).(*idresv1.ResolveResponse), shared.Ttl
	}
	resp = finish(resp, ttl, req)
	if resp.Outcome == idresv1.Outcome_OUTCOME_SERVER_FAILURE {
		// A failure is not an answer to keep (REC-014): callers ask again.
		resp.Ttl = 0
	}
	return resp, nil
}

// storeFailure keeps a walk's SERVER_FAILURE for id for the failure TTL,
// in whole seconds (at least 1).
func (w *Walker) storeFailure(id ident.ID, resp *idresv1.ResolveResponse) {
	c := w.cfg.Cache
	if c == nil || w.cfg.FailureTTL < 0 {
		return
	}
	secs := uint32(max(1, (w.cfg.FailureTTL+time.Second-1)/time.Second))
	c.Put(cache.Key{Kind: cache.Failure, Name: id.Key()}, named(id), proto.Clone(resp).(*idresv1.ResolveResponse), secs)
}

// named is the prefix an answer for id is about: the identifier's prefix,
// or for a prefix handle the prefix it names.
func named(id ident.ID) string {
	if id.IsPrefixHandle() {
		if p, err := ident.ParsePrefix(id.Suffix); err == nil && p != "" {
			return ident.Fold(p)
		}
	}
	return id.PrefixKey()
}

// walkTo is the prefix whose zone cuts a walk for id descends. A prefix
// handle is answered by the node that delegates the prefix (design §1), so
// its walk stops at the zone of the parent, not at the prefix's own node.
func walkTo(id ident.ID) string {
	p := named(id)
	if id.IsPrefixHandle() && p != id.PrefixKey() {
		if parent, ok := ident.Parent(p); ok {
			return parent
		}
	}
	return p
}

// cached finds a final answer for id: the answer itself, or a denial of
// its target prefix.
func (w *Walker) cached(id ident.ID) (*idresv1.ResolveResponse, uint32, bool) {
	c := w.cfg.Cache
	if c == nil {
		return nil, 0, false
	}
	if r, ttl, ok := c.Get(cache.Key{Kind: cache.Answer, Name: id.Key()}); ok {
		return r, ttl, true
	}
	if r, ttl, ok := c.Get(cache.Key{Kind: cache.NoPrefix, Name: named(id)}); ok {
		r.Identifier = id.String()
		return r, ttl, true
	}
	if r, ttl, ok := c.Get(cache.Key{Kind: cache.Failure, Name: id.Key()}); ok {
		return r, ttl, true
	}
	return nil, 0, false
}

// finish shapes a (cached or fresh) unfiltered answer for the caller:
// never authoritative, the remaining TTL, and the caller's filters.
func finish(resp *idresv1.ResolveResponse, ttl uint32, req *idresv1.ResolveRequest) *idresv1.ResolveResponse {
	resp.Authoritative = false
	resp.Ttl = ttl
	if resp.Outcome == idresv1.Outcome_OUTCOME_OK && (len(req.GetTypes()) > 0 || len(req.GetIndexes()) > 0) {
		resp.Values = value.Filter(resp.Values, req.GetTypes(), req.GetIndexes(), req.GetFilter())
		if len(resp.Values) == 0 {
			resp.Outcome = idresv1.Outcome_OUTCOME_VALUES_NOT_FOUND
			resp.Message = "no value matches the type and index filter"
		}
	}
	return resp
}

func withTTL(r *idresv1.ResolveResponse, ttl uint32) *idresv1.ResolveResponse {
	r.Ttl = ttl
	return r
}

// walk follows referrals from the deepest cached cut (else the roots)
// until a node answers, and caches each step. Its answer carries the TTL
// to hand out; failures are SERVER_FAILURE answers, not errors. When no
// endpoint of the cached cut it started from answers (the child moved, its
// nodes are down), it forgets that referral and starts again higher up,
// as a DNS resolver goes back to the parent of a lame delegation (REC-011).
// detail is what went wrong when the walk failed.
func (w *Walker) walk(ctx context.Context, id ident.ID) (resp *idresv1.ResolveResponse, detail string, err error) {
	r := &run{budget: w.cfg.MaxUpstreamQueries}
	for {
		resp, stale, err := w.walkFrom(ctx, id, r)
		if stale == "" || ctx.Err() != nil {
			return resp, r.detail, err
		}
		w.cfg.Cache.Delete(cache.Key{Kind: cache.Referral, Name: stale})
	}
}

// run is the state of one walk across its restarts.
type run struct {
	budget int    // upstream calls left
	detail string // why it failed, in full
}

// fail ends a walk in SERVER_FAILURE: full says what went wrong, public
// what a stranger may be told of it (REC-012).
func (w *Walker) fail(r *run, id ident.ID, public, full string) *idresv1.ResolveResponse {
	r.detail = full
	if w.cfg.HideFailureDetail {
		return failure(id, public)
	}
	return failure(id, full)
}

// walkFrom is one walk from the deepest cached cut. stale names that cut
// when none of its endpoints answered.
func (w *Walker) walkFrom(ctx context.Context, id ident.ID, r *run) (resp *idresv1.ResolveResponse, stale string, err error) {
	tgt := walkTo(id)
	zone, endpoints := ".", w.cfg.Roots
	var cut *string // the zone cut we were last referred to; nil at the roots
	if c := w.cfg.Cache; c != nil {
		if r, ttl, ok := c.DeepestReferral(tgt); ok {
			p := ident.Fold(r.Referral.GetPrefix())
			cut, zone, endpoints = &p, p, r.Referral.GetGrpc()
			w.trace(Step{Zone: zone, Cached: true, Resp: withTTL(r, ttl)})
		}
	}
	fromCache := cut != nil
	var path []string // zone cuts followed, for loop messages
	for referrals := 0; ; {
		resp, err := w.ask(ctx, zone, cut, endpoints, id, &r.budget)
		if err != nil {
			if ctx.Err() != nil {
				msg := fmt.Sprintf("walk for %s gave up after %s", id, w.cfg.WalkTimeout)
				return w.fail(r, id, msg, fmt.Sprintf("%s: %v", msg, err)), "", nil
			}
			if fromCache && len(path) == 0 && !errors.Is(err, errBudget) {
				return nil, zone, nil
			}
			public := fmt.Sprintf("no node of zone %s gave a usable answer", zoneName(zone))
			if errors.Is(err, errBudget) {
				public = fmt.Sprintf("no answer for %s within %d upstream calls", id, w.cfg.MaxUpstreamQueries)
			}
			return w.fail(r, id, public, err.Error()), "", nil
		}
		if resp.Outcome != idresv1.Outcome_OUTCOME_REFERRAL {
			w.store(id, named(id), resp)
			return resp, "", nil
		}
		d := resp.GetReferral()
		next := ident.Fold(d.GetPrefix())
		if reason := closer(cut, next, tgt); reason != "" {
			// Zone names only: a stranger may read them (REC-003).
			msg := fmt.Sprintf("referral loop: zone %s referred %s to %q, %s (path: %s)",
				zoneName(zone), id, d.GetPrefix(), reason, strings.Join(append(path, zoneName(zone)), " -> "))
			return w.fail(r, id, msg, msg), "", nil
		}
		if referrals++; referrals > MaxReferrals {
			msg := fmt.Sprintf("more than %d referrals resolving %s (path: %s)", MaxReferrals, id, strings.Join(path, " -> "))
			return w.fail(r, id, msg, msg), "", nil
		}
		if len(d.GetGrpc()) == 0 {
			msg := fmt.Sprintf("referral to %q from zone %s lists no gRPC endpoint", d.GetPrefix(), zoneName(zone))
			return w.fail(r, id, msg, msg), "", nil
		}
		if c := w.cfg.Cache; c != nil {
			c.Put(cache.Key{Kind: cache.Referral, Name: next}, next, resp, resp.Ttl)
		}
		path = append(path, zoneName(zone))
		cut, zone, endpoints = &next, next, d.GetGrpc()
	}
}

// closer explains why a referral to next does not bring the walk closer to
// tgt, or returns "" when it does: next must cover tgt and lie strictly
// below the previous cut.
func closer(prev *string, next, tgt string) string {
	switch {
	case !ident.Covers(next, tgt):
		return fmt.Sprintf("which does not enclose %q (sideways)", tgt)
	case prev == nil:
		return ""
	case next == *prev:
		return fmt.Sprintf("the zone cut already followed (a repeat of %q)", *prev)
	case !ident.Covers(*prev, next):
		return fmt.Sprintf("which is not below the previous cut %q (upward)", *prev)
	}
	return ""
}

// store caches a final answer for its TTL, under the identifier or, for a
// denial of the prefix, under the prefix it names.
func (w *Walker) store(id ident.ID, prefix string, resp *idresv1.ResolveResponse) {
	c := w.cfg.Cache
	if c == nil {
		return
	}
	switch resp.Outcome {
	case idresv1.Outcome_OUTCOME_OK, idresv1.Outcome_OUTCOME_NOT_FOUND,
		idresv1.Outcome_OUTCOME_VALUES_NOT_FOUND, idresv1.Outcome_OUTCOME_GONE:
		c.Put(cache.Key{Kind: cache.Answer, Name: id.Key()}, prefix, proto.Clone(resp).(*idresv1.ResolveResponse), resp.Ttl)
	case idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND:
		c.Put(cache.Key{Kind: cache.NoPrefix, Name: prefix}, prefix, proto.Clone(resp).(*idresv1.ResolveResponse), resp.Ttl)
	}
}

// errBudget ends a walk that has made all the upstream calls it may.
var errBudget = errors.New("upstream query budget spent")

// ask tries each endpoint of a zone in order, each within the upstream
// timeout, and returns the first usable answer; cut is the zone cut the
// walk was referred to (nil at the root hints), which the answer must
// lie within. Each call spends one of budget.
func (w *Walker) ask(ctx context.Context, zone string, cut *string, endpoints []string, id ident.ID, budget *int) (*idresv1.ResolveResponse, error) {
	var errs []string
	for _, addr := range endpoints {
		if ctx.Err() != nil {
			break
		}
		if *budget <= 0 {
			errs = append(errs, fmt.Sprintf("%v: %d calls made", errBudget, w.cfg.MaxUpstreamQueries))
			return nil, fmt.Errorf("no endpoint of zone %s answered (%s): %w", zoneName(zone), strings.Join(errs, "; "), errBudget)
		}
		*budget--
		start := time.Now()
		w.stats.upstream.Add(1)
		resp, err := w.call(ctx, addr, cut, id)
		w.trace(Step{Zone: zone, Addr: addr, Resp: resp, Err: err, Elapsed: time.Since(start)})
		if err == nil {
			return resp, nil
		}
		errs = append(errs, fmt.Sprintf("%s: %v", addr, err))
	}
	if len(errs) == 0 {
		errs = append(errs, "no endpoint tried")
	}
	return nil, fmt.Errorf("no endpoint of zone %s answered (%s)", zoneName(zone), strings.Join(errs, "; "))
}

func (w *Walker) call(ctx context.Context, addr string, cut *string, id ident.ID) (*idresv1.ResolveResponse, error) {
	c, err := w.conn(addr)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, w.cfg.UpstreamTimeout)
	defer cancel()
	resp, err := c.Resolve(cctx, &idresv1.ResolveRequest{Identifier: id.String()})
	if err != nil {
		return nil, err
	}
	switch resp.GetOutcome() {
	case idresv1.Outcome_OUTCOME_UNSPECIFIED, idresv1.Outcome_OUTCOME_SERVER_FAILURE:
		// An upstream that cannot answer is treated like one that is down.
		return nil, fmt.Errorf("answered %s: %s", resp.GetOutcome(), resp.GetMessage())
	case idresv1.Outcome_OUTCOME_REFERRAL:
		if resp.GetReferral() == nil {
			return nil, errors.New("answered REFERRAL without a delegation")
		}
	}
	if err := matches(resp, id, cut); err != nil {
		return nil, err
	}
	w.bound(resp)
	return resp, nil
}

// matches checks that an upstream's answer is about the question (REC-016):
// the identifier asked, and, for a final answer from a zone the walk was
// referred to, an authoritative one from that zone or below it that
// encloses the prefix asked about. A node that answers otherwise is lame
// or lying, and is passed over like one that is down.
func matches(resp *idresv1.ResolveResponse, id ident.ID, cut *string) error {
	got, err := ident.Parse(resp.GetIdentifier())
	if err != nil || got.Key() != id.Key() {
		return fmt.Errorf("answered about %q, not %q", resp.GetIdentifier(), id)
	}
	if resp.Outcome == idresv1.Outcome_OUTCOME_REFERRAL {
		return nil // closer checks where a referral points
	}
	zone := ident.Fold(resp.GetZone())
	if !ident.Covers(zone, named(id)) {
		return fmt.Errorf("answered %s for zone %q, which does not enclose %q", resp.Outcome, resp.GetZone(), named(id))
	}
	if cut == nil {
		return nil
	}
	if !resp.GetAuthoritative() {
		return fmt.Errorf("answered %s without authority for zone %q (lame delegation)", resp.Outcome, zoneName(*cut))
	}
	if !ident.Covers(*cut, zone) {
		return fmt.Errorf("answered %s for zone %q, outside the delegated zone %q", resp.Outcome, resp.GetZone(), *cut)
	}
	return nil
}

// bound makes an upstream's answer fit for anonymous callers and the
// cache (REC-015, REC-016): values not public and who withdrew a
// tombstone are dropped (the walker holds no credential, but an upstream
// may still show them, to a client certificate say), and TTLs are capped.
func (w *Walker) bound(resp *idresv1.ResolveResponse) {
	if pub := value.Public(resp.Values); len(pub) != len(resp.Values) {
		resp.Values = pub
		if resp.Outcome == idresv1.Outcome_OUTCOME_OK && len(pub) == 0 {
			resp.Outcome = idresv1.Outcome_OUTCOME_VALUES_NOT_FOUND
			resp.Message = "the identifier has no public value"
			resp.Ttl = resp.GetNegativeTtl()
			if resp.Ttl == 0 {
				resp.Ttl = value.DefaultNegTTL
			}
		}
	}
	if t := resp.GetTombstone(); t != nil {
		t.DeletedBy = ""
	}
	limit := w.cfg.MaxTTL
	switch resp.Outcome {
	case idresv1.Outcome_OUTCOME_NOT_FOUND, idresv1.Outcome_OUTCOME_VALUES_NOT_FOUND, idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND:
		limit = w.cfg.MaxNegativeTTL
	}
	resp.Ttl = min(resp.Ttl, limit)
	resp.NegativeTtl = min(resp.NegativeTtl, w.cfg.MaxNegativeTTL)
	for _, v := range resp.Values {
		if v.Ttl != nil && *v.Ttl > w.cfg.MaxTTL {
			v.Ttl = proto.Uint32(w.cfg.MaxTTL)
		}
	}
	if d := resp.GetReferral(); d != nil && d.Ttl != nil && *d.Ttl > w.cfg.MaxTTL {
		d.Ttl = proto.Uint32(w.cfg.MaxTTL)
	}
}

// conn returns the pooled connection to addr, dialling it on first use.
func (w *Walker) conn(addr string) (*client.Client, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, errors.New("resolver is shut down")
	}
	if c, ok := w.conns[addr]; ok {
		return c, nil
	}
	if len(w.conns) >= maxConns {
		// Delegations name the addresses, so a hostile zone could make the
		// pool grow without end: drop an arbitrary connection (a call in
		// flight on it fails over to the next endpoint).
		for a, old := range w.conns {
			old.Close()
			delete(w.conns, a)
			break
		}
	}
	opts := client.Options{TLS: w.cfg.TLS, DialOptions: w.cfg.DialOptions}
	if !slices.Contains(w.cfg.Roots, addr) {
		// A delegation named addr: dial it only where the policy allows,
		// checked again on every address the name resolves to.
		if err := w.cfg.Dial.checkEndpoint(addr); err != nil {
			return nil, err
		}
		opts.DialOptions = append(slices.Clip(opts.DialOptions), grpc.WithContextDialer(w.cfg.Dial.dialer()))
	}
	c, err := client.Dial(addr, opts)
	if err != nil {
		return nil, err
	}
	w.conns[addr] = c
	return c, nil
}

func (w *Walker) trace(s Step) {
	if w.cfg.Trace != nil {
		w.cfg.Trace(s)
	}
}

func failure(id ident.ID, msg string) *idresv1.ResolveResponse {
	return &idresv1.ResolveResponse{
		Outcome:    idresv1.Outcome_OUTCOME_SERVER_FAILURE,
		Identifier: id.String(),
		Message:    msg,
	}
}

// zoneName spells a folded zone for messages: "." for the root hints and
// the root zone, as DNS does.
func zoneName(z string) string {
	if z == "" || z == "." {
		return "."
	}
	return z
}
