package httpgw_test

import (
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/idres/idres/resolver/httpgw"
	"github.com/idres/idres/resolver/recursive"
)

// TestServerFailureGolden: a recursive resolver that reaches no node
// answers SERVER_FAILURE, which is Handle code 2 with status 500 and is
// never cached.
func TestServerFailureGolden(t *testing.T) {
	// Port 1 on loopback: nothing listens, the connection is refused.
	w, err := recursive.New(recursive.Config{Roots: []string{"127.0.0.1:1"}, UpstreamTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	gw, err := httpgw.New(w, httpgw.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	f := &fixture{srv: srv, client: srv.Client()}
	resp, body := f.get(t, "/api/handles/88.100/x?pretty")
	if resp.StatusCode != 500 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("status %d Cache-Control %q, want 500 no-store", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	// The upstream's error text comes from the gRPC library; pin only
	// what idres says.
	body = regexp.MustCompile(`\(127\.0\.0\.1:1: [^\n]*\)"`).ReplaceAll(body, []byte(`(127.0.0.1:1: …)"`))
	golden(t, "server_failure", body)
}
