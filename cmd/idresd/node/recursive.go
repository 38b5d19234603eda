package node

import (
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/store"

	"github.com/idres/idres/resolver"
	"github.com/idres/idres/resolver/answer"
	"github.com/idres/idres/resolver/cache"
	"github.com/idres/idres/resolver/client"
	"github.com/idres/idres/resolver/recursive"
)

// RecursiveConfig configures a recursive node. The zero value means the
// node is authoritative only.
type RecursiveConfig struct {
	// Roots are the root node's gRPC addresses; non-empty makes the node
	// recursive.
	Roots []string
	// CacheSize bounds the cache in entries; 0 means cache.DefaultSize.
	CacheSize int
	// CacheBytes bounds it in (approximate) bytes; 0 means no byte bound.
	CacheBytes int64
	// UpstreamTimeout bounds each call to one upstream endpoint; 0 means
	// recursive.DefaultUpstreamTimeout.
	UpstreamTimeout time.Duration
	// Invalidate lists authoritative nodes' change feeds to follow, dropping
	// a cached answer as soon as its identifier changes (invalidate.go);
	// InvalidateTokenFile holds the read credential for those without one.
	Invalidate          []FeedSubscription
	InvalidateTokenFile string
	// UpstreamTLS makes upstream connections (the walk and the feeds
	// above) use TLS, verified against the system's roots or, when set,
	// UpstreamCA; UpstreamCert and UpstreamKey are a client certificate
	// for upstreams that require one.
	UpstreamTLS                           bool
	UpstreamCA, UpstreamCert, UpstreamKey string
	// Dial restricts which addresses delegations may make the node dial;
	// nil means recursive.DefaultDialPolicy() (link-local, metadata,
	// unspecified and multicast addresses denied; loopback allowed).
	Dial *recursive.DialPolicy
	// WalkTimeout, MaxUpstreamQueries, FailureTTL, MaxTTL and
	// MaxNegativeTTL bound walks and what the cache keeps; zero values
	// mean the recursive package's defaults, a negative FailureTTL keeps
	// no failures.
	WalkTimeout            time.Duration
	MaxUpstreamQueries     int
	FailureTTL             time.Duration
	MaxTTL, MaxNegativeTTL uint32
}

// upstreamTLS loads the client TLS configuration of upstream
// connections, or nil for plaintext.
func (c RecursiveConfig) upstreamTLS() (*tls.Config, error) {
	if !c.UpstreamTLS && c.UpstreamCA == "" && c.UpstreamCert == "" {
		return nil, nil
	}
	cfg, err := client.LoadTLS(c.UpstreamCA, c.UpstreamCert, c.UpstreamKey)
	if err != nil {
		return nil, fmt.Errorf("upstream TLS (--upstream-ca, --upstream-cert, --upstream-key): %w", err)
	}
	if cfg == nil {
		// --upstream-tls alone: verified against the system's roots.
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return cfg, nil
}

// Enabled reports whether the node recurses.
func (c RecursiveConfig) Enabled() bool { return len(c.Roots) > 0 }

// resolverFor returns what answers Resolve on this node: the authority, or
// on a recursive node a walker with its own cache. A recursive node holds
// no zones (REC-002): it never answers from its store.
func (n *Node) resolverFor(authority *answer.Authority) (resolver.Resolver, error) {
	rc := n.cfg.Recursive
	if !rc.Enabled() {
		return authority, nil
	}
	c := cache.New(rc.CacheSize, n.cfg.Now)
	c.LimitBytes(rc.CacheBytes)
	upTLS, err := rc.upstreamTLS()
	if err != nil {
		return nil, err
	}
	n.upstreamTLS = upTLS
	// Callers are strangers: they learn that a walk failed, the log
	// learns why (REC-012).
	w, err := recursive.New(recursive.Config{
		TLS:                upTLS,
		Roots:              rc.Roots,
		Cache:              c,
		UpstreamTimeout:    rc.UpstreamTimeout,
		WalkTimeout:        rc.WalkTimeout,
		MaxUpstreamQueries: rc.MaxUpstreamQueries,
		FailureTTL:         rc.FailureTTL,
		MaxTTL:             rc.MaxTTL,
		MaxNegativeTTL:     rc.MaxNegativeTTL,
		Dial:               rc.Dial,
		HideFailureDetail:  true,
		Log:                n.log,
	})
	if err != nil {
		return nil, fmt.Errorf("recursive resolver: %w", err)
	}
	n.walker = w
	var held []*idresv1.Prefix
	_ = n.store.View(func(tx *store.Tx) (err error) { held, _, err = tx.ListPrefixes("", 1); return err })
	if len(held) > 0 {
		n.log.Warn("this node recurses: the prefixes in its store are not served (REC-001)", "data", n.cfg.DataDir)
	}
	if err := n.registerWalkerMetrics(w); err != nil {
		return nil, err
	}
	wc := w.Config()
	n.log.Info("recursive resolver", "roots", rc.Roots, "cache_entries", rc.CacheSize, "cache_bytes", rc.CacheBytes, "upstream_timeout", wc.UpstreamTimeout,
		"walk_timeout", wc.WalkTimeout, "walk_max_queries", wc.MaxUpstreamQueries, "failure_ttl", wc.FailureTTL,
		"cache_max_ttl", wc.MaxTTL, "cache_max_negative_ttl", wc.MaxNegativeTTL, "dial_allow", wc.Dial.Allow, "dial_deny", wc.Dial.Deny)
	return w, nil
}

// walkerCache is the recursive node's cache, nil on an authoritative node.
func (n *Node) walkerCache() *cache.Cache {
	if n.walker == nil {
		return nil
	}
	return n.walker.Cache()
}

// Walker is the recursive resolver, nil on an authoritative node.
func (n *Node) Walker() *recursive.Walker { return n.walker }

// registerWalkerMetrics exports the walker's counters in the node's
// Prometheus registry (served at /metrics by the HTTP gateway).
func (n *Node) registerWalkerMetrics(w *recursive.Walker) error {
	if n.Metrics == nil {
		return nil
	}
	counter := func(name, help string, v func(recursive.Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "idres", Subsystem: "recursive", Name: name, Help: help},
			func() float64 { return float64(v(w.Stats())) })
	}
	var errs []error
	for _, c := range []prometheus.Collector{
		counter("cache_hits_total", "Resolutions answered from the cache.", func(s recursive.Stats) uint64 { return s.CacheHits }),
		counter("walks_total", "Walks through the hierarchy (coalesced callers share one).", func(s recursive.Stats) uint64 { return s.Walks }),
		counter("upstream_queries_total", "Calls to authoritative endpoints, failed ones included.", func(s recursive.Stats) uint64 { return s.UpstreamQueries }),
		counter("failures_total", "Walks that ended in SERVER_FAILURE.", func(s recursive.Stats) uint64 { return s.Failures }),
		counter("abandoned_walks_total", "Walks cancelled because every caller waiting for them had gone.", func(s recursive.Stats) uint64 { return s.Abandoned }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "idres", Subsystem: "cache", Name: "evictions_total",
			Help: "Cache entries evicted to stay within --cache-size and --cache-bytes."}, func() float64 { return float64(w.Cache().Evictions()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "idres", Subsystem: "cache", Name: "bytes",
			Help: "Approximate size of the cache's entries, bounded by --cache-bytes."}, func() float64 { return float64(w.Cache().Bytes()) }),
	} {
		errs = append(errs, n.Metrics.Register(c))
	}
	return errors.Join(errs...)
}
