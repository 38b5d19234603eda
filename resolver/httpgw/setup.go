package httpgw

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/idres/idres/registry/value"
	"github.com/idres/idres/resolver"
)

// Options configure a Gateway. The zero value is usable.
type Options struct {
	// Ready reports whether the node is ready to serve (store open,
	// listeners up); /readyz answers 503 until it does. nil: always ready.
	Ready func() bool
	// Metrics is the node's registry: the gateway registers its collectors
	// in it and serves all of it at /metrics, so gRPC and DNS metrics
	// registered there appear too. nil: a registry of the gateway's own.
	Metrics *prometheus.Registry
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// ResolveTimeout bounds one lookup (a recursive one may walk several
	// nodes); it must stay below the server's WriteTimeout. 0: 10 s.
	ResolveTimeout time.Duration
	// MaxIdentifierBytes bounds the values one answer renders (value.Size:
	// type and data bytes), the registry's limit on what one identifier
	// may hold (idresd --max-identifier-bytes); a larger answer is
	// refused (size.go). 0: value.DefaultMaxSize.
	MaxIdentifierBytes int
}

// Server timeouts and limits of NewServer. The longest identifier is
// 1280 bytes, at most 3840 percent-encoded, so 32 KiB of request line and
// headers is ample.
const (
	ReadHeaderTimeout     = 5 * time.Second
	ReadTimeout           = 10 * time.Second
	WriteTimeout          = 20 * time.Second
	IdleTimeout           = 120 * time.Second
	MaxHeaderBytes        = 32 << 10
	defaultResolveTimeout = 10 * time.Second
)

// Gateway is the HTTP handler of a node. It is safe for concurrent use.
type Gateway struct {
	res      resolver.Resolver
	ready    func() bool
	log      *slog.Logger
	timeout  time.Duration
	maxBytes int // Options.MaxIdentifierBytes
	metrics  *metrics
	promHTTP http.Handler
}

// New builds the gateway over r and registers its metrics in
// opts.Metrics. It fails only when the metrics are registered already.
func New(r resolver.Resolver, opts Options) (*Gateway, error) {
	g := &Gateway{res: r, ready: opts.Ready, log: opts.Logger, timeout: opts.ResolveTimeout}
	if g.ready == nil {
		g.ready = func() bool { return true }
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	if g.timeout <= 0 {
		g.timeout = defaultResolveTimeout
	}
	g.maxBytes = opts.MaxIdentifierBytes
	if g.maxBytes <= 0 {
		g.maxBytes = value.DefaultMaxSize
	}
	reg := opts.Metrics
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("register HTTP gateway metrics: %w", err)
	}
	g.metrics = m
	g.promHTTP = promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
		Registry: reg,
	})
	return g, nil
}

// NewServer wraps h in an http.Server with the timeouts and header limit
// above, logging server errors (TLS handshakes, malformed requests) to log.
func NewServer(h http.Handler, log *slog.Logger) *http.Server {
	if log == nil {
		log = slog.Default()
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// ServeHTTP routes a request. The escaped path is used, not r.URL.Path, so
// that the identifier is decoded exactly once (path.go).
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	path := r.URL.EscapedPath()
	endpoint, outcome := g.route(w, r, path)
	g.metrics.observe(endpoint, outcome, time.Since(start))
}

// route serves the request and names its endpoint and outcome for the
// metrics.
func (g *Gateway) route(w http.ResponseWriter, r *http.Request, path string) (endpoint, outcome string) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	switch {
	case path == pathHealth:
		return epHealth, g.serveHealth(w, r)
	case path == pathReady:
		return epReady, g.serveReady(w, r)
	case path == pathMetric:
		if !allowRead(w, r) {
			return epMetrics, outcomeMethod
		}
		g.promHTTP.ServeHTTP(w, r)
		return epMetrics, outcomeOK
	case strings.HasPrefix(path, apiPrefix):
		return epAPI, g.serveAPI(w, r, path[len(apiPrefix):])
	case strings.HasPrefix(path, apiSpace) || path == "/api":
		if !allowRead(w, r) {
			return epAPI, outcomeMethod
		}
		writeJSON(w, r, http.StatusNotFound, "no-store", &handleJSON{ResponseCode: CodeError,
			Message: "unknown API path; identifiers are at " + apiPrefix + "{identifier}"})
		return epAPI, outcomeBadRequest
	case path == "/":
		return epHome, g.serveHome(w, r)
	}
	return epPage, g.servePage(w, r, path[1:])
}

// allowRead answers 405 to anything but GET and HEAD.
func allowRead(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

func (g *Gateway) serveHealth(w http.ResponseWriter, r *http.Request) string {
	if !allowRead(w, r) {
		return outcomeMethod
	}
	writeText(w, http.StatusOK, "ok\n")
	return outcomeOK
}

func (g *Gateway) serveReady(w http.ResponseWriter, r *http.Request) string {
	if !allowRead(w, r) {
		return outcomeMethod
	}
	if !g.ready() {
		writeText(w, http.StatusServiceUnavailable, "not ready\n")
		return outcomeNotReady
	}
	writeText(w, http.StatusOK, "ready\n")
	return outcomeOK
}

func writeText(w http.ResponseWriter, status int, body string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
