package httpgw

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// Endpoint label values.
const (
	epAPI     = "api"
	epPage    = "page"
	epHome    = "home"
	epHealth  = "healthz"
	epReady   = "readyz"
	epMetrics = "metrics"
)

// Outcome label values besides the resolution outcomes (outcomeOf).
const (
	outcomeOK         = "ok"
	outcomeBadRequest = "bad_request" // undecodable path or bad query
	outcomeError      = "error"       // the resolver failed
	outcomeMethod     = "method_not_allowed"
	outcomeNotReady   = "not_ready"
)

type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "idres", Subsystem: "http", Name: "requests_total",
			Help: "HTTP gateway requests by endpoint (api, page, home, healthz, readyz, metrics) and outcome (the resolution outcome, or bad_request, error, method_not_allowed, not_ready, too_large).",
		}, []string{"endpoint", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "idres", Subsystem: "http", Name: "request_duration_seconds",
			Help: "Time to answer an HTTP gateway request, by endpoint.",
			// Local lookups take well under a millisecond; recursive ones
			// cross the network, up to the resolve timeout.
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"endpoint"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) observe(endpoint, outcome string, d time.Duration) {
	m.requests.WithLabelValues(endpoint, outcome).Inc()
	m.latency.WithLabelValues(endpoint).Observe(d.Seconds())
}

// outcomeOf is the label of a resolution outcome: "ok", "not_found", ...
func outcomeOf(o idresv1.Outcome) string {
	return strings.ToLower(strings.TrimPrefix(o.String(), "OUTCOME_"))
}
