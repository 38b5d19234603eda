package answer

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/credential"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
)

// TestWireAnswerMatchesDecoded: an answer built from the stored encoding
// (what gRPC clients get) decodes to the answer built from the decoded
// record, for every visibility and filter.
func TestWireAnswerMatchesDecoded(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u := func(v uint32) *uint32 { return &v }
	b := func(v bool) *bool { return &v }
	err = st.Update(func(tx *store.Tx) error {
		if err := tx.CreatePrefix(&idresv1.Prefix{Prefix: "88.100", NegativeTtl: u(30)}); err != nil {
			return err
		}
		for _, r := range []struct {
			id   string
			vals []*idresv1.Value
		}{
			{"88.100/Mixed", []*idresv1.Value{
				{Index: 1, Type: "URL", Data: []byte("https://example.com/a"), Ttl: u(600)},
				{Index: 2, Type: "secret", Data: []byte("s3cr3t"), PublicRead: b(false), Ttl: u(60)},
				{Index: 3, Type: "URL", Data: []byte("https://example.com/b"), PublicRead: b(true)},
				{Index: 7, Type: "note", Data: []byte{0, 1, 2, 0xff}, Ttl: u(0)},
			}},
			{"88.100/private-only", []*idresv1.Value{
				{Index: 1, Type: "secret", Data: []byte("x"), PublicRead: b(false)},
			}},
		} {
			id, err := ident.Parse(r.id)
			if err != nil {
				return err
			}
			if err := tx.CreateIdentifier(id, &idresv1.Identifier{Values: r.vals}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	a := &Authority{Store: st}
	callers := map[string]context.Context{
		"anonymous": context.Background(),
		"reader":    credential.WithCredential(context.Background(), &credential.Credential{ID: "c1", Prefix: "88.100", Role: "read"}),
		"elsewhere": credential.WithCredential(context.Background(), &credential.Credential{ID: "c2", Prefix: "99", Role: "read"}),
	}
	reqs := []*idresv1.ResolveRequest{
		{Identifier: "88.100/mixed"},
		{Identifier: "88.100/MIXED", Types: []string{"URL"}},
		{Identifier: "88.100/Mixed", Types: []string{"secret", "note"}},
		{Identifier: "88.100/Mixed", Indexes: []uint32{2, 3}},
		{Identifier: "88.100/Mixed", Types: []string{"URL"}, Indexes: []uint32{3}},
		{Identifier: "88.100/Mixed", Types: []string{"nothing"}},
		{Identifier: "88.100/Mixed", Types: []string{"url"}, Indexes: []uint32{2}, Filter: idresv1.FilterMode_FILTER_MODE_ANY},
		{Identifier: "88.100/Mixed", Types: []string{"NO."}, Filter: idresv1.FilterMode_FILTER_MODE_ANY},
		{Identifier: "88.100/private-only"},
		{Identifier: "88.100/absent"},
	}
	for name, ctx := range callers {
		for _, req := range reqs {
			want, err := a.Resolve(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := a.ResolveEncoded(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := proto.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			dec := &idresv1.ResolveResponse{}
			if err := proto.Unmarshal(raw, dec); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(dec, want) {
				t.Errorf("%s %v:\nwire    %v\ndecoded %v", name, req, dec, want)
			}
			// The batch call (ResolveStream) answers alike.
			batch, err := a.ResolveBatchEncoded(ctx, []*idresv1.ResolveRequest{req})
			if err != nil {
				t.Fatal(err)
			}
			if raw2, _ := proto.Marshal(batch[0]); string(raw2) != string(raw) {
				t.Errorf("%s %v: batch answer differs from single answer", name, req)
			}
		}
	}
}

// TestWireAnswerRefusesGarbage: bytes that do not parse as a record are
// left to the decoding path, which reports them.
func TestWireAnswerRefusesGarbage(t *testing.T) {
	for _, raw := range [][]byte{
		{0x12},             // values field, length missing
		{0x12, 0x05, 0x08}, // values field longer than the record
		{0x12, 0x02, 0x08}, // a value whose index varint is cut
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, // tag overflows
	} {
		resp := &idresv1.ResolveResponse{}
		if wireAnswer(resp, raw, true, &idresv1.ResolveRequest{}) {
			t.Errorf("%x: accepted", raw)
		}
		if !proto.Equal(resp, &idresv1.ResolveResponse{}) {
			t.Errorf("%x: refused but changed the answer to %v", raw, resp)
		}
	}
}
