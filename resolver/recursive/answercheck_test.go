package recursive_test

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// hostile is a gRPC Resolver on loopback that answers whatever answer
// returns: an upstream that lies, which no real node does, so it stands in
// for one that was subverted or misconfigured.
type hostile struct {
	idresv1.UnimplementedResolverServer
	answer func(*idresv1.ResolveRequest) *idresv1.ResolveResponse
}

func (h *hostile) Resolve(_ context.Context, req *idresv1.ResolveRequest) (*idresv1.ResolveResponse, error) {
	return h.answer(req), nil
}

func startHostile(t testing.TB, answer func(*idresv1.ResolveRequest) *idresv1.ResolveResponse) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	idresv1.RegisterResolverServer(s, &hostile{answer: answer})
	go s.Serve(l)
	t.Cleanup(s.Stop)
	return l.Addr().String()
}

func val(index uint32, typ, data string, ttl uint32, public bool) *idresv1.Value {
	return &idresv1.Value{Index: index, Type: typ, Data: []byte(data), Ttl: proto.Uint32(ttl), PublicRead: proto.Bool(public)}
}

// TestUpstreamAnswerMustMatchTheQuestion: the first endpoint of 88.100's
// delegation answers about another identifier, or in the name of a zone
// that is not the delegated one or below it; the walker takes such an
// answer for no answer and asks the next endpoint, the real node.
func TestUpstreamAnswerMustMatchTheQuestion(t *testing.T) {
	evil := []*idresv1.Value{val(1, "URL", "https://evil.example/", 600, true)}
	tests := []struct {
		name string
		lie  *idresv1.ResolveResponse
	}{
		{"another identifier", &idresv1.ResolveResponse{Outcome: idresv1.Outcome_OUTCOME_OK, Identifier: "88.100/other", Zone: "88.100", Values: evil, Ttl: 600, Authoritative: true}},
		{"an identifier under another prefix", &idresv1.ResolveResponse{Outcome: idresv1.Outcome_OUTCOME_OK, Identifier: "88.200/part", Zone: "88.100", Values: evil, Ttl: 600, Authoritative: true}},
		{"a zone above the delegation", &idresv1.ResolveResponse{Outcome: idresv1.Outcome_OUTCOME_OK, Identifier: "88.100/part", Zone: "88", Values: evil, Ttl: 600, Authoritative: true}},
		{"a zone beside the question", &idresv1.ResolveResponse{Outcome: idresv1.Outcome_OUTCOME_OK, Identifier: "88.100/part", Zone: "88.200", Values: evil, Ttl: 600, Authoritative: true}},
		{"a denial of another identifier", &idresv1.ResolveResponse{Outcome: idresv1.Outcome_OUTCOME_NOT_FOUND, Identifier: "88.100/nothing", Zone: "88.100", Ttl: 600, Authoritative: true}},
		{"a denial of a prefix from above the delegation", &idresv1.ResolveResponse{Outcome: idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND, Identifier: "88.100/part", Zone: "88", Ttl: 600, Authoritative: true}},
		{"a referral about another identifier", &idresv1.ResolveResponse{Outcome: idresv1.Outcome_OUTCOME_REFERRAL, Identifier: "88.100.5/x", Ttl: 600,
			Referral: &idresv1.Delegation{Prefix: "88.100", Grpc: []string{"127.0.0.1:1"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root, leaf := startNode(t), startNode(t)
			root.hold(t, "", negTTL)
			leaf.hold(t, "88.100", negTTL)
			leaf.register(t, "88.100/part", valueTTL, "URL", "https://example.com/part")
			liar := startHostile(t, func(*idresv1.ResolveRequest) *idresv1.ResolveResponse {
				return proto.Clone(tc.lie).(*idresv1.ResolveResponse)
			})
			root.delegate(t, "88.100", refTTL, liar, leaf.GRPCAddr())
			w, _ := newWalker(t, newClock(), walkerOpts{timeout: time.Second}, root.GRPCAddr())
			for _, pass := range []string{"walk", "cache"} {
				r := resolve(t, w, "88.100/part")
				if r.Outcome != idresv1.Outcome_OUTCOME_OK || len(r.Values) != 1 || string(r.Values[0].Data) != "https://example.com/part" {
					t.Fatalf("%s: %v %q %v, want the real node's answer", pass, r.Outcome, r.Message, r.Values)
				}
			}
		})
	}
}

// TestUpstreamPrivateValuesAndTTLsAreBounded: a recursive node answers
// anyone, so it drops values an upstream marks private, and it keeps what
// it caches no longer than 86400 s (answers, referrals) or 3600 s
// (denials), however long the upstream says.
func TestUpstreamPrivateValuesAndTTLsAreBounded(t *testing.T) {
	const forever = 1<<32 - 1
	answers := map[string]*idresv1.ResolveResponse{
		"88/private": {Outcome: idresv1.Outcome_OUTCOME_OK, Zone: "88", Ttl: 600, Values: []*idresv1.Value{
			val(1, "URL", "https://example.com/", 600, true), val(2, "price", "EUR 412.00", 600, false)}},
		"88/all-private": {Outcome: idresv1.Outcome_OUTCOME_OK, Zone: "88", Ttl: 600, Values: []*idresv1.Value{val(2, "price", "EUR 412.00", 600, false)}},
		"88/forever":     {Outcome: idresv1.Outcome_OUTCOME_OK, Zone: "88", Ttl: forever, Values: []*idresv1.Value{val(1, "URL", "https://example.com/", forever, true)}},
		"88/never":       {Outcome: idresv1.Outcome_OUTCOME_NOT_FOUND, Zone: "88", Ttl: forever, NegativeTtl: forever},
		"88.5/x":         {Outcome: idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND, Zone: "88", Ttl: forever},
		"88.7/x": {Outcome: idresv1.Outcome_OUTCOME_REFERRAL, Ttl: forever,
			Referral: &idresv1.Delegation{Prefix: "88.7", Grpc: []string{"127.0.0.1:1"}, Ttl: proto.Uint32(forever)}},
	}
	liar := startHostile(t, func(req *idresv1.ResolveRequest) *idresv1.ResolveResponse {
		a, ok := answers[strings.ToLower(req.GetIdentifier())]
		if !ok {
			return &idresv1.ResolveResponse{Outcome: idresv1.Outcome_OUTCOME_SERVER_FAILURE}
		}
		a = proto.Clone(a).(*idresv1.ResolveResponse)
		a.Identifier, a.Authoritative = req.GetIdentifier(), a.Outcome != idresv1.Outcome_OUTCOME_REFERRAL
		return a
	})
	root := startNode(t)
	root.hold(t, "", negTTL)
	root.delegate(t, "88", refTTL, liar)
	w, _ := newWalker(t, newClock(), walkerOpts{timeout: time.Second}, root.GRPCAddr())

	for _, id := range []string{"88/private", "88/all-private"} {
		r := resolve(t, w, id)
		for _, v := range r.Values {
			if !v.GetPublicRead() {
				t.Errorf("%s: private value %d %s passed through", id, v.Index, v.Type)
			}
		}
		if id == "88/private" && (r.Outcome != idresv1.Outcome_OUTCOME_OK || len(r.Values) != 1) {
			t.Errorf("%s: %v with %d values, want OK with the public one", id, r.Outcome, len(r.Values))
		}
		if id == "88/all-private" && r.Outcome == idresv1.Outcome_OUTCOME_OK {
			t.Errorf("%s: OK with %d values, want no OK answer", id, len(r.Values))
		}
	}
	bounds := []struct {
		id  string
		max uint32
	}{{"88/forever", 86400}, {"88/never", 3600}, {"88.5/x", 3600}}
	for _, b := range bounds {
		r := resolve(t, w, b.id)
		if r.Ttl == 0 || r.Ttl > b.max {
			t.Errorf("%s: %v ttl %d, want 1..%d", b.id, r.Outcome, r.Ttl, b.max)
		}
		for _, v := range r.Values {
			if v.GetTtl() > b.max {
				t.Errorf("%s: value %d ttl %d, want at most %d", b.id, v.Index, v.GetTtl(), b.max)
			}
		}
	}
	resolve(t, w, "88.7/x") // caches the referral to 88.7
	if _, ttl, ok := w.Cache().DeepestReferral("88.7"); !ok || ttl > 86400 {
		t.Errorf("referral to 88.7 cached %v for %d s, want at most 86400", ok, ttl)
	}
}

// bearerToken sends a node's token on every upstream call, as a recursive
// node would if its client certificate or a token gave it rights upstream.
type bearerToken string

func (b bearerToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearerToken) RequireTransportSecurity() bool { return false }

// TestPrivateValuesFromAnAuthorisedUpstreamAreDropped: the upstream, a
// real node, shows its private values to the walker because the walker
// holds a credential there; the walker still gives only the public ones to
// its own (anonymous) callers and its cache.
func TestPrivateValuesFromAnAuthorisedUpstreamAreDropped(t *testing.T) {
	n := startNode(t)
	n.hold(t, "88", negTTL)
	if _, err := n.admin.CreateIdentifier(context.Background(), &idresv1.CreateIdentifierRequest{Identifier: "88/valve", Values: []*idresv1.Value{
		val(1, "URL", "https://example.com/valve", valueTTL, true), val(10, "supplier_price", "EUR 412.00", valueTTL, false)}}); err != nil {
		t.Fatal(err)
	}
	tok, err := os.ReadFile(n.AdminTokenPath)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := newWalker(t, newClock(), walkerOpts{dialOpts: []grpc.DialOption{grpc.WithPerRPCCredentials(bearerToken(strings.TrimSpace(string(tok))))}}, n.GRPCAddr())
	for _, pass := range []string{"walk", "cache"} {
		r := resolve(t, w, "88/valve")
		if r.Outcome != idresv1.Outcome_OUTCOME_OK || len(r.Values) != 1 || r.Values[0].Index != 1 {
			t.Errorf("%s: %v %v, want only the public value 1", pass, r.Outcome, r.Values)
		}
	}
}
