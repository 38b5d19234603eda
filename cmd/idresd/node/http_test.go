package node_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/proto"

	"github.com/idres/idres/cmd/idresd/node"
	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/client"
	"github.com/idres/idres/resolver/httpgw"
)

// httpClock is a clock the test moves by hand.
type httpClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *httpClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *httpClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func httpStartNode(t *testing.T, cfg node.Config) *node.Node {
	t.Helper()
	cfg.DataDir = t.TempDir()
	if cfg.GRPCAddr == "" {
		cfg.GRPCAddr = "127.0.0.1:0"
	}
	n, err := node.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n.Stop(ctx)
	})
	return n
}

// httpRegister creates prefix 88.100 and identifiers on n over gRPC.
func httpRegister(t *testing.T, n *node.Node, ids map[string][]*idresv1.Value) {
	t.Helper()
	tok, err := os.ReadFile(n.AdminTokenPath)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.Dial(n.GRPCAddr(), client.Options{Token: strings.TrimSpace(string(tok))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.CreatePrefix(ctx, &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: "88.100"}}); err != nil {
		t.Fatal(err)
	}
	for id, vals := range ids {
		if _, err := c.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: id, Values: vals}); err != nil {
			t.Fatalf("create %s: %v", id, err)
		}
	}
}

func httpGet(t *testing.T, url string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

type httpRecord struct {
	ResponseCode int    `json:"responseCode"`
	Handle       string `json:"handle"`
	Values       []struct {
		Index uint32 `json:"index"`
		Type  string `json:"type"`
		Data  struct {
			Format string `json:"format"`
			Value  string `json:"value"`
		} `json:"data"`
		TTL uint32 `json:"ttl"`
	} `json:"values"`
}

func httpJSON(t *testing.T, body []byte) httpRecord {
	t.Helper()
	var rec httpRecord
	if err := json.Unmarshal(body, &rec); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, body)
	}
	return rec
}

// TestHTTPGatewayOnNode: a node started with an HTTP address serves the
// API, landing pages, its own URL in its prefix handle, readiness, and
// one /metrics with the store's gauges beside the gateway's counters.
func TestHTTPGatewayOnNode(t *testing.T) {
	n := httpStartNode(t, node.Config{HTTPAddr: "127.0.0.1:0"})
	httpRegister(t, n, map[string][]*idresv1.Value{
		"88.100/Pump 0001/A": {
			{Index: 1, Type: "manufacturer", Data: []byte("ACME")},
			{Index: 2, Type: "URL", Data: []byte("https://acme.example/pumps/0001")},
		},
	})
	base := n.HTTPURL()
	if base != "http://"+n.HTTPAddr() {
		t.Fatalf("HTTPURL %q, HTTPAddr %q", base, n.HTTPAddr())
	}

	resp, body := httpGet(t, httpgw.APIURL(base, "88.100/pump 0001/a"))
	rec := httpJSON(t, body)
	if resp.StatusCode != 200 || rec.ResponseCode != 1 || rec.Handle != "88.100/Pump 0001/A" || len(rec.Values) != 2 {
		t.Errorf("API: %d %s", resp.StatusCode, body)
	}
	if resp.Header.Get("Cache-Control") != "max-age=86400" {
		t.Errorf("API Cache-Control %q", resp.Header.Get("Cache-Control"))
	}

	resp, _ = httpGet(t, httpgw.PageURL(base, "88.100/Pump 0001/A"))
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "https://acme.example/pumps/0001" {
		t.Errorf("page: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// The prefix handle names this node's gateway.
	_, body = httpGet(t, httpgw.APIURL(base, "0.NA/88.100")+"?type=IDRES_HTTP")
	rec = httpJSON(t, body)
	if len(rec.Values) != 1 || rec.Values[0].Data.Value != base {
		t.Errorf("0.NA/88.100 IDRES_HTTP: %s, want %s", body, base)
	}

	for _, p := range []string{"/healthz", "/readyz"} {
		if resp, body := httpGet(t, base+p); resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", p, resp.StatusCode, body)
		}
	}

	resp, body = httpGet(t, base+"/metrics")
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if resp.StatusCode != 200 || err != nil {
		t.Fatalf("/metrics: %d %v", resp.StatusCode, err)
	}
	for _, name := range []string{"idres_http_requests_total", "idres_http_request_duration_seconds", "idres_store_size_bytes", "go_goroutines"} {
		if fams[name] == nil {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	// gRPC calls (the registration above) share the registry.
	var created float64
	for _, m := range fams["idres_grpc_requests_total"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["method"] == "/idres.v1.Registry/CreateIdentifier" && labels["code"] == "OK" {
			created = m.GetCounter().GetValue()
		}
	}
	if created != 1 {
		t.Errorf("idres_grpc_requests_total{method=CreateIdentifier,code=OK} = %v, want 1", created)
	}
	if got := fams["idres_store_identifiers"].GetMetric()[0].GetGauge().GetValue(); got != 1 {
		t.Errorf("idres_store_identifiers = %v, want 1", got)
	}
	if !n.Ready() {
		t.Error("node not ready after Start")
	}
	n.Stop(context.Background())
	if n.Ready() {
		t.Error("node still ready after Stop")
	}
}

// TestHTTPRecursiveNode: on a recursive node the HTTP API resolves through
// the hierarchy, and Cache-Control carries the remaining TTL of the cached
// answer.
func TestHTTPRecursiveNode(t *testing.T) {
	auth := httpStartNode(t, node.Config{})
	httpRegister(t, auth, map[string][]*idresv1.Value{
		"88.100/x": {{Index: 1, Type: "name", Data: []byte("cached thing"), Ttl: proto.Uint32(300)}},
	})
	clock := &httpClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	rec := httpStartNode(t, node.Config{HTTPAddr: "127.0.0.1:0", Now: clock.Now,
		Recursive: node.RecursiveConfig{Roots: []string{auth.GRPCAddr()}}})
	// The root hint holds 88.100 itself, so the walk ends at the first node.
	url := httpgw.APIURL(rec.HTTPURL(), "88.100/x")
	resp, body := httpGet(t, url)
	r := httpJSON(t, body)
	if resp.StatusCode != 200 || r.ResponseCode != 1 || len(r.Values) != 1 || r.Values[0].Data.Value != "cached thing" {
		t.Fatalf("recursive API: %d %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Cache-Control"); got != "max-age=300" {
		t.Errorf("first answer Cache-Control %q, want max-age=300", got)
	}
	clock.Add(100 * time.Second)
	resp, _ = httpGet(t, url)
	if got := resp.Header.Get("Cache-Control"); got != "max-age=200" {
		t.Errorf("cached answer Cache-Control %q, want max-age=200 (remaining TTL)", got)
	}
	_, body = httpGet(t, rec.HTTPURL()+"/metrics")
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if got := fams["idres_cache_entries"].GetMetric()[0].GetGauge().GetValue(); got < 1 {
		t.Errorf("idres_cache_entries = %v after a cached answer, want at least 1", got)
	}
}

// TestHTTPSecurity: with a certificate the gateway serves HTTPS (without
// asking phones for client certificates, even under mutual TLS for gRPC);
// plaintext is refused off loopback unless allowed.
func TestHTTPSecurity(t *testing.T) {
	pki := newSecPKI(t)
	n := httpStartNode(t, node.Config{HTTPAddr: "127.0.0.1:0",
		Security: node.SecurityConfig{TLSCert: pki.serverCert, TLSKey: pki.serverKey, ClientCA: pki.caFile}})
	if !strings.HasPrefix(n.HTTPURL(), "https://127.0.0.1:") {
		t.Fatalf("HTTPURL %q, want https", n.HTTPURL())
	}
	pool, err := client.LoadCertPool(pki.caFile)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Get(n.HTTPURL() + "/healthz")
	if err != nil {
		t.Fatalf("HTTPS without a client certificate: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("HTTPS /healthz: %d", resp.StatusCode)
	}
	// Go's TLS server answers a plaintext request with 400.
	if resp, err := http.Get("http://" + n.HTTPAddr() + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plaintext request to the HTTPS gateway: %d, want 400", resp.StatusCode)
		}
	}

	_, err = node.Start(node.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", HTTPAddr: "0.0.0.0:0"})
	if err == nil || !strings.Contains(err.Error(), "refusing plaintext HTTP") {
		t.Errorf("plaintext HTTP on 0.0.0.0: err %v, want a refusal", err)
	}
	_, err = node.Start(node.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", HTTPURL: "id.example.org"})
	if err == nil || !strings.Contains(err.Error(), "--http-url") {
		t.Errorf("relative --http-url: err %v, want a refusal", err)
	}
	n2 := httpStartNode(t, node.Config{HTTPAddr: "0.0.0.0:0", HTTPURL: "https://id.example.org/", Security: node.SecurityConfig{Insecure: true}})
	if n2.HTTPURL() != "https://id.example.org" {
		t.Errorf("HTTPURL %q, want the configured URL without the trailing slash", n2.HTTPURL())
	}
}
