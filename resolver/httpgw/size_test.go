package httpgw_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/resolver/answer"
	"github.com/idres/idres/resolver/httpgw"
)

// storeBig writes an identifier of n values of size NUL bytes each
// directly to the store, as older code let one be written (up to 1000 x
// 64 KiB): NUL is valid UTF-8, so each byte is "\u0000" in JSON, six
// bytes for one.
func storeBig(t *testing.T, f *fixture, id string, n, size int) {
	t.Helper()
	vals := make([]*idresv1.Value, n)
	for i := range vals {
		vals[i] = &idresv1.Value{Index: uint32(i + 1), Type: "t", Data: make([]byte, size), Ttl: proto.Uint32(60), PublicRead: proto.Bool(true)}
	}
	err := f.store.Update(func(tx *store.Tx) error {
		return tx.CreateIdentifier(ident.MustParse(id), &idresv1.Identifier{Values: vals})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestOversizedAnswerRefused: an answer whose values hold more than the
// node's identifier size limit (1 MiB by default) is refused with 500 and
// Handle code 2 and a message naming both sizes, rather than rendered: a
// 64 MiB record was a 354 MB JSON body. A filtered answer within the limit
// is served.
func TestOversizedAnswerRefused(t *testing.T) {
	f := newFixture(t, nil)
	// 20 x (1 + 65536) = 1,310,740 bytes of values; 7.9 MB as JSON.
	storeBig(t, f, "88.100/huge", 20, 64<<10)
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		resp, body := f.do(t, method, "/api/handles/88.100/huge", nil)
		if resp.StatusCode != http.StatusInternalServerError || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("%s: status %d, Cache-Control %q, want 500, no-store", method, resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
		if resp.ContentLength > 4096 {
			t.Errorf("%s: body of %d bytes, want a short refusal", method, resp.ContentLength)
		}
		if method == http.MethodHead {
			continue
		}
		var rec struct {
			ResponseCode int    `json:"responseCode"`
			Handle       string `json:"handle"`
			Message      string `json:"message"`
		}
		if err := json.Unmarshal(body, &rec); err != nil {
			t.Fatalf("body %q: %v", body, err)
		}
		if rec.ResponseCode != 2 || rec.Handle != "88.100/huge" || !strings.Contains(rec.Message, "1310740") || !strings.Contains(rec.Message, "1048576") {
			t.Errorf("refusal %+v, want code 2, the handle, and a message naming 1310740 and 1048576", rec)
		}
	}
	resp, body := f.get(t, "/api/handles/88.100/huge?index=3")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"index":3`) {
		t.Errorf("filtered to one value: status %d, %d bytes; want 200 with index 3", resp.StatusCode, len(body))
	}
	resp, body = f.get(t, "/88.100/huge")
	if resp.StatusCode != http.StatusInternalServerError || len(body) > 16<<10 || !strings.Contains(string(body), "too large") {
		t.Errorf("landing page: status %d, %d bytes; want 500 and a short page saying it is too large", resp.StatusCode, len(body))
	}
}

// TestAnswerSizeLimitConfigured: the gateway takes the node's limit
// (Options.MaxIdentifierBytes, from --max-identifier-bytes), counts what
// it refuses, and serves a filtered answer that fits.
func TestAnswerSizeLimitConfigured(t *testing.T) {
	f := newFixture(t, nil)
	reg := prometheus.NewRegistry()
	gw, err := httpgw.New(&answer.Authority{Store: f.store}, httpgw.Options{Metrics: reg, MaxIdentifierBytes: 20})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	// manufacturer+ACME Pumps, batch+B-7, production_date+2026-01-02: 55 bytes.
	if code, body := get("/api/handles/88.100/Pump-0001"); code != http.StatusInternalServerError || !strings.Contains(body, "55 bytes") || !strings.Contains(body, "the 20 this node serves") {
		t.Errorf("over the limit: %d %s", code, body)
	}
	if code, body := get("/api/handles/88.100/Pump-0001?index=2"); code != http.StatusOK || !strings.Contains(body, `"B-7"`) {
		t.Errorf("filtered within the limit: %d %s", code, body)
	}
	gathered, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	fams := map[string]*dto.MetricFamily{}
	for _, mf := range gathered {
		fams[mf.GetName()] = mf
	}
	if got := counter(fams, "idres_http_requests_total", map[string]string{"endpoint": "api", "outcome": "too_large"}); got != 1 {
		t.Errorf("requests_total{endpoint=api,outcome=too_large} = %v, want 1", got)
	}
}
