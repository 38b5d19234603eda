package node_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/grpcserver"
)

// TestRevocationEndsResolveStream: a ResolveStream opened with a
// credential that can read private values stops answering once the
// credential is revoked or expires: its next message ends the stream
// Unauthenticated instead of answering with the private value.
func TestRevocationEndsResolveStream(t *testing.T) {
	g := startGRPCNode(t)
	g.mustCreatePrefix(t, &idresv1.Prefix{Prefix: "88.100"})
	g.mustCreateID(t, "88.100/V", val(1, "URL", "https://example.com/v", 0), privateVal(val(2, "price", "EUR 412", 0)))

	for _, tt := range []struct {
		name string
		end  func(t *testing.T, id string)
		ttl  time.Duration // the credential's lifetime; 0: none
	}{
		{"revoked", func(t *testing.T, id string) {
			if _, err := g.admin.RevokeCredential(ctxT(t), &idresv1.RevokeCredentialRequest{Id: id}); err != nil {
				t.Fatal(err)
			}
		}, 0},
		{"expired", func(t *testing.T, id string) {}, time.Hour},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := &idresv1.IssueCredentialRequest{Prefix: "88.100", Role: "read"}
			if tt.ttl > 0 {
				req.Expires = timestamppb.New(g.clock.Now().Add(tt.ttl))
			}
			resp, err := g.admin.IssueCredential(ctxT(t), req)
			if err != nil {
				t.Fatal(err)
			}
			reader := g.dial(t, resp.Token)
			st, err := reader.ResolveStream(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			ask := func(n uint64) (*idresv1.ResolveStreamResponse, error) {
				if err := st.Send(&idresv1.ResolveStreamRequest{Requests: []*idresv1.TaggedResolveRequest{
					{RequestId: n, Request: &idresv1.ResolveRequest{Identifier: "88.100/V"}}}}); err != nil {
					return nil, err
				}
				return st.Recv()
			}
			got, err := ask(1)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(got.GetResponses()[0].GetResponse().GetValues()); n != 2 {
				t.Fatalf("before: %d values, want 2 (the private one too)", n)
			}
			tt.end(t, resp.Credential.Id)
			// Past the expiry, and past the interval within which a stream
			// may go on with its last check.
			g.clock.Advance(time.Hour + 2*grpcserver.DefaultRecheck)
			got, err = ask(2)
			if status.Code(err) != codes.Unauthenticated {
				t.Fatalf("after: %v, %v; want the stream ended Unauthenticated", got, err)
			}
		})
	}
}
