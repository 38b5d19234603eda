package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"google.golang.org/grpc/codes"

	"github.com/idres/idres/cmd/idresd/node"
	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/registry/value"
	"github.com/idres/idres/resolver/client"
	"github.com/idres/idres/resolver/dnsname"
	"github.com/idres/idres/resolver/httpgw"
)

// lifeNode is a node serving gRPC, DNS and HTTP, holding 88.100 with the
// pattern PUMP-{serial:000000-999999}, an explicit PUMP-000007, and
// 88.100/Old withdrawn with a tombstone naming 88.100/New.
type lifeNode struct {
	n     *node.Node
	admin *client.Client
	anon  *client.Client
	http  *http.Client
}

func startLifeNode(t *testing.T) *lifeNode {
	t.Helper()
	n, err := node.Start(node.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", DNSAddr: "127.0.0.1:0", DNSZone: "id.example.",
		HTTPAddr: "127.0.0.1:0", Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n.Stop(ctx)
	})
	tok, err := os.ReadFile(n.AdminTokenPath)
	if err != nil {
		t.Fatal(err)
	}
	l := &lifeNode{n: n, http: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	for _, c := range []struct {
		dst **client.Client
		tok string
	}{{&l.admin, strings.TrimSpace(string(tok))}, {&l.anon, ""}} {
		*c.dst, err = client.Dial(n.GRPCAddr(), client.Options{Token: c.tok})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { (*c.dst).Close() })
	}
	ctx := ctxT(t)
	steps := []func() error{
		func() error {
			_, err := l.admin.CreatePrefix(ctx, &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: "88.100"}})
			return err
		},
		func() error {
			_, err := l.admin.SetPattern(ctx, &idresv1.SetPatternRequest{Pattern: &idresv1.Pattern{Prefix: "88.100", Pattern: "PUMP-{serial:000000-999999}",
				Values: []*idresv1.Value{val(1, "URL", "https://example.com/pumps/{serial}", 0), val(2, "batch", "B-{serial}", 0)}}})
			return err
		},
		func() error {
			_, err := l.admin.SetPattern(ctx, &idresv1.SetPatternRequest{Pattern: &idresv1.Pattern{Prefix: "88.100", Pattern: "NOTE-{n:1-99}",
				Values: []*idresv1.Value{val(1, "note", "note number {n}", 0)}}})
			return err
		},
		func() error {
			_, err := l.admin.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: "88.100/PUMP-000007", Values: []*idresv1.Value{val(1, "URL", "https://example.com/special", 0)}})
			return err
		},
		func() error {
			_, err := l.admin.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: "88.100/Old", Values: []*idresv1.Value{val(1, "URL", "https://example.com/old", 0)}})
			return err
		},
		func() error {
			_, err := l.admin.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: "88.100/Quiet", Values: []*idresv1.Value{val(1, "URL", "https://example.com/quiet", 0)}})
			return err
		},
		func() error {
			_, err := l.admin.DeleteIdentifier(ctx, &idresv1.DeleteIdentifierRequest{Identifier: "88.100/Old", Tombstone: &idresv1.TombstoneOptions{Reason: "replaced", Successor: "88.100/New"}})
			return err
		},
		func() error {
			_, err := l.admin.DeleteIdentifier(ctx, &idresv1.DeleteIdentifierRequest{Identifier: "88.100/Quiet", Tombstone: &idresv1.TombstoneOptions{}})
			return err
		},
	}
	for i, s := range steps {
		if err := s(); err != nil {
			t.Fatalf("setup step %d: %v", i, err)
		}
	}
	return l
}

// TestLifeOverGRPC: Resolve and ResolveStream see patterns and tombstones.
func TestLifeOverGRPC(t *testing.T) {
	l := startLifeNode(t)
	ctx := ctxT(t)
	cases := []struct {
		id      string
		outcome idresv1.Outcome
		url     string
		pattern string
		succ    string
	}{
		{"88.100/PUMP-000042", idresv1.Outcome_OUTCOME_OK, "https://example.com/pumps/000042", "PUMP-{serial:000000-999999}", ""},
		{"88.100/PUMP-000007", idresv1.Outcome_OUTCOME_OK, "https://example.com/special", "", ""},
		{"88.100/PUMP-1", idresv1.Outcome_OUTCOME_NOT_FOUND, "", "", ""},
		{"88.100/old", idresv1.Outcome_OUTCOME_GONE, "", "", "88.100/New"},
		{"88.100/quiet", idresv1.Outcome_OUTCOME_GONE, "", "", ""},
	}
	check := func(how string, r *idresv1.ResolveResponse, i int) {
		tc := cases[i]
		if r.GetOutcome() != tc.outcome || r.GetDerivedFromPattern() != tc.pattern || r.GetTombstone().GetSuccessor() != tc.succ {
			t.Errorf("%s %s: %v pattern %q tombstone %v; want %v %q %q", how, tc.id, r.GetOutcome(), r.GetDerivedFromPattern(), r.GetTombstone(), tc.outcome, tc.pattern, tc.succ)
		}
		if tc.url != "" && (len(r.GetValues()) == 0 || string(r.Values[0].Data) != tc.url) {
			t.Errorf("%s %s: values %v, want %s", how, tc.id, r.GetValues(), tc.url)
		}
	}
	for i, tc := range cases {
		r, err := l.anon.Resolve(ctx, &idresv1.ResolveRequest{Identifier: tc.id})
		if err != nil {
			t.Fatal(err)
		}
		check("Resolve", r, i)
	}
	st, err := l.anon.ResolveStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	req := &idresv1.ResolveStreamRequest{}
	for i, tc := range cases {
		req.Requests = append(req.Requests, &idresv1.TaggedResolveRequest{RequestId: uint64(i), Request: &idresv1.ResolveRequest{Identifier: tc.id}})
	}
	if err := st.Send(req); err != nil {
		t.Fatal(err)
	}
	st.CloseSend()
	got := 0
	for {
		resp, err := st.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range resp.Responses {
			check("ResolveStream", a.Response, int(a.RequestId))
			got++
		}
	}
	if got != len(cases) {
		t.Errorf("ResolveStream answered %d of %d", got, len(cases))
	}
	// Re-registration over the tombstone is refused until it is lifted.
	create := func() error {
		_, err := l.admin.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: "88.100/OLD", Values: []*idresv1.Value{val(1, "URL", "https://example.com/again", 0)}})
		return err
	}
	wantCode(t, create(), codes.FailedPrecondition, "tombstone")
	if _, err := l.admin.LiftTombstone(ctx, &idresv1.LiftTombstoneRequest{Identifier: "88.100/old"}); err != nil {
		t.Fatal(err)
	}
	if err := create(); err != nil {
		t.Errorf("create after lifting: %v", err)
	}
}

// TestLifeOverDNS: a derived identifier answers TXT like a registered one;
// a tombstone is NXDOMAIN with SOA and a TXT that explains it.
func TestLifeOverDNS(t *testing.T) {
	l := startLifeNode(t)
	c := &dns.Client{Timeout: 5 * time.Second}
	ask := func(id string, qtype uint16) *dns.Msg {
		t.Helper()
		name, err := dnsname.Identifier("id.example.", ident.MustParse(id))
		if err != nil {
			t.Fatal(err)
		}
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		r, _, err := c.Exchange(m, l.n.DNSAddr())
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := ask("88.100/PUMP-000042", dns.TypeTXT)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 || !strings.Contains(r.Answer[0].String(), "1 URL https://example.com/pumps/000042") {
		t.Errorf("derived TXT: %v", r)
	}
	if r := ask("88.100/PUMP-000042", dns.TypeURI); len(r.Answer) != 1 || r.Answer[0].(*dns.URI).Target != "https://example.com/pumps/000042" {
		t.Errorf("derived URI: %v", r)
	}
	if r := ask("88.100/PUMP-000007", dns.TypeTXT); len(r.Answer) != 1 || !strings.Contains(r.Answer[0].String(), "special") {
		t.Errorf("explicit record: %v", r)
	}
	if r := ask("88.100/PUMP-42", dns.TypeTXT); r.Rcode != dns.RcodeNameError || len(r.Answer) != 0 {
		t.Errorf("no match: %v", r)
	}
	for _, tc := range []struct {
		qtype   uint16
		section string
	}{{dns.TypeTXT, "answer"}, {dns.TypeURI, "additional"}} {
		r := ask("88.100/old", tc.qtype)
		if r.Rcode != dns.RcodeNameError || len(r.Ns) != 1 || r.Ns[0].Header().Rrtype != dns.TypeSOA {
			t.Errorf("tombstone %s: want NXDOMAIN with SOA, got %v", dns.TypeToString[tc.qtype], r)
			continue
		}
		rrs := r.Answer
		if tc.section == "additional" {
			rrs = nil
			if len(r.Answer) != 0 {
				t.Errorf("tombstone %s: answer %v, want none of another type", dns.TypeToString[tc.qtype], r.Answer)
			}
			for _, rr := range r.Extra {
				if rr.Header().Rrtype == dns.TypeTXT {
					rrs = append(rrs, rr)
				}
			}
		}
		if len(rrs) != 1 || !strings.Contains(rrs[0].String(), "withdrawn") || !strings.Contains(rrs[0].String(), "successor 88.100/New") {
			t.Errorf("tombstone %s: TXT in the %s section %v, want one naming the successor", dns.TypeToString[tc.qtype], tc.section, rrs)
		}
	}
}

// TestLifeOverHTTP: derived values in JSON and as a redirect; a tombstone
// is 410 (JSON and page) or 301 to the successor's page.
func TestLifeOverHTTP(t *testing.T) {
	l := startLifeNode(t)
	base := "http://" + l.n.HTTPAddr()
	get := func(path, accept string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := l.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	var rec struct {
		ResponseCode       int    `json:"responseCode"`
		DerivedFromPattern string `json:"derivedFromPattern"`
		Values             []struct {
			Data struct{ Value string } `json:"data"`
		} `json:"values"`
		Tombstone *struct{ Reason, Successor, Deleted, DeletedBy string } `json:"tombstone"`
	}
	resp, body := get(httpgw.APIPath("88.100/PUMP-000042"), "")
	if err := json.Unmarshal(body, &rec); err != nil || resp.StatusCode != 200 || rec.DerivedFromPattern != "PUMP-{serial:000000-999999}" ||
		len(rec.Values) != 2 || rec.Values[0].Data.Value != "https://example.com/pumps/000042" {
		t.Errorf("derived JSON: %d %s", resp.StatusCode, body)
	}
	if resp, _ := get(httpgw.PagePath("88.100/PUMP-000042"), ""); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://example.com/pumps/000042" {
		t.Errorf("derived page: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, body := get(httpgw.PagePath("88.100/NOTE-7"), ""); resp.StatusCode != 200 || !strings.Contains(string(body), "note number 7") ||
		!strings.Contains(string(body), "values come from the pattern NOTE-{n:1-99}") {
		t.Errorf("derived page without a URL: %d %.300s", resp.StatusCode, body)
	}
	rec.Tombstone = nil
	resp, body = get(httpgw.APIPath("88.100/old"), "")
	if err := json.Unmarshal(body, &rec); err != nil || resp.StatusCode != http.StatusGone || rec.ResponseCode != httpgw.CodeHandleNotFound ||
		rec.Tombstone == nil || rec.Tombstone.Successor != "88.100/New" || rec.Tombstone.Reason != "replaced" || rec.Tombstone.Deleted == "" || rec.Tombstone.DeletedBy != "" {
		t.Errorf("tombstone JSON: %d %s", resp.StatusCode, body)
	}
	if resp, _ := get(httpgw.PagePath("88.100/old"), ""); resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != httpgw.PagePath("88.100/New") {
		t.Errorf("tombstone with successor, page: %d Location %q; want 301 to %s", resp.StatusCode, resp.Header.Get("Location"), httpgw.PagePath("88.100/New"))
	}
	if resp, body := get(httpgw.PagePath("88.100/quiet"), ""); resp.StatusCode != http.StatusGone || !strings.Contains(string(body), "withdrawn") {
		t.Errorf("tombstone without successor, page: %d %.200s", resp.StatusCode, body)
	}
}

// BenchmarkResolvePattern: one million serials behind one pattern against
// explicit records, over real gRPC, side by side in one run.
func BenchmarkResolvePattern(b *testing.B) {
	g := startGRPCNode(b)
	g.mustCreatePrefix(b, &idresv1.Prefix{Prefix: "88.100.1"})
	ctx := ctxT(b)
	vals := []*idresv1.Value{
		val(1, "URL", "https://parts.example.com/{serial}", 0),
		val(2, "manufacturer", "Example Parts Ltd", 0),
		val(3, "batch", "B-2026-0042", 0),
	}
	if _, err := g.admin.SetPattern(ctx, &idresv1.SetPatternRequest{Pattern: &idresv1.Pattern{Prefix: "88.100.1", Pattern: "PUMP-{serial:000000-999999}", Values: vals}}); err != nil {
		b.Fatal(err)
	}
	const n = 1000
	err := g.n.Store().Update(func(tx *store.Tx) error {
		for i := range n {
			vals := []*idresv1.Value{
				val(1, "URL", fmt.Sprintf("https://parts.example.com/%06d", i), 0),
				val(2, "manufacturer", "Example Parts Ltd", 0),
				val(3, "batch", "B-2026-0042", 0),
			}
			value.Normalize(vals)
			if err := tx.CreateIdentifier(ident.MustParse(fmt.Sprintf("88.100.1/part-%06d", i)), &idresv1.Identifier{Values: vals}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name    string
		id      func(i int) string
		derived bool
	}{
		{"explicit", func(i int) string { return fmt.Sprintf("88.100.1/part-%06d", i%n) }, false},
		{"pattern", func(i int) string { return fmt.Sprintf("88.100.1/PUMP-%06d", (i*7919)%1000000) }, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			// Not ctxT: the sub-benchmarks together outlast its deadline.
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					resp, err := g.anon.Resolve(ctx, &idresv1.ResolveRequest{Identifier: bc.id(i)})
					if err != nil || resp.Outcome != idresv1.Outcome_OUTCOME_OK || (resp.DerivedFromPattern != "") != bc.derived {
						b.Fatalf("Resolve %s: %v %q, %v", bc.id(i), resp.GetOutcome(), resp.GetDerivedFromPattern(), err)
					}
					i += 7
				}
			})
		})
	}
}
