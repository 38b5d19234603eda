package node_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/resolver/client"
)

// TestRegistryUnauthenticated pins REG-001: every Registry call needs a
// token; a missing one says how to send one, and a malformed, unknown or
// wrong one gets one and the same message, so a caller learns nothing
// about which part was wrong.
func TestRegistryUnauthenticated(t *testing.T) {
	g := startGRPCNode(t)
	g.mustCreatePrefix(t, &idresv1.Prefix{Prefix: "88"})
	id, _, _ := strings.Cut(g.token, ".")
	tokens := []struct{ name, token string }{
		{"missing", ""},
		{"garbage", "garbage"},
		{"well-formed, unknown id", "0123456789abcdef.c2VjcmV0"},
		{"right id, wrong secret", id + ".c2VjcmV0"},
		{"right id, empty secret", id + "."},
		{"token with a space", g.token + " x"},
	}
	calls := []struct {
		name string
		call func(context.Context, *client.Client) error
	}{
		{"CreatePrefix", func(ctx context.Context, c *client.Client) error {
			_, err := c.CreatePrefix(ctx, &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: "86"}})
			return err
		}},
		{"GetPrefix", func(ctx context.Context, c *client.Client) error {
			_, err := c.GetPrefix(ctx, &idresv1.GetPrefixRequest{Prefix: "88"})
			return err
		}},
		{"ListPrefixes", func(ctx context.Context, c *client.Client) error {
			_, err := c.ListPrefixes(ctx, &idresv1.ListPrefixesRequest{})
			return err
		}},
		{"CreateIdentifier", func(ctx context.Context, c *client.Client) error {
			_, err := c.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: "88/x", Values: []*idresv1.Value{val(1, "URL", "u", 0)}})
			return err
		}},
		{"GetIdentifier", func(ctx context.Context, c *client.Client) error {
			_, err := c.GetIdentifier(ctx, &idresv1.GetIdentifierRequest{Identifier: "88/x"})
			return err
		}},
		{"DeletePrefix", func(ctx context.Context, c *client.Client) error {
			_, err := c.DeletePrefix(ctx, &idresv1.DeletePrefixRequest{Prefix: "88", Force: true})
			return err
		}},
	}
	var firstMsg string
	for _, tok := range tokens {
		c := g.dial(t, tok.token)
		for _, call := range calls {
			t.Run(tok.name+"/"+call.name, func(t *testing.T) {
				err := call.call(ctxT(t), c)
				st, _ := status.FromError(err)
				if st.Code() != codes.Unauthenticated {
					t.Fatalf("code = %v (%q), want Unauthenticated", st.Code(), st.Message())
				}
				if tok.token == "" {
					if !strings.Contains(st.Message(), "authorization: Bearer") {
						t.Errorf("message %q does not say how to send a token", st.Message())
					}
					return
				}
				if firstMsg == "" {
					firstMsg = st.Message()
				}
				if st.Message() != firstMsg {
					t.Errorf("message %q differs from %q: it hints at what was wrong", st.Message(), firstMsg)
				}
				if strings.Contains(st.Message(), id) {
					t.Errorf("message %q names the credential id", st.Message())
				}
			})
		}
	}
	// Nothing the refused calls asked for happened.
	if _, err := g.admin.GetPrefix(ctxT(t), &idresv1.GetPrefixRequest{Prefix: "88"}); err != nil {
		t.Errorf("prefix 88 after refused calls: %v", err)
	}
	if _, err := g.admin.GetPrefix(ctxT(t), &idresv1.GetPrefixRequest{Prefix: "86"}); status.Code(err) != codes.NotFound {
		t.Errorf("prefix 86 after refused create: %v", err)
	}
}

// TestRegistryErrors is one row per error a Registry call can answer, each
// against the same small registry: 88.100 holding 88.100/a with values 1
// and 2, and the empty prefix 86.
func TestRegistryErrors(t *testing.T) {
	g := startGRPCNode(t)
	g.mustCreatePrefix(t, &idresv1.Prefix{Prefix: "88.100"})
	g.mustCreatePrefix(t, &idresv1.Prefix{Prefix: "86"})
	g.mustCreateID(t, "88.100/a", val(1, "URL", "u", 0), val(2, "batch", "b", 0))
	otherListing := func() string {
		for i := range 3 {
			g.mustCreateID(t, fmt.Sprintf("88.100/page-%d", i), val(1, "URL", "u", 0))
		}
		resp, err := g.admin.ListIdentifiers(ctxT(t), &idresv1.ListIdentifiersRequest{Prefix: "88.100", PageSize: 1})
		if err != nil || resp.NextPageToken == "" {
			t.Fatalf("ListIdentifiers: %v, %v", resp, err)
		}
		return resp.NextPageToken
	}()
	prefixListing := func() string {
		resp, err := g.admin.ListPrefixes(ctxT(t), &idresv1.ListPrefixesRequest{PageSize: 1})
		if err != nil || resp.NextPageToken == "" {
			t.Fatalf("ListPrefixes: %v, %v", resp, err)
		}
		return resp.NextPageToken
	}()
	r := g.admin

	tests := []struct {
		name string
		call func(context.Context) error
		code codes.Code
		msg  string
	}{
		// InvalidArgument
		{"create identifier: no slash", func(ctx context.Context) error {
			_, err := r.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: "88.100", Values: []*idresv1.Value{val(1, "URL", "u", 0)}})
			return err
		}, codes.InvalidArgument, "identifier at byte 0"},
		{"create identifier: bad prefix", func(ctx context.Context) error {
			_, err := r.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: "88..100/x", Values: []*idresv1.Value{val(1, "URL", "u", 0)}})
			return err
		}, codes.InvalidArgument, "prefix at byte 3"},
		{"create identifier: control in suffix", func(ctx context.Context) error {
			_, err := r.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: "88.100/a\tb", Values: []*idresv1.Value{val(1, "URL", "u", 0)}})
			return err
		}, codes.InvalidArgument, "suffix at byte 8"},
		{"create identifier: no values", func(ctx context.Context) error {
			_, err := r.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: "88.100/new"})
			return err
		}, codes.InvalidArgument, "at least one value"},
		{"create identifier: index 0", func(ctx context.Context) error {
			_, err := r.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: "88.100/new", Values: []*idresv1.Value{val(0, "URL", "u", 0)}})
			return err
		}, codes.InvalidArgument, "index 0"},
		{"create identifier: empty type", func(ctx context.Context) error {
			_, err := r.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: "88.100/new", Values: []*idresv1.Value{val(1, "", "u", 0)}})
			return err
		}, codes.InvalidArgument, "empty type"},
		{"create identifier: data too long", func(ctx context.Context) error {
			_, err := r.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: "88.100/new", Values: []*idresv1.Value{val(1, "blob", strings.Repeat("x", 65537), 0)}})
			return err
		}, codes.InvalidArgument, "more than 65536"},
		{"create identifier: duplicate index", func(ctx context.Context) error {
			_, err := r.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: "88.100/new", Values: []*idresv1.Value{val(1, "URL", "u", 0), val(1, "URL", "v", 0)}})
			return err
		}, codes.InvalidArgument, "index 1 given twice"},
		{"create identifier: reserved type", func(ctx context.Context) error {
			_, err := r.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: "88.100/new", Values: []*idresv1.Value{val(1, "HS_ADMIN", "u", 0)}})
			return err
		}, codes.InvalidArgument, "reserved"},
		{"update: reserved type, any case", func(ctx context.Context) error {
			_, err := r.UpdateValues(ctx, &idresv1.UpdateValuesRequest{Identifier: "88.100/a", Add: []*idresv1.Value{val(3, "idres_grpc", "x", 0)}})
			return err
		}, codes.InvalidArgument, "reserved"},
		{"update: nothing to change", func(ctx context.Context) error {
			_, err := r.UpdateValues(ctx, &idresv1.UpdateValuesRequest{Identifier: "88.100/a"})
			return err
		}, codes.InvalidArgument, "nothing to change"},
		{"update: removes every value", func(ctx context.Context) error {
			_, err := r.UpdateValues(ctx, &idresv1.UpdateValuesRequest{Identifier: "88.100/a", Remove: []uint32{1, 2}})
			return err
		}, codes.InvalidArgument, "at least one value"},
		{"create prefix: no prefix", func(ctx context.Context) error {
			_, err := r.CreatePrefix(ctx, &idresv1.CreatePrefixRequest{})
			return err
		}, codes.InvalidArgument, "prefix is required"},
		{"create prefix: bad prefix", func(ctx context.Context) error {
			_, err := r.CreatePrefix(ctx, &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: "88.-1"}})
			return err
		}, codes.InvalidArgument, "prefix at byte 3"},
		{"create prefix: 0.NA is reserved", func(ctx context.Context) error {
			_, err := r.CreatePrefix(ctx, &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: "0.na"}})
			return err
		}, codes.InvalidArgument, "reserved for prefix handles"},
		{"list identifiers: page_size over 1000", func(ctx context.Context) error {
			_, err := r.ListIdentifiers(ctx, &idresv1.ListIdentifiersRequest{Prefix: "88.100", PageSize: 1001})
			return err
		}, codes.InvalidArgument, "page_size 1001"},
		{"list prefixes: page_size over 1000", func(ctx context.Context) error {
			_, err := r.ListPrefixes(ctx, &idresv1.ListPrefixesRequest{PageSize: 1001})
			return err
		}, codes.InvalidArgument, "page_size 1001"},
		{"list identifiers: garbage page token", func(ctx context.Context) error {
			_, err := r.ListIdentifiers(ctx, &idresv1.ListIdentifiersRequest{Prefix: "88.100", PageToken: "!!not a token!!"})
			return err
		}, codes.InvalidArgument, "page_token"},
		{"list identifiers: token of another listing", func(ctx context.Context) error {
			_, err := r.ListIdentifiers(ctx, &idresv1.ListIdentifiersRequest{Prefix: "86", PageToken: otherListing})
			return err
		}, codes.InvalidArgument, "page_token"},
		{"list prefixes: token of an identifier listing", func(ctx context.Context) error {
			_, err := r.ListPrefixes(ctx, &idresv1.ListPrefixesRequest{PageToken: otherListing})
			return err
		}, codes.InvalidArgument, "page_token"},
		{"list identifiers: token of a prefix listing", func(ctx context.Context) error {
			_, err := r.ListIdentifiers(ctx, &idresv1.ListIdentifiersRequest{Prefix: "88.100", PageToken: prefixListing})
			return err
		}, codes.InvalidArgument, "page_token"},
		{"list prefixes: garbage page token", func(ctx context.Context) error {
			_, err := r.ListPrefixes(ctx, &idresv1.ListPrefixesRequest{PageToken: "!!"})
			return err
		}, codes.InvalidArgument, "page_token"},
		{"list identifiers: no prefix", func(ctx context.Context) error {
			_, err := r.ListIdentifiers(ctx, &idresv1.ListIdentifiersRequest{})
			return err
		}, codes.InvalidArgument, "prefix"},

		// NotFound
		{"get missing identifier", func(ctx context.Context) error {
			_, err := r.GetIdentifier(ctx, &idresv1.GetIdentifierRequest{Identifier: "88.100/missing"})
			return err
		}, codes.NotFound, "88.100/missing"},
		{"create under a prefix not held", func(ctx context.Context) error {
			_, err := r.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: "88.101/x", Values: []*idresv1.Value{val(1, "URL", "u", 0)}})
			return err
		}, codes.NotFound, "not held"},
		{"create under a child of a held prefix", func(ctx context.Context) error {
			_, err := r.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: "88.100.1/x", Values: []*idresv1.Value{val(1, "URL", "u", 0)}})
			return err
		}, codes.NotFound, "not held"},
		{"get prefix not held", func(ctx context.Context) error {
			_, err := r.GetPrefix(ctx, &idresv1.GetPrefixRequest{Prefix: "99"})
			return err
		}, codes.NotFound, "99"},
		{"delete prefix not held", func(ctx context.Context) error {
			_, err := r.DeletePrefix(ctx, &idresv1.DeletePrefixRequest{Prefix: "99", Force: true})
			return err
		}, codes.NotFound, "99"},
		{"list identifiers of a prefix not held", func(ctx context.Context) error {
			_, err := r.ListIdentifiers(ctx, &idresv1.ListIdentifiersRequest{Prefix: "99"})
			return err
		}, codes.NotFound, "not held"},
		{"delete missing identifier", func(ctx context.Context) error {
			_, err := r.DeleteIdentifier(ctx, &idresv1.DeleteIdentifierRequest{Identifier: "88.100/missing"})
			return err
		}, codes.NotFound, "not found"},
		{"update missing identifier", func(ctx context.Context) error {
			_, err := r.UpdateValues(ctx, &idresv1.UpdateValuesRequest{Identifier: "88.100/missing", Add: []*idresv1.Value{val(3, "URL", "x", 0)}})
			return err
		}, codes.NotFound, "not found"},
		{"update: remove a missing index", func(ctx context.Context) error {
			_, err := r.UpdateValues(ctx, &idresv1.UpdateValuesRequest{Identifier: "88.100/a", Remove: []uint32{7}})
			return err
		}, codes.NotFound, "index 7"},

		// AlreadyExists
		{"create prefix twice", func(ctx context.Context) error {
			_, err := r.CreatePrefix(ctx, &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: "88.100"}})
			return err
		}, codes.AlreadyExists, "88.100"},
		{"create identifier twice, other case", func(ctx context.Context) error {
			_, err := r.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: "88.100/A", Values: []*idresv1.Value{val(1, "URL", "u", 0)}})
			return err
		}, codes.AlreadyExists, "88.100/A"},
		{"update: add over an index", func(ctx context.Context) error {
			_, err := r.UpdateValues(ctx, &idresv1.UpdateValuesRequest{Identifier: "88.100/a", Add: []*idresv1.Value{val(2, "URL", "x", 0)}})
			return err
		}, codes.AlreadyExists, "index 2"},

		// FailedPrecondition
		{"delete non-empty prefix", func(ctx context.Context) error {
			_, err := r.DeletePrefix(ctx, &idresv1.DeletePrefixRequest{Prefix: "88.100"})
			return err
		}, codes.FailedPrecondition, "holds 4 identifiers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, err := g.admin.GetIdentifier(ctxT(t), &idresv1.GetIdentifierRequest{Identifier: "88.100/a"})
			if err != nil {
				t.Fatal(err)
			}
			wantCode(t, tt.call(ctxT(t)), tt.code, tt.msg)
			after, err := g.admin.GetIdentifier(ctxT(t), &idresv1.GetIdentifierRequest{Identifier: "88.100/a"})
			if err != nil {
				t.Fatalf("88.100/a after a refused call: %v", err)
			}
			if !proto.Equal(before, after) {
				t.Errorf("a refused call changed 88.100/a:\n before %v\n after  %v", before, after)
			}
		})
	}
}

// TestUpdateValuesAtomic pins REG-003: remove, then replace, then add, all
// or nothing.
func TestUpdateValuesAtomic(t *testing.T) {
	g := startGRPCNode(t)
	g.mustCreatePrefix(t, &idresv1.Prefix{Prefix: "88"})
	g.mustCreateID(t, "88/x", val(1, "URL", "one", 0), val(2, "batch", "two", 0), val(3, "note", "three", 0))
	get := func() *idresv1.Identifier {
		t.Helper()
		rec, err := g.admin.GetIdentifier(ctxT(t), &idresv1.GetIdentifierRequest{Identifier: "88/x"})
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	before := get()
	failing := []struct {
		name string
		req  *idresv1.UpdateValuesRequest
		code codes.Code
	}{
		{"remove and replace fine, add collides", &idresv1.UpdateValuesRequest{Identifier: "88/x", Remove: []uint32{1},
			Replace: []*idresv1.Value{val(2, "batch", "TWO", 0)}, Add: []*idresv1.Value{val(4, "new", "four", 0), val(3, "note", "x", 0)}}, codes.AlreadyExists},
		{"replace fine, remove missing", &idresv1.UpdateValuesRequest{Identifier: "88/x", Remove: []uint32{9},
			Replace: []*idresv1.Value{val(2, "batch", "TWO", 0)}}, codes.NotFound},
		{"add fine, replace invalid", &idresv1.UpdateValuesRequest{Identifier: "88/x",
			Replace: []*idresv1.Value{val(2, "", "TWO", 0)}, Add: []*idresv1.Value{val(4, "new", "four", 0)}}, codes.InvalidArgument},
		{"add the same index twice", &idresv1.UpdateValuesRequest{Identifier: "88/x",
			Add: []*idresv1.Value{val(4, "new", "four", 0), val(4, "new", "again", 0)}}, codes.AlreadyExists},
	}
	for _, tt := range failing {
		t.Run(tt.name, func(t *testing.T) {
			_, err := g.admin.UpdateValues(ctxT(t), tt.req)
			if status.Code(err) != tt.code {
				t.Fatalf("UpdateValues: %v, want %v", err, tt.code)
			}
			if after := get(); !proto.Equal(before, after) {
				t.Errorf("failed UpdateValues changed the record:\n before %v\n after  %v", before, after)
			}
		})
	}

	// The order is remove, replace, add: removing 1 and adding 1 again in
	// one request is allowed; replace of a missing index adds it.
	g.clock.Advance(time.Hour)
	rec, err := g.admin.UpdateValues(ctxT(t), &idresv1.UpdateValuesRequest{Identifier: "88/x",
		Remove:  []uint32{1, 3},
		Replace: []*idresv1.Value{val(2, "batch", "two", 0), val(5, "replaced", "five", 60)},
		Add:     []*idresv1.Value{val(1, "URL", "one again", 0)},
	})
	if err != nil {
		t.Fatal(err)
	}
	stored := get()
	if !proto.Equal(rec, stored) {
		t.Errorf("UpdateValues returned %v, stored %v", rec, stored)
	}
	if got := indexesOf(stored.Values); !slices.Equal(got, []uint32{1, 2, 5}) {
		t.Fatalf("indexes after update = %v, want [1 2 5]", got)
	}
	t0, t1 := before.Values[0].Timestamp.AsTime(), g.clock.Now()
	wantTS := map[uint32]time.Time{1: t1, 2: t0, 5: t1} // 2 was rewritten unchanged (VAL-005)
	for _, v := range stored.Values {
		if !v.Timestamp.AsTime().Equal(wantTS[v.Index]) {
			t.Errorf("value %d timestamp %v, want %v", v.Index, v.Timestamp.AsTime(), wantTS[v.Index])
		}
	}
	if string(stored.Values[0].Data) != "one again" || stored.Values[2].GetTtl() != 60 || stored.Values[0].GetTtl() != 86400 {
		t.Errorf("values after update = %v", stored.Values)
	}
	if !stored.Created.AsTime().Equal(t0) || !stored.Updated.AsTime().Equal(t1) {
		t.Errorf("created/updated = %v/%v, want %v/%v", stored.Created.AsTime(), stored.Updated.AsTime(), t0, t1)
	}
}

func TestDeletePrefixForce(t *testing.T) {
	g := startGRPCNode(t)
	g.mustCreatePrefix(t, &idresv1.Prefix{Prefix: "88.100"})
	g.mustCreatePrefix(t, &idresv1.Prefix{Prefix: "88.1000"})
	for i := range 5 {
		g.mustCreateID(t, fmt.Sprintf("88.100/%d", i), val(1, "URL", "u", 0))
	}
	g.mustCreateID(t, "88.1000/keep", val(1, "URL", "u", 0))

	_, err := g.admin.DeletePrefix(ctxT(t), &idresv1.DeletePrefixRequest{Prefix: "88.100"})
	wantCode(t, err, codes.FailedPrecondition, "5 identifiers")
	resp, err := g.admin.DeletePrefix(ctxT(t), &idresv1.DeletePrefixRequest{Prefix: "88.100", Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if resp.IdentifiersDeleted != 5 {
		t.Errorf("identifiers_deleted = %d, want 5", resp.IdentifiersDeleted)
	}
	r, err := g.anon.Resolve(ctxT(t), req("88.100/1"))
	if err != nil || r.Outcome != idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND {
		t.Errorf("Resolve after delete = %v, %v; want PREFIX_NOT_FOUND", r, err)
	}
	r, err = g.anon.Resolve(ctxT(t), req("88.1000/keep"))
	if err != nil || r.Outcome != idresv1.Outcome_OUTCOME_OK {
		t.Errorf("neighbour prefix after delete = %v, %v; want OK", r, err)
	}
	// An empty prefix goes without force.
	g.mustCreatePrefix(t, &idresv1.Prefix{Prefix: "86"})
	if resp, err := g.admin.DeletePrefix(ctxT(t), &idresv1.DeletePrefixRequest{Prefix: "86"}); err != nil || resp.IdentifiersDeleted != 0 {
		t.Errorf("DeletePrefix(empty) = %v, %v", resp, err)
	}
}

// TestRegistryLifecycle drives the happy path: prefixes and identifiers
// created, read, listed in pages, updated and deleted, with counts and
// timestamps kept by the server.
func TestRegistryLifecycle(t *testing.T) {
	g := startGRPCNode(t)
	ctx := ctxT(t)
	r := g.admin

	created, err := r.CreatePrefix(ctx, &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: "88.100.1", IdentifierCount: 99}})
	if err != nil {
		t.Fatal(err)
	}
	if created.GetNegativeTtl() != 3600 || created.IdentifierCount != 0 || !created.Created.AsTime().Equal(g.clock.Now()) {
		t.Errorf("created prefix = %v; want negative_ttl 3600, count 0, created now", created)
	}
	for _, p := range []string{"", "86", "88", "20.5"} { // the root too
		g.mustCreatePrefix(t, &idresv1.Prefix{Prefix: p})
	}
	root, err := r.GetPrefix(ctx, &idresv1.GetPrefixRequest{Prefix: ""})
	if err != nil || root.Prefix != "" {
		t.Errorf("GetPrefix(root) = %v, %v", root, err)
	}

	// Prefix listing in pages of 2 covers every prefix once, in key order.
	var prefixes []string
	tok := ""
	for page := 0; ; page++ {
		if page > 5 {
			t.Fatal("prefix paging does not end")
		}
		resp, err := r.ListPrefixes(ctx, &idresv1.ListPrefixesRequest{PageSize: 2, PageToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Prefixes) > 2 {
			t.Fatalf("page of %d prefixes, asked for 2", len(resp.Prefixes))
		}
		for _, p := range resp.Prefixes {
			prefixes = append(prefixes, p.Prefix)
		}
		if tok = resp.NextPageToken; tok == "" {
			break
		}
	}
	if want := []string{"", "20.5", "86", "88", "88.100.1"}; !slices.Equal(prefixes, want) {
		t.Errorf("listed prefixes %q, want %q", prefixes, want)
	}

	// 25 identifiers, listed in pages of 10 (and of the default size).
	var want []string
	for i := range 25 {
		raw := fmt.Sprintf("88.100.1/Part-%03d", i)
		rec := g.mustCreateID(t, raw, val(1, "URL", "https://example.com/"+raw, 0))
		if rec.Identifier != raw || rec.Values[0].GetTtl() != 86400 || !rec.Values[0].GetPublicRead() || rec.Values[0].Timestamp == nil {
			t.Fatalf("CreateIdentifier returned %v", rec)
		}
		want = append(want, raw)
	}
	for _, size := range []uint32{0, 10, 25, 1000} {
		var got []string
		tok := ""
		for page := 0; ; page++ {
			if page > 5 {
				t.Fatal("identifier paging does not end")
			}
			resp, err := r.ListIdentifiers(ctx, &idresv1.ListIdentifiersRequest{Prefix: "88.100.1", PageSize: size, PageToken: tok})
			if err != nil {
				t.Fatal(err)
			}
			for _, rec := range resp.Identifiers {
				got = append(got, rec.Identifier)
			}
			if tok = resp.NextPageToken; tok == "" {
				break
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("page size %d: listed %d identifiers %q, want %q", size, len(got), got, want)
		}
	}
	p, _ := r.GetPrefix(ctx, &idresv1.GetPrefixRequest{Prefix: "88.100.1"})
	if p.IdentifierCount != 25 {
		t.Errorf("identifier_count = %d, want 25", p.IdentifierCount)
	}

	// Get by another spelling returns the registrant's.
	rec, err := r.GetIdentifier(ctx, &idresv1.GetIdentifierRequest{Identifier: "88.100.1/PART-007"})
	if err != nil || rec.Identifier != "88.100.1/Part-007" {
		t.Errorf("GetIdentifier(other case) = %v, %v", rec, err)
	}

	if _, err := r.DeleteIdentifier(ctx, &idresv1.DeleteIdentifierRequest{Identifier: "88.100.1/part-007"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.GetIdentifier(ctx, &idresv1.GetIdentifierRequest{Identifier: "88.100.1/Part-007"}); status.Code(err) != codes.NotFound {
		t.Errorf("GetIdentifier after delete: %v, want NotFound", err)
	}
	resolved, err := g.anon.Resolve(ctx, req("88.100.1/Part-007"))
	if err != nil || resolved.Outcome != idresv1.Outcome_OUTCOME_NOT_FOUND {
		t.Errorf("Resolve after delete = %v, %v; want NOT_FOUND", resolved, err)
	}
	p, _ = r.GetPrefix(ctx, &idresv1.GetPrefixRequest{Prefix: "88.100.1"})
	if p.IdentifierCount != 24 {
		t.Errorf("identifier_count after delete = %d, want 24", p.IdentifierCount)
	}
}

// TestRestartKeepsData stops a node and starts another on the same data
// directory: the data and the administrator token survive, and no second
// token file is announced.
func TestRestartKeepsData(t *testing.T) {
	g := startGRPCNode(t)
	g.mustCreatePrefix(t, &idresv1.Prefix{Prefix: "88"})
	g.mustCreateID(t, "88/x", val(1, "URL", "u", 0))
	// STORE-002: a second node on the same directory is refused while the
	// first runs, and the first keeps working.
	if _, err := startOn(t, g.dir); err == nil || !errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), g.dir) {
		t.Errorf("second node on %s: err = %v, want ErrLocked naming the directory", g.dir, err)
	}
	if _, err := g.admin.GetIdentifier(ctxT(t), &idresv1.GetIdentifierRequest{Identifier: "88/x"}); err != nil {
		t.Errorf("first node after a refused second start: %v", err)
	}
	if err := g.n.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	g2 := *g
	n2, err := startOn(t, g.dir)
	if err != nil {
		t.Fatal(err)
	}
	if n2.AdminTokenPath != "" {
		t.Errorf("restart reported a new token file %q", n2.AdminTokenPath)
	}
	g2.n = n2
	c := g2.dial(t, g.token)
	rec, err := c.GetIdentifier(ctxT(t), &idresv1.GetIdentifierRequest{Identifier: "88/x"})
	if err != nil || string(rec.Values[0].Data) != "u" {
		t.Errorf("after restart: %v, %v", rec, err)
	}
}
