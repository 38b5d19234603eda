package httpgw_test

import (
	"bytes"
	"net/http"
	"sync/atomic"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape parses /metrics with the Prometheus text parser.
func scrape(t *testing.T, f *fixture) map[string]*dto.MetricFamily {
	t.Helper()
	resp, body := f.get(t, "/metrics")
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, body)
	}
	return fams
}

func counter(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	for _, m := range fams[name].GetMetric() {
		if matches(m, labels) {
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func histogramCount(fams map[string]*dto.MetricFamily, name string, labels map[string]string) uint64 {
	for _, m := range fams[name].GetMetric() {
		if matches(m, labels) {
			return m.GetHistogram().GetSampleCount()
		}
	}
	return 0
}

func matches(m *dto.Metric, labels map[string]string) bool {
	n := 0
	for _, lp := range m.GetLabel() {
		if v, ok := labels[lp.GetName()]; ok {
			if v != lp.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(labels)
}

// TestMetricsMove: counters and histograms move with requests, by
// endpoint and outcome.
func TestMetricsMove(t *testing.T) {
	f := newFixture(t, nil)
	const reqs = "idres_http_requests_total"
	const lat = "idres_http_request_duration_seconds"
	before := scrape(t, f)
	steps := []struct {
		path              string
		endpoint, outcome string
		times             int
	}{
		{"/api/handles/88.100/pump-0001", "api", "ok", 3},
		{"/api/handles/88.100/nope", "api", "not_found", 2},
		{"/api/handles/99/x", "api", "prefix_not_found", 1},
		{"/api/handles/88.100.1/x", "api", "referral", 1},
		{"/api/handles/88..1/x", "api", "invalid_identifier", 1},
		{"/api/handles/88.100/x?index=no", "api", "bad_request", 1},
		{"/88.100/xss", "page", "ok", 2},
		{"/healthz", "healthz", "ok", 1},
	}
	for _, s := range steps {
		for range s.times {
			f.get(t, s.path)
		}
	}
	after := scrape(t, f)
	for _, s := range steps {
		l := map[string]string{"endpoint": s.endpoint, "outcome": s.outcome}
		if d := counter(after, reqs, l) - counter(before, reqs, l); d != float64(s.times) {
			t.Errorf("%s%v moved by %v, want %d", reqs, l, d, s.times)
		}
	}
	if d := histogramCount(after, lat, map[string]string{"endpoint": "api"}) - histogramCount(before, lat, map[string]string{"endpoint": "api"}); d != 9 {
		t.Errorf("%s{endpoint=api} count moved by %d, want 9", lat, d)
	}
	// The scrape itself is counted.
	if d := counter(after, reqs, map[string]string{"endpoint": "metrics", "outcome": "ok"}); d < 1 {
		t.Errorf("metrics scrapes not counted")
	}
}

// TestHealthReady: /healthz is up while the process is; /readyz follows
// the node's readiness.
func TestHealthReady(t *testing.T) {
	var ready atomic.Bool
	f := newFixture(t, ready.Load)
	check := func(path string, want int) {
		t.Helper()
		resp, body := f.get(t, path)
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d %q, want %d", path, resp.StatusCode, body, want)
		}
	}
	check("/healthz", http.StatusOK)
	check("/readyz", http.StatusServiceUnavailable)
	ready.Store(true)
	check("/readyz", http.StatusOK)
	ready.Store(false)
	check("/readyz", http.StatusServiceUnavailable)
}
