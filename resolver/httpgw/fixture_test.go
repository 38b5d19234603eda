package httpgw_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/resolver/answer"
	"github.com/idres/idres/resolver/httpgw"
)

// clock is the fixed time of every write, so golden files are stable.
var clock = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// fixture is a gateway over a real Authority on a real bbolt store,
// served on loopback.
type fixture struct {
	store   *store.Store
	srv     *httptest.Server
	metrics *prometheus.Registry
	client  *http.Client // does not follow redirects
}

type ident1 struct {
	id   string
	vals []*idresv1.Value
}

func text(index uint32, typ, data string) *idresv1.Value {
	return &idresv1.Value{Index: index, Type: typ, Data: []byte(data), Ttl: proto.Uint32(86400), PublicRead: proto.Bool(true)}
}

// roundTrip are identifiers whose suffixes need care in a URL; each holds
// one value "name" equal to its suffix.
var roundTrip = []string{
	"88.100/a/b",
	"88.100/50%2Foff",
	"88.100/with space",
	"88.100/what?yes",
	"88.100/section#3",
	"88.100/😀 pump",
	"88.100/泵/甲",
	"88.100/./x",
	"88.100/a//b",
	"88.100/..",
	"88.100/a+b=c&d",
	"88.100/trailing/",
	"88.100/<b>bold</b>",
}

// records are the fixture's identifiers under the held prefix 88.100.
var records = []ident1{
	{"88.100/Pump-0001", []*idresv1.Value{
		text(1, "manufacturer", "ACME Pumps"),
		text(2, "batch", "B-7"),
		{Index: 3, Type: "production_date", Data: []byte("2026-01-02"), Ttl: proto.Uint32(600), PublicRead: proto.Bool(true)},
		{Index: 4, Type: "serial", Data: []byte("hidden"), Ttl: proto.Uint32(60), PublicRead: proto.Bool(false)},
	}},
	{"88.100/binary", []*idresv1.Value{{Index: 1, Type: "blob", Data: []byte{0xff, 0x00, 0x01, 0xfe}, Ttl: proto.Uint32(300), PublicRead: proto.Bool(true)}}},
	{"88.100/private", []*idresv1.Value{{Index: 1, Type: "secret", Data: []byte("x"), PublicRead: proto.Bool(false)}}},
	// Stored out of index order on purpose: the lowest index must win.
	{"88.100/redirect", []*idresv1.Value{
		text(5, "URL", "https://b.example/five"),
		text(1, "name", "three URLs"),
		text(2, "URL", "https://a.example/two?x=1&y=ü"),
	}},
	{"88.100/unsafe-url", []*idresv1.Value{
		text(1, "URL", "javascript:alert(1)"),
		text(3, "URL", "https://safe.example/three"),
	}},
	{"88.100/only-unsafe-url", []*idresv1.Value{text(1, "URL", "javascript:alert(1)")}},
	{"88.100/linked", []*idresv1.Value{text(1, "datasheet", "https://docs.example/ds 1.pdf"), text(2, "manual", "ftp://docs.example/m.pdf")}},
	{"88.100/xss", []*idresv1.Value{
		text(1, "description", "<script>alert(1)</script>"),
		text(2, "note", `"quoted" & 'single' <img src=x onerror=alert(2)>`),
	}},
}

func newFixture(t testing.TB, ready func() bool) *fixture {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	err = st.Update(func(tx *store.Tx) error {
		if err := tx.CreatePrefix(&idresv1.Prefix{Prefix: "88.100", NegativeTtl: proto.Uint32(120)}); err != nil {
			return err
		}
		all := append([]ident1(nil), records...)
		for _, s := range roundTrip {
			id := ident.MustParse(s)
			all = append(all, ident1{s, []*idresv1.Value{text(1, "name", id.Suffix)}})
		}
		for _, r := range all {
			if err := tx.CreateIdentifier(ident.MustParse(r.id), &idresv1.Identifier{Values: r.vals}); err != nil {
				return err
			}
		}
		if err := tx.PutDelegation(&idresv1.Delegation{Prefix: "88.100.1", Grpc: []string{"127.0.0.1:7421"},
			Http: []string{"not a url", "http://child.example:8080/base/"}, Ttl: proto.Uint32(7200)}); err != nil {
			return err
		}
		return tx.PutDelegation(&idresv1.Delegation{Prefix: "88.100.2", Grpc: []string{"127.0.0.1:7422"}, Dns: []string{"127.0.0.12"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	auth := &answer.Authority{Store: st, Self: &idresv1.Delegation{Grpc: []string{"127.0.0.1:7420"}, Http: []string{"http://node.example"}}}
	reg := prometheus.NewRegistry()
	gw, err := httpgw.New(auth, httpgw.Options{Metrics: reg, Ready: ready})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	return &fixture{
		store: st, srv: srv, metrics: reg,
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
}

// get does one request; path is sent as written (already escaped).
func (f *fixture) do(t testing.TB, method, path string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := f.client.Do(req)
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

func (f *fixture) get(t testing.TB, path string) (*http.Response, []byte) {
	return f.do(t, http.MethodGet, path, nil)
}
