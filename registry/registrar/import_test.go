package registrar

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/credential"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/resolver/grpcserver"
)

// importNode is a real store and Registry behind a real gRPC server with
// the authenticator, plus tokens: admin (all), writer (88.100 subtree).
type importNode struct {
	store  *store.Store
	client idresv1.RegistryClient
	admin  string
	writer string
}

func startImportNode(t testing.TB) *importNode {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	n := &importNode{store: st}
	err = st.Update(func(tx *store.Tx) error {
		for _, p := range []string{"88.100", "88.200"} {
			if err := tx.CreatePrefix(&idresv1.Prefix{Prefix: p}); err != nil {
				return err
			}
		}
		tok, _, err := tx.IssueCredential("", credential.RoleAdmin, time.Time{}, "", "test admin")
		if err != nil {
			return err
		}
		n.admin = tok.String()
		tok, _, err = tx.IssueCredential("88.100", credential.RoleWrite, time.Time{}, "", "test writer")
		n.writer = tok.String()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	authn := &grpcserver.Authenticator{Verify: st.VerifyToken}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(authn.Unary(), grpcserver.StatusUnary()), grpc.ChainStreamInterceptor(authn.Stream(), grpcserver.StatusStream()))
	idresv1.RegisterRegistryServer(srv, New(st, nil))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	n.client = idresv1.NewRegistryClient(conn)
	return n
}

func withToken(tok string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
}

// runImport sends msgs, closes, and collects every ack.
func runImport(t testing.TB, c idresv1.RegistryClient, tok string, msgs ...*idresv1.ImportRequest) ([]*idresv1.ImportResponse, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(withToken(tok), 20*time.Second)
	defer cancel()
	st, err := c.Import(ctx)
	if err != nil {
		return nil, err
	}
	go func() {
		for _, m := range msgs {
			if st.Send(m) != nil {
				return
			}
		}
		st.CloseSend()
	}()
	var acks []*idresv1.ImportResponse
	for {
		r, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return acks, nil
		}
		if err != nil {
			return acks, err
		}
		acks = append(acks, r)
	}
}

func item(seq uint64, id string, vals ...string) *idresv1.ImportItem {
	it := &idresv1.ImportItem{Sequence: seq, Identifier: id}
	for i := 0; i+1 < len(vals); i += 2 {
		it.Values = append(it.Values, &idresv1.Value{Index: uint32(i/2 + 1), Type: vals[i], Data: []byte(vals[i+1])})
	}
	return it
}

// ackSummary is an ack without its messages, for comparison.
type ackSummary struct {
	batch                            uint64
	items, created, replaced, failed uint32
	errs                             string // "seq:code,..."
}

func summarize(acks []*idresv1.ImportResponse) []ackSummary {
	var out []ackSummary
	for _, a := range acks {
		s := ackSummary{batch: a.Batch, items: a.Items, created: a.Created, replaced: a.Replaced, failed: a.Failed}
		for _, e := range a.Errors {
			s.errs += fmt.Sprintf("%d:%s,", e.Sequence, e.Code)
		}
		out = append(out, s)
	}
	return out
}

func TestImportBatchesAndPerItemErrors(t *testing.T) {
	n := startImportNode(t)
	items := []*idresv1.ImportItem{
		item(10, "88.100/z", "URL", "https://z"),
		item(11, "88.100/bad suffix\x01", "URL", "u"), // control character
		item(12, "88.100/a", "URL", "https://a"),
		item(13, "88.100/b", "HS_ADMIN", "x"), // reserved type
		item(14, "88.100/m", "URL", "https://m", "EMAIL", "m@x"),
		item(15, "88.100.9/x", "URL", "u"), // prefix not held
		item(16, "88.200/x", "URL", "u"),   // outside the writer's subtree
		item(17, "88.100/A", "URL", "dup"), // same key as 12, later batch
		item(18, "88.100/novalues"),
	}
	opts := &idresv1.ImportOptions{BatchSize: 3}
	// Items split across messages unevenly: batches follow items, not messages.
	acks, err := runImport(t, n.client, n.writer,
		&idresv1.ImportRequest{Options: opts, Items: items[:2]},
		&idresv1.ImportRequest{Items: items[2:7]},
		&idresv1.ImportRequest{Items: items[7:]})
	if err != nil {
		t.Fatal(err)
	}
	want := []ackSummary{
		{batch: 1, items: 3, created: 2, failed: 1, errs: "11:InvalidArgument,"},
		{batch: 2, items: 3, created: 1, failed: 2, errs: "13:InvalidArgument,15:NotFound,"},
		{batch: 3, items: 3, failed: 3, errs: "16:PermissionDenied,17:AlreadyExists,18:InvalidArgument,"},
	}
	if got := summarize(acks); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("acks:\n got %+v\nwant %+v", got, want)
	}
	for _, a := range acks {
		for _, e := range a.Errors {
			if e.Message == "" || e.Identifier == "" {
				t.Errorf("error without message or identifier: %v", e)
			}
		}
	}
	// The stored records belong to the right identifiers despite sorting.
	err = n.store.View(func(tx *store.Tx) error {
		for key, data := range map[string]string{"88.100/a": "https://a", "88.100/m": "https://m", "88.100/z": "https://z"} {
			rec, err := tx.Identifier(key)
			if err != nil {
				return err
			}
			if got := string(rec.Values[0].Data); got != data {
				t.Errorf("%s holds %q, want %q", key, got, data)
			}
			if rec.Values[0].Timestamp == nil || rec.Values[0].Ttl == nil {
				t.Errorf("%s: value not stamped or normalised: %v", key, rec.Values[0])
			}
		}
		p, err := tx.Prefix("88.100")
		if err != nil {
			return err
		}
		if p.IdentifierCount != 3 {
			t.Errorf("prefix count %d, want 3", p.IdentifierCount)
		}
		audits := 0
		err = tx.ForEachAudit(0, func(r *idresv1.AuditRecord) (bool, error) {
			if r.Call == "Import" {
				audits++
				// The digest is of the record as stored, as for every call.
				rec, err := tx.Identifier(ident.Fold(r.Target))
				if err != nil {
					return false, err
				}
				if want, _ := digest(rec); !bytes.Equal(r.AfterSha256, want) || r.BeforeSha256 != nil || r.CredentialId == "" || r.Prefix != "88.100" {
					t.Errorf("audit record %v does not describe the stored %s", r, r.Target)
				}
			}
			return true, nil
		})
		if audits != 3 {
			t.Errorf("%d Import audit records, want one per stored item (3)", audits)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestImportModes(t *testing.T) {
	n := startImportNode(t)
	var items []*idresv1.ImportItem
	for i := range 25 {
		items = append(items, item(0, fmt.Sprintf("88.100/k%02d", (i*7)%25), "URL", fmt.Sprintf("v%d", (i*7)%25)))
	}
	tests := []struct {
		name string
		mode idresv1.ImportMode
		want ackSummary // totals over all acks
	}{
		{"first create", idresv1.ImportMode_IMPORT_MODE_CREATE, ackSummary{items: 25, created: 25}},
		{"create again fails each", idresv1.ImportMode_IMPORT_MODE_UNSPECIFIED, ackSummary{items: 25, failed: 25}},
		{"replace is idempotent", idresv1.ImportMode_IMPORT_MODE_CREATE_OR_REPLACE, ackSummary{items: 25, replaced: 25}},
		{"replace again", idresv1.ImportMode_IMPORT_MODE_CREATE_OR_REPLACE, ackSummary{items: 25, replaced: 25}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			acks, err := runImport(t, n.client, n.admin, &idresv1.ImportRequest{
				Options: &idresv1.ImportOptions{Mode: tc.mode, BatchSize: 10}, Items: items})
			if err != nil {
				t.Fatal(err)
			}
			var tot ackSummary
			for i, a := range acks {
				if a.Batch != uint64(i+1) {
					t.Errorf("ack %d is for batch %d", i, a.Batch)
				}
				tot.items += a.Items
				tot.created += a.Created
				tot.replaced += a.Replaced
				tot.failed += a.Failed
				for _, e := range a.Errors {
					if e.Code != "AlreadyExists" || e.Sequence == 0 {
						t.Errorf("unexpected error %v", e)
					}
				}
			}
			if len(acks) != 3 || tot != tc.want {
				t.Errorf("%d acks totalling %+v, want 3 totalling %+v", len(acks), tot, tc.want)
			}
		})
	}
	err := n.store.View(func(tx *store.Tx) error {
		p, err := tx.Prefix("88.100")
		if err == nil && p.IdentifierCount != 25 {
			t.Errorf("prefix count %d after replaces, want 25", p.IdentifierCount)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestImportRefusals(t *testing.T) {
	n := startImportNode(t)
	tests := []struct {
		name string
		tok  string
		msgs []*idresv1.ImportRequest
		want codes.Code
	}{
		{"no credential", "", []*idresv1.ImportRequest{{Items: []*idresv1.ImportItem{item(1, "88.100/a", "URL", "u")}}}, codes.Unauthenticated},
		{"options after the first message", n.admin, []*idresv1.ImportRequest{
			{Items: []*idresv1.ImportItem{item(1, "88.100/a", "URL", "u")}}, {Options: &idresv1.ImportOptions{BatchSize: 5}}}, codes.InvalidArgument},
		{"batch too large", n.admin, []*idresv1.ImportRequest{{Options: &idresv1.ImportOptions{BatchSize: MaxImportBatch + 1}}}, codes.InvalidArgument},
		{"unknown mode", n.admin, []*idresv1.ImportRequest{{Options: &idresv1.ImportOptions{Mode: 99}}}, codes.InvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.tok != "" {
				ctx = withToken(tc.tok)
			}
			st, err := n.client.Import(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range tc.msgs {
				st.Send(m)
			}
			st.CloseSend()
			for {
				_, err = st.Recv()
				if err != nil {
					break
				}
			}
			if status.Code(err) != tc.want {
				t.Fatalf("got %v, want %s", err, tc.want)
			}
		})
	}
}

func TestImportEmptyStream(t *testing.T) {
	n := startImportNode(t)
	acks, err := runImport(t, n.client, n.admin, &idresv1.ImportRequest{Options: &idresv1.ImportOptions{}})
	if err != nil || len(acks) != 0 {
		t.Fatalf("got %v, %v; want no acks and no error", acks, err)
	}
}
