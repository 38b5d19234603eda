package node_test

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/resolver"
	"github.com/idres/idres/resolver/client"
)

// resolveCase is one question and the answer expected of an authoritative
// node: the in-band outcome and what comes with it.
type resolveCase struct {
	name    string
	as      string // "" anonymous, "admin", or a credential of startHierarchy: "reader" (88.100), "other" (86)
	req     *idresv1.ResolveRequest
	outcome idresv1.Outcome
	values  []uint32 // indexes of the values returned, in order
	ttl     uint32
	auth    bool   // authoritative
	zone    string // the answering zone
	ident   string // the identifier echoed ("" to skip the check)
	msg     string // substring of the message ("" to skip)
	types   []string
	data    []string // data of the values, in order (nil to skip)
}

func req(id string) *idresv1.ResolveRequest { return &idresv1.ResolveRequest{Identifier: id} }

func reqTypes(id string, types ...string) *idresv1.ResolveRequest {
	return &idresv1.ResolveRequest{Identifier: id, Types: types}
}

func reqIndexes(id string, idx ...uint32) *idresv1.ResolveRequest {
	return &idresv1.ResolveRequest{Identifier: id, Indexes: idx}
}

func checkResolve(t *testing.T, c *client.Client, tt resolveCase) *idresv1.ResolveResponse {
	t.Helper()
	resp, err := c.Resolve(ctxT(t), tt.req)
	if err != nil {
		t.Fatalf("Resolve(%q): gRPC error %v; outcomes are in-band", tt.req.Identifier, err)
	}
	if resp.Outcome != tt.outcome {
		t.Fatalf("outcome = %v (%q), want %v", resp.Outcome, resp.Message, tt.outcome)
	}
	if got := indexesOf(resp.Values); !slices.Equal(got, tt.values) && !(len(got) == 0 && len(tt.values) == 0) {
		t.Errorf("values = %v, want %v", got, tt.values)
	}
	if resp.Ttl != tt.ttl {
		t.Errorf("ttl = %d, want %d", resp.Ttl, tt.ttl)
	}
	if resp.Authoritative != tt.auth {
		t.Errorf("authoritative = %v, want %v", resp.Authoritative, tt.auth)
	}
	if resp.Zone != tt.zone {
		t.Errorf("zone = %q, want %q", resp.Zone, tt.zone)
	}
	if tt.ident != "" && resp.Identifier != tt.ident {
		t.Errorf("identifier = %q, want %q", resp.Identifier, tt.ident)
	}
	if !strings.Contains(resp.Message, tt.msg) {
		t.Errorf("message = %q, want it to contain %q", resp.Message, tt.msg)
	}
	if tt.types != nil {
		var got []string
		for _, v := range resp.Values {
			got = append(got, v.Type)
		}
		if !slices.Equal(got, tt.types) {
			t.Errorf("types = %q, want %q", got, tt.types)
		}
	}
	if tt.data != nil {
		var got []string
		for _, v := range resp.Values {
			got = append(got, string(v.Data))
		}
		if !slices.Equal(got, tt.data) {
			t.Errorf("data = %q, want %q", got, tt.data)
		}
	}
	for _, v := range resp.Values {
		// A held prefix's own service values are not written records and
		// carry no timestamp; every stored value does.
		if v.Ttl == nil || v.PublicRead == nil || v.Timestamp == nil && !strings.HasPrefix(v.Type, "IDRES_") {
			t.Errorf("value %d lacks timestamp, ttl or public_read: %v", v.Index, v)
		}
	}
	if tt.outcome == idresv1.Outcome_OUTCOME_REFERRAL && resp.Referral == nil {
		t.Error("REFERRAL without a referral")
	}
	if tt.outcome != idresv1.Outcome_OUTCOME_REFERRAL && resp.Referral != nil {
		t.Errorf("%v with a referral", tt.outcome)
	}
	return resp
}

// hierarchy is a parent node that holds 88.100 and delegates 88.100.7 to a
// child node that holds 88.100.7.
type hierarchy struct {
	parent, child *grpcNode
	// clients of the parent by credential: "admin", "reader" (read on
	// 88.100), "other" (read on 86).
	clients map[string]*client.Client
}

func startHierarchy(t *testing.T) hierarchy {
	t.Helper()
	h := hierarchy{parent: startGRPCNode(t), child: startGRPCNode(t)}
	h.parent.mustCreatePrefix(t, &idresv1.Prefix{Prefix: "88.100", NegativeTtl: proto.Uint32(600)})
	h.parent.mustCreatePrefix(t, &idresv1.Prefix{Prefix: "86"}) // default negative TTL
	h.parent.mustCreateID(t, "88.100/Part-1",
		val(1, "URL", "https://parts.example.com/1", 300),
		val(2, "URL", "https://mirror.example.com/1", 600),
		privateVal(val(3, "batch", "B-42", 3600)),
		val(4, "manufacturer", "Example Parts Ltd", 0),
	)
	h.parent.mustCreateID(t, "88.100/secret", privateVal(val(1, "note", "internal", 60)))
	err := h.parent.n.Store().Update(func(tx *store.Tx) error {
		// 86 is held and delegated: the held zone wins (HIER-001).
		if err := tx.PutDelegation(&idresv1.Delegation{Prefix: "86", Grpc: []string{"127.0.0.1:2"}}); err != nil {
			return err
		}
		return tx.PutDelegation(&idresv1.Delegation{
			Prefix: "88.100.7",
			Grpc:   []string{h.child.n.GRPCAddr(), "127.0.0.1:1"},
			Dns:    []string{"127.0.0.17"},
			Http:   []string{"http://127.0.0.17:8080"},
			Ttl:    proto.Uint32(1200),
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	h.parent.mustCreateID(t, "88.100/Café-Straße", val(1, "note", "non-ASCII suffix", 0))
	h.clients = map[string]*client.Client{"admin": h.parent.admin}
	for name, prefix := range map[string]string{"reader": "88.100", "other": "86"} {
		resp, err := h.parent.admin.IssueCredential(ctxT(t), &idresv1.IssueCredentialRequest{Prefix: prefix, Role: "read"})
		if err != nil {
			t.Fatalf("IssueCredential(%s): %v", prefix, err)
		}
		h.clients[name] = h.parent.dial(t, resp.Token)
	}
	h.child.mustCreatePrefix(t, &idresv1.Prefix{Prefix: "88.100.7", NegativeTtl: proto.Uint32(120)})
	h.child.mustCreateID(t, "88.100.7/X", val(1, "URL", "https://child.example.com/x", 900))
	return h
}

func TestResolveOutcomes(t *testing.T) {
	h := startHierarchy(t)
	const (
		OK       = idresv1.Outcome_OUTCOME_OK
		NotFound = idresv1.Outcome_OUTCOME_NOT_FOUND
		NoValues = idresv1.Outcome_OUTCOME_VALUES_NOT_FOUND
		NoPrefix = idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND
		Invalid  = idresv1.Outcome_OUTCOME_INVALID_IDENTIFIER
		Referral = idresv1.Outcome_OUTCOME_REFERRAL
	)
	tests := []resolveCase{
		// OK: private value 3 hidden without a token; TTL is the smallest returned.
		{name: "ok", req: req("88.100/Part-1"), outcome: OK, values: []uint32{1, 2, 4}, ttl: 300, auth: true, zone: "88.100", ident: "88.100/Part-1"},
		{name: "ok, other case keeps the registrant's spelling", req: req("88.100/PART-1"), outcome: OK, values: []uint32{1, 2, 4}, ttl: 300, auth: true, zone: "88.100", ident: "88.100/Part-1"},
		{name: "type filter", req: reqTypes("88.100/part-1", "URL"), outcome: OK, values: []uint32{1, 2}, ttl: 300, auth: true, zone: "88.100",
			data: []string{"https://parts.example.com/1", "https://mirror.example.com/1"}},
		{name: "type filter, default TTL", req: reqTypes("88.100/part-1", "manufacturer"), outcome: OK, values: []uint32{4}, ttl: 86400, auth: true, zone: "88.100"},
		{name: "two types", req: reqTypes("88.100/part-1", "manufacturer", "URL"), outcome: OK, values: []uint32{1, 2, 4}, ttl: 300, auth: true, zone: "88.100"},
		{name: "index filter", req: reqIndexes("88.100/part-1", 2), outcome: OK, values: []uint32{2}, ttl: 600, auth: true, zone: "88.100"},
		{name: "type and index filter", req: &idresv1.ResolveRequest{Identifier: "88.100/part-1", Types: []string{"URL"}, Indexes: []uint32{2, 4}}, outcome: OK, values: []uint32{2}, ttl: 600, auth: true, zone: "88.100"},
		{name: "admin sees private", as: "admin", req: req("88.100/part-1"), outcome: OK, values: []uint32{1, 2, 3, 4}, ttl: 300, auth: true, zone: "88.100"},
		{name: "admin, private by type", as: "admin", req: reqTypes("88.100/part-1", "batch"), outcome: OK, values: []uint32{3}, ttl: 3600, auth: true, zone: "88.100", data: []string{"B-42"}},

		// VALUES_NOT_FOUND carries the zone's negative TTL.
		{name: "type matches nothing", req: reqTypes("88.100/part-1", "EMAIL"), outcome: NoValues, ttl: 600, auth: true, zone: "88.100", ident: "88.100/Part-1"},
		{name: "type is case-sensitive", req: reqTypes("88.100/part-1", "url"), outcome: NoValues, ttl: 600, auth: true, zone: "88.100"},
		{name: "index matches nothing", req: reqIndexes("88.100/part-1", 9), outcome: NoValues, ttl: 600, auth: true, zone: "88.100"},
		{name: "type and index disjoint", req: &idresv1.ResolveRequest{Identifier: "88.100/part-1", Types: []string{"URL"}, Indexes: []uint32{4}}, outcome: NoValues, ttl: 600, auth: true, zone: "88.100"},
		{name: "private type without token", req: reqTypes("88.100/part-1", "batch"), outcome: NoValues, ttl: 600, auth: true, zone: "88.100"},
		{name: "reader of the prefix sees private", as: "reader", req: reqTypes("88.100/part-1", "batch"), outcome: OK, values: []uint32{3}, ttl: 3600, auth: true, zone: "88.100"},
		{name: "credential of another prefix does not", as: "other", req: req("88.100/part-1"), outcome: OK, values: []uint32{1, 2, 4}, ttl: 300, auth: true, zone: "88.100"},
		{name: "all values private", req: req("88.100/secret"), outcome: NoValues, ttl: 600, auth: true, zone: "88.100"},
		{name: "all values private, admin", as: "admin", req: req("88.100/secret"), outcome: OK, values: []uint32{1}, ttl: 60, auth: true, zone: "88.100"},

		// ASCII folds, non-ASCII compares exactly after NFC (ID-004, ID-005).
		{name: "non-ASCII, ASCII case folded", req: req("88.100/cAFÉ-sTRAße"), outcome: NotFound, ttl: 600, auth: true, zone: "88.100"},
		{name: "non-ASCII, same non-ASCII", req: req("88.100/cafÉ-straße"), outcome: NotFound, ttl: 600, auth: true, zone: "88.100"},
		{name: "non-ASCII, exact", req: req("88.100/CAFé-STRAße"), outcome: OK, values: []uint32{1}, ttl: 86400, auth: true, zone: "88.100", ident: "88.100/Café-Straße"},
		{name: "non-ASCII, decomposed input", req: req("88.100/cafe\u0301-straße"), outcome: OK, values: []uint32{1}, ttl: 86400, auth: true, zone: "88.100", ident: "88.100/Café-Straße"},
		{name: "non-ASCII, ß is not ss", req: req("88.100/café-strasse"), outcome: NotFound, ttl: 600, auth: true, zone: "88.100"},

		// NOT_FOUND: the zone is held, the identifier is not.
		{name: "not found", req: req("88.100/nope"), outcome: NotFound, ttl: 600, auth: true, zone: "88.100", ident: "88.100/nope", msg: "not registered"},
		{name: "not found, default negative TTL", req: req("86/x"), outcome: NotFound, ttl: 3600, auth: true, zone: "86"},
		{name: "held wins over a delegation of the same prefix", req: req("86.1/x"), outcome: NoPrefix, ttl: 3600, auth: true, zone: "86"},
		{name: "prefix handle: held wins over a delegation", req: req("0.NA/86"), outcome: OK, values: []uint32{1}, ttl: 86400, auth: true, zone: "86",
			data: []string{h.parent.n.GRPCAddr()}},

		// PREFIX_NOT_FOUND (HIER-002).
		{name: "prefix under a held zone", req: req("88.100.5/x"), outcome: NoPrefix, ttl: 600, auth: true, zone: "88.100", msg: "does not exist in zone"},
		{name: "deep prefix under a held zone", req: req("88.100.5.6.7/x"), outcome: NoPrefix, ttl: 600, auth: true, zone: "88.100"},
		{name: "prefix nobody here holds", req: req("99/x"), outcome: NoPrefix, ttl: 3600, auth: false, msg: "no zone of this node"},
		{name: "parent of a held zone", req: req("88/x"), outcome: NoPrefix, ttl: 3600, auth: false},
		{name: "sibling sharing bytes", req: req("88.1000/x"), outcome: NoPrefix, ttl: 3600, auth: false},

		// REFERRAL: deepest match wins (HIER-001).
		{name: "referral", req: req("88.100.7/X"), outcome: Referral, ttl: 1200, auth: false, msg: "delegated"},
		{name: "referral below the cut", req: req("88.100.7.1/y"), outcome: Referral, ttl: 1200, auth: false},
		{name: "referral with filters", req: reqTypes("88.100.7/X", "URL"), outcome: Referral, ttl: 1200, auth: false},

		// INVALID_IDENTIFIER names the part and the byte (ID-007).
		{name: "no slash", req: req("88.100"), outcome: Invalid, msg: "identifier at byte 0"},
		{name: "empty", req: req(""), outcome: Invalid, msg: "identifier at byte 0"},
		{name: "empty segment", req: req("88..100/x"), outcome: Invalid, msg: "prefix at byte 3", ident: "88..100/x"},
		{name: "bad prefix character", req: req("88.1 0/x"), outcome: Invalid, msg: "prefix at byte 4"},
		{name: "control in suffix", req: req("88.100/a\x01b"), outcome: Invalid, msg: "suffix at byte 8"},
		{name: "empty suffix", req: req("88.100/"), outcome: Invalid, msg: "suffix at byte 7"},
		{name: "suffix too long", req: req("88.100/" + strings.Repeat("x", 1025)), outcome: Invalid, msg: "suffix"},

		// The prefix handle 0.NA/<prefix> (HIER-003), at the delegating node.
		{name: "prefix handle of a delegated prefix", req: req("0.NA/88.100.7"), outcome: OK, values: []uint32{1, 2, 3, 4}, ttl: 1200, auth: true, zone: "88.100",
			types: []string{resolver.TypeGRPC, resolver.TypeGRPC, resolver.TypeDNS, resolver.TypeHTTP},
			data:  []string{h.child.n.GRPCAddr(), "127.0.0.1:1", "127.0.0.17", "http://127.0.0.17:8080"}},
		{name: "prefix handle, type filter", req: reqTypes("0.na/88.100.7", resolver.TypeDNS), outcome: OK, values: []uint32{3}, ttl: 1200, auth: true, zone: "88.100", data: []string{"127.0.0.17"}},
		{name: "prefix handle, filter matches nothing", req: reqTypes("0.NA/88.100.7", "URL"), outcome: NoValues, ttl: 600, auth: true, zone: "88.100"},
		{name: "prefix handle of a held prefix", req: req("0.NA/88.100"), outcome: OK, values: []uint32{1}, ttl: 86400, auth: true, zone: "88.100",
			types: []string{resolver.TypeGRPC}, data: []string{h.parent.n.GRPCAddr()}},
		{name: "prefix handle of a held prefix, filter matches nothing", req: reqTypes("0.NA/88.100", "URL"), outcome: NoValues, ttl: 600, auth: true, zone: "88.100"},
		{name: "prefix handle below a delegation", req: req("0.NA/88.100.7.1"), outcome: Referral, ttl: 1200, auth: false},
		{name: "prefix handle of a missing prefix in a held zone", req: req("0.NA/88.100.5"), outcome: NoPrefix, ttl: 600, auth: true, zone: "88.100"},
		{name: "prefix handle of an unknown prefix", req: req("0.NA/99"), outcome: NoPrefix, ttl: 3600, auth: false},
		{name: "prefix handle of a bad prefix", req: req("0.NA/88..1"), outcome: Invalid, msg: "suffix at byte 8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := h.parent.anon
			if tt.as != "" {
				c = h.clients[tt.as]
			}
			resp := checkResolve(t, c, tt)
			if tt.outcome == Referral {
				d := resp.Referral
				if d.Prefix != "88.100.7" || !slices.Equal(d.Grpc, []string{h.child.n.GRPCAddr(), "127.0.0.1:1"}) ||
					!slices.Equal(d.Dns, []string{"127.0.0.17"}) || !slices.Equal(d.Http, []string{"http://127.0.0.17:8080"}) {
					t.Errorf("referral = %v", d)
				}
			}
		})
	}
}

// TestReferralLeadsToChild follows a referral from the parent to the node it
// names and gets the answer there; the prefix handle of the child's prefix
// names the same gRPC endpoint at both nodes.
func TestReferralLeadsToChild(t *testing.T) {
	h := startHierarchy(t)
	resp, err := h.parent.anon.Resolve(ctxT(t), req("88.100.7/x"))
	if err != nil || resp.Outcome != idresv1.Outcome_OUTCOME_REFERRAL {
		t.Fatalf("Resolve at parent = %v, %v; want REFERRAL", resp, err)
	}
	child, err := client.Dial(resp.Referral.Grpc[0], client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer child.Close()
	checkResolve(t, child, resolveCase{req: req("88.100.7/x"), outcome: idresv1.Outcome_OUTCOME_OK, values: []uint32{1}, ttl: 900, auth: true, zone: "88.100.7", ident: "88.100.7/X"})
	checkResolve(t, child, resolveCase{req: req("88.100.7/y"), outcome: idresv1.Outcome_OUTCOME_NOT_FOUND, ttl: 120, auth: true, zone: "88.100.7"})
	// The child knows nothing of its parent's zone.
	checkResolve(t, child, resolveCase{req: req("88.100/part-1"), outcome: idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND, ttl: 3600})

	atParent := checkResolve(t, h.parent.anon, resolveCase{req: reqTypes("0.NA/88.100.7", resolver.TypeGRPC), outcome: idresv1.Outcome_OUTCOME_OK,
		values: []uint32{1, 2}, ttl: 1200, auth: true, zone: "88.100"})
	atChild := checkResolve(t, child, resolveCase{req: req("0.NA/88.100.7"), outcome: idresv1.Outcome_OUTCOME_OK,
		values: []uint32{1}, ttl: 86400, auth: true, zone: "88.100.7"})
	if string(atParent.Values[0].Data) != string(atChild.Values[0].Data) || string(atChild.Values[0].Data) != h.child.n.GRPCAddr() {
		t.Errorf("prefix handle: parent names %q, child names %q, child listens on %s",
			atParent.Values[0].Data, atChild.Values[0].Data, h.child.n.GRPCAddr())
	}
}

// TestResolveMalformedCall: what is wrong with the call itself (not the
// identifier) is a gRPC error (OUT-006).
func TestResolveMalformedCall(t *testing.T) {
	g := startGRPCNode(t)
	g.mustCreatePrefix(t, &idresv1.Prefix{Prefix: "88"})
	g.mustCreateID(t, "88/x", val(1, "URL", "u", 0))
	tests := []struct {
		name string
		c    *client.Client
		req  *idresv1.ResolveRequest
		code codes.Code
		msg  string
	}{
		{"index filter 0", g.anon, reqIndexes("88/x", 1, 0), codes.InvalidArgument, "index filter 0"},
		{"identifier over 5120 bytes", g.anon, req("88/" + strings.Repeat("x", 5120)), codes.InvalidArgument, "5123 bytes"},
		{"too many type filters", g.anon, reqTypes("88/x", make([]string, 101)...), codes.InvalidArgument, "too many"},
		{"bad token", g.dial(t, "0123456789abcdef.nope"), req("88/x"), codes.Unauthenticated, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.c.Resolve(ctxT(t), tt.req)
			wantCode(t, err, tt.code, tt.msg)
		})
	}
}
