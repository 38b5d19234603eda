package node_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"google.golang.org/protobuf/proto"

	"github.com/idres/idres/cmd/idresd/node"
	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/resolver/client"
	"github.com/idres/idres/resolver/dnsname"
	"github.com/idres/idres/resolver/handlewire"
	"github.com/idres/idres/resolver/httpgw"
)

// The front ends agree: one table of questions covering every outcome,
// asked over gRPC, DNS, HTTP and the Handle protocol of an authoritative
// node and of a recursive node in front of it. Each protocol's answer is
// read back into an outcome and a set of values through the documented
// mapping (SPEC.md: HTTP-004's codes, DNS-001..003's rcodes and TXT
// format, the response codes of resolver/handleserver's Handler), and
// must match what the table expects and what gRPC said.

const agreeZone = "id.example."

// agreeCase is one question. want is the outcome an anonymous caller
// gets; vals, when not nil, the values it sees ("<index> <type> <data>").
// Filters have no DNS form, so a filtered case is not asked over DNS.
type agreeCase struct {
	name    string
	id      string
	types   []string
	indexes []uint32
	want    idresv1.Outcome
	vals    []string
	// atRecursive is the outcome through the recursive node, when it
	// differs (a referral is followed there).
	atRecursive idresv1.Outcome
}

func (c agreeCase) filtered() bool { return len(c.types) > 0 || len(c.indexes) > 0 }

var agreeCases = []agreeCase{
	{name: "ok, private value hidden", id: "88.100/ok", want: idresv1.Outcome_OUTCOME_OK,
		vals: []string{"1 URL https://example.com/ok", "2 name widget"}},
	{name: "type filter", id: "88.100/ok", types: []string{"name"}, want: idresv1.Outcome_OUTCOME_OK,
		vals: []string{"2 name widget"}},
	{name: "index filter", id: "88.100/ok", indexes: []uint32{1}, want: idresv1.Outcome_OUTCOME_OK,
		vals: []string{"1 URL https://example.com/ok"}},
	{name: "filter matches nothing", id: "88.100/ok", types: []string{"nosuch"}, want: idresv1.Outcome_OUTCOME_VALUES_NOT_FOUND},
	{name: "only private values", id: "88.100/hidden", want: idresv1.Outcome_OUTCOME_VALUES_NOT_FOUND},
	{name: "not registered", id: "88.100/missing", want: idresv1.Outcome_OUTCOME_NOT_FOUND},
	{name: "prefix not in the zone", id: "88.100.9/x", want: idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND},
	{name: "withdrawn", id: "88.100/old", want: idresv1.Outcome_OUTCOME_GONE},
	{name: "derived from a pattern", id: "88.100/PUMP-000042", want: idresv1.Outcome_OUTCOME_OK,
		vals: []string{"1 URL https://example.com/pumps/000042"}},
	{name: "delegated child", id: "88.100.7/x", want: idresv1.Outcome_OUTCOME_REFERRAL,
		atRecursive: idresv1.Outcome_OUTCOME_OK},
	{name: "prefix handle", id: "0.NA/88.100", want: idresv1.Outcome_OUTCOME_OK},
}

// agreeNodes is the authoritative node (holding 88.100, delegating
// 88.100.7 to child) and a recursive node whose root is the authority.
type agreeNodes struct {
	auth, child, rec *node.Node
}

func startAgreeNode(t *testing.T, cfg node.Config) *node.Node {
	t.Helper()
	cfg.DataDir, cfg.GRPCAddr, cfg.Logger = t.TempDir(), "127.0.0.1:0", quietLog
	cfg.DNSAddr, cfg.DNSZone, cfg.HandleAddr = "127.0.0.1:0", agreeZone, "127.0.0.1:0"
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

func adminOf(t *testing.T, n *node.Node) *client.Client {
	t.Helper()
	tok, err := os.ReadFile(n.AdminTokenPath)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.Dial(n.GRPCAddr(), client.Options{Token: strings.TrimSpace(string(tok))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func startAgreeNodes(t *testing.T) agreeNodes {
	t.Helper()
	var ns agreeNodes
	ns.auth = startAgreeNode(t, node.Config{HTTPAddr: "127.0.0.1:0"})
	ns.child = startAgreeNode(t, node.Config{})
	ns.rec = startAgreeNode(t, node.Config{HTTPAddr: "127.0.0.1:0", Recursive: node.RecursiveConfig{Roots: []string{ns.auth.GRPCAddr()}}})

	ctx := ctxT(t)
	a, c := adminOf(t, ns.auth), adminOf(t, ns.child)
	private := func(v *idresv1.Value) *idresv1.Value { v.PublicRead = proto.Bool(false); return v }
	steps := []func() error{
		func() error {
			_, err := a.CreatePrefix(ctx, &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: "88.100", NegativeTtl: proto.Uint32(120)}})
			return err
		},
		func() error {
			_, err := a.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: "88.100/ok", Values: []*idresv1.Value{
				val(1, "URL", "https://example.com/ok", 600), val(2, "name", "widget", 900), private(val(3, "secret", "s3cret", 300))}})
			return err
		},
		func() error {
			_, err := a.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: "88.100/hidden", Values: []*idresv1.Value{
				private(val(1, "secret", "only for registrars", 300))}})
			return err
		},
		func() error {
			_, err := a.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: "88.100/old", Values: []*idresv1.Value{val(1, "URL", "https://example.com/old", 0)}})
			return err
		},
		func() error {
			_, err := a.DeleteIdentifier(ctx, &idresv1.DeleteIdentifierRequest{Identifier: "88.100/old", Tombstone: &idresv1.TombstoneOptions{Reason: "replaced", Successor: "88.100/new"}})
			return err
		},
		func() error {
			_, err := a.SetPattern(ctx, &idresv1.SetPatternRequest{Pattern: &idresv1.Pattern{Prefix: "88.100", Pattern: "PUMP-{serial:000000-999999}",
				Values: []*idresv1.Value{val(1, "URL", "https://example.com/pumps/{serial}", 0)}}})
			return err
		},
		func() error {
			_, err := c.CreatePrefix(ctx, &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: "88.100.7"}})
			return err
		},
		func() error {
			_, err := c.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: "88.100.7/x", Values: []*idresv1.Value{val(1, "URL", "https://example.com/child", 0)}})
			return err
		},
		func() error {
			_, err := a.SetDelegation(ctx, &idresv1.SetDelegationRequest{Delegation: &idresv1.Delegation{Prefix: "88.100.7",
				Grpc: []string{ns.child.GRPCAddr()}, Dns: []string{ns.child.DNSAddr()}}})
			return err
		},
	}
	for i, s := range steps {
		if err := s(); err != nil {
			t.Fatalf("setup step %d: %v", i, err)
		}
	}
	return ns
}

// heard is one front end's answer, read back into the shared terms.
type heard struct {
	outcome idresv1.Outcome
	vals    []string // sorted
}

func (h heard) String() string { return fmt.Sprintf("%s %q", h.outcome, h.vals) }

func valueLine(index uint32, typ, data string) string {
	return fmt.Sprintf("%d %s %s", index, typ, data)
}

func askGRPC(t *testing.T, c *client.Client, tc agreeCase) heard {
	t.Helper()
	resp, err := c.Resolve(ctxT(t), &idresv1.ResolveRequest{Identifier: tc.id, Types: tc.types, Indexes: tc.indexes})
	if err != nil {
		t.Fatalf("gRPC Resolve %s: %v", tc.id, err)
	}
	h := heard{outcome: resp.GetOutcome()}
	for _, v := range resp.GetValues() {
		h.vals = append(h.vals, valueLine(v.GetIndex(), v.GetType(), string(v.GetData())))
	}
	slices.Sort(h.vals)
	return h
}

// askHTTP reads a Handle-REST answer back into an outcome through
// httpgw.MapOutcome, which must give the code and status the gateway sent.
func askHTTP(t *testing.T, base string, tc agreeCase, want idresv1.Outcome) heard {
	t.Helper()
	u := httpgw.APIURL(base, tc.id)
	q := url.Values{}
	for _, typ := range tc.types {
		q.Add("type", typ)
	}
	for _, i := range tc.indexes {
		q.Add("index", strconv.FormatUint(uint64(i), 10))
	}
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	resp, body := httpGet(t, u)
	rec := httpJSON(t, body)
	h := heard{outcome: idresv1.Outcome_OUTCOME_UNSPECIFIED}
	for o := range idresv1.Outcome_name {
		out := idresv1.Outcome(o)
		m := httpgw.MapOutcome(out)
		if m.Code == rec.ResponseCode && m.Status == resp.StatusCode && out != idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND {
			h.outcome = out
		}
	}
	if h.outcome == idresv1.Outcome_OUTCOME_NOT_FOUND && want == idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND {
		// NOT_FOUND and PREFIX_NOT_FOUND share code 100 and 404 (as
		// Handle.net answers both); only the message differs.
		h.outcome = want
	}
	if resp.StatusCode == http.StatusFound {
		h.outcome = idresv1.Outcome_OUTCOME_REFERRAL
	}
	for _, v := range rec.Values {
		data := v.Data.Value
		if v.Data.Format == "base64" {
			// Binary data (HS_SITE) is base64 in JSON.
			raw, err := base64.StdEncoding.DecodeString(data)
			if err != nil {
				t.Fatalf("HTTP value %d: %v", v.Index, err)
			}
			data = string(raw)
		}
		h.vals = append(h.vals, valueLine(v.Index, v.Type, data))
	}
	slices.Sort(h.vals)
	return h
}

// askDNS asks TXT at the identifier's name (a prefix handle's is its
// prefix's apex) and reads the reply back: NOERROR with TXT is OK,
// NOERROR without data is VALUES_NOT_FOUND, NOERROR with only NS in
// authority is a REFERRAL, NXDOMAIN with a TXT at the name is GONE,
// NXDOMAIN otherwise NOT_FOUND (or PREFIX_NOT_FOUND, which DNS cannot
// tell apart inside a zone), REFUSED is PREFIX_NOT_FOUND outside any zone.
func askDNS(t *testing.T, addr string, tc agreeCase, want idresv1.Outcome) heard {
	t.Helper()
	id := ident.MustParse(tc.id)
	var name string
	var err error
	if id.IsPrefixHandle() {
		name, err = dnsname.Prefix(agreeZone, id.Suffix)
	} else {
		name, err = dnsname.Identifier(agreeZone, id)
	}
	if err != nil {
		t.Fatal(err)
	}
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeTXT)
	m.SetEdns0(4096, false)
	c := &dns.Client{Net: "tcp", Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("DNS TXT %s: %v", name, err)
	}
	var h heard
	var txts []string
	for _, rr := range r.Answer {
		if txt, ok := rr.(*dns.TXT); ok {
			txts = append(txts, strings.Join(txt.Txt, ""))
		}
	}
	hasNS := slices.ContainsFunc(r.Ns, func(rr dns.RR) bool { return rr.Header().Rrtype == dns.TypeNS })
	switch {
	case r.Rcode == dns.RcodeSuccess && len(txts) > 0:
		h.outcome = idresv1.Outcome_OUTCOME_OK
		for _, txt := range txts {
			// Binary data (HS_SITE) is "base64:<data>" in TXT.
			if f := strings.SplitN(txt, " ", 3); len(f) == 3 && strings.HasPrefix(f[2], "base64:") {
				raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(f[2], "base64:"))
				if err != nil {
					t.Fatalf("DNS TXT %q: %v", txt, err)
				}
				txt = f[0] + " " + f[1] + " " + string(raw)
			}
			h.vals = append(h.vals, txt)
		}
	case r.Rcode == dns.RcodeSuccess && hasNS && !r.Authoritative:
		h.outcome = idresv1.Outcome_OUTCOME_REFERRAL
	case r.Rcode == dns.RcodeSuccess:
		h.outcome = idresv1.Outcome_OUTCOME_VALUES_NOT_FOUND
	case r.Rcode == dns.RcodeNameError && len(txts) > 0:
		h.outcome = idresv1.Outcome_OUTCOME_GONE
	case r.Rcode == dns.RcodeNameError && want == idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND,
		r.Rcode == dns.RcodeRefused:
		h.outcome = idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND
	case r.Rcode == dns.RcodeNameError:
		h.outcome = idresv1.Outcome_OUTCOME_NOT_FOUND
	default:
		h.outcome = idresv1.Outcome_OUTCOME_UNSPECIFIED
	}
	slices.Sort(h.vals)
	return h
}

// askHandle sends an OC_RESOLUTION over TCP and reads the response back:
// RC_SUCCESS is OK, RC_VALUES_NOT_FOUND VALUES_NOT_FOUND, a service or
// prefix referral REFERRAL, RC_INVALID_HANDLE INVALID_IDENTIFIER,
// RC_ERROR SERVER_FAILURE; RC_HANDLE_NOT_FOUND is GONE when its message
// is the tombstone's, else NOT_FOUND (or PREFIX_NOT_FOUND, which shares
// the code, as in Handle.net's own answers).
func askHandle(t *testing.T, addr string, tc agreeCase, want idresv1.Outcome) heard {
	t.Helper()
	q := handlewire.ResolutionRequest{Handle: []byte(tc.id), Indexes: tc.indexes}
	for _, typ := range tc.types {
		q.Types = append(q.Types, []byte(typ))
	}
	req := handlewire.AppendFrame(nil, &handlewire.Frame{
		Envelope: handlewire.Envelope{Version: handlewire.Latest, RequestID: 77},
		Header:   handlewire.Header{OpCode: handlewire.OpResolution, OpFlags: handlewire.FlagRecursive, Expiration: uint32(time.Now().Add(time.Minute).Unix())},
		Body:     q.Append(nil),
	})
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	env := make([]byte, handlewire.EnvelopeSize)
	if _, err := io.ReadFull(c, env); err != nil {
		t.Fatalf("Handle %s: %v", tc.id, err)
	}
	e, err := handlewire.DecodeEnvelope(env)
	if err != nil || e.RequestID != 77 {
		t.Fatalf("Handle %s: envelope %+v, %v", tc.id, e, err)
	}
	raw := make([]byte, e.MessageLength)
	if _, err := io.ReadFull(c, raw); err != nil {
		t.Fatal(err)
	}
	m, err := handlewire.DecodeMessage(raw)
	if err != nil {
		t.Fatal(err)
	}
	var h heard
	switch m.ResponseCode {
	case handlewire.RCSuccess:
		h.outcome = idresv1.Outcome_OUTCOME_OK
		hv, err := handlewire.DecodeHandleValues(m.Body)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range hv.Values {
			h.vals = append(h.vals, valueLine(v.Index, string(v.Type), string(v.Data)))
		}
	case handlewire.RCValuesNotFound:
		h.outcome = idresv1.Outcome_OUTCOME_VALUES_NOT_FOUND
	case handlewire.RCServiceReferral, handlewire.RCPrefixReferral:
		h.outcome = idresv1.Outcome_OUTCOME_REFERRAL
	case handlewire.RCInvalidHandle:
		h.outcome = idresv1.Outcome_OUTCOME_INVALID_IDENTIFIER
	case handlewire.RCError:
		h.outcome = idresv1.Outcome_OUTCOME_SERVER_FAILURE
	case handlewire.RCServerNotResponsible:
		h.outcome = idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND // under no zone of the node
	case handlewire.RCHandleNotFound:
		switch {
		case strings.Contains(handlewire.DecodeError(m.Body), "was withdrawn"):
			h.outcome = idresv1.Outcome_OUTCOME_GONE
		case want == idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND:
			h.outcome = want
		default:
			h.outcome = idresv1.Outcome_OUTCOME_NOT_FOUND
		}
	}
	slices.Sort(h.vals)
	return h
}

// TestFrontEndsAgree: for every row, gRPC gives the expected outcome and
// values, and HTTP, Handle and DNS give the same, on the authoritative node and
// through the recursive node.
func TestFrontEndsAgree(t *testing.T) {
	ns := startAgreeNodes(t)
	for _, at := range []struct {
		name string
		n    *node.Node
	}{{"authoritative", ns.auth}, {"recursive", ns.rec}} {
		anon, err := client.Dial(at.n.GRPCAddr(), client.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { anon.Close() })
		for _, tc := range agreeCases {
			t.Run(at.name+"/"+tc.name, func(t *testing.T) {
				want := tc.want
				if at.n == ns.rec && tc.atRecursive != idresv1.Outcome_OUTCOME_UNSPECIFIED {
					want = tc.atRecursive
				}
				g := askGRPC(t, anon, tc)
				if g.outcome != want {
					t.Fatalf("gRPC: %s, want outcome %s", g, want)
				}
				if tc.vals != nil && !slices.Equal(g.vals, tc.vals) {
					t.Errorf("gRPC values %q, want %q", g.vals, tc.vals)
				}
				if h := askHTTP(t, at.n.HTTPURL(), tc, want); h.outcome != g.outcome || !slices.Equal(h.vals, g.vals) {
					t.Errorf("HTTP: %s; gRPC: %s", h, g)
				}
				if h := askHandle(t, at.n.HandleAddr(), tc, want); h.outcome != g.outcome || !slices.Equal(h.vals, g.vals) {
					t.Errorf("Handle: %s; gRPC: %s", h, g)
				}
				if tc.filtered() {
					return
				}
				if d := askDNS(t, at.n.DNSAddr(), tc, want); d.outcome != g.outcome || !slices.Equal(d.vals, g.vals) {
					t.Errorf("DNS: %s; gRPC: %s", d, g)
				}
			})
		}
	}
}
