package registrar_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/credential"
	"github.com/idres/idres/registry/registrar"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/resolver/grpcserver"
)

// dgRegistry is a Registry over a real store in a temporary directory,
// holding the zones given, and a context per role for calling it.
type dgRegistry struct {
	svc   *registrar.Service
	store *store.Store
}

func dgStart(t *testing.T, zones ...string) *dgRegistry {
	t.Helper()
	s, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	err = s.Update(func(tx *store.Tx) error {
		for _, z := range zones {
			if err := tx.CreatePrefix(&idresv1.Prefix{Prefix: z}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return &dgRegistry{svc: registrar.New(s, slog.New(slog.NewTextHandler(io.Discard, nil))), store: s}
}

// as returns a context authenticated as a fresh credential.
func (r *dgRegistry) as(t *testing.T, prefix, role string) context.Context {
	t.Helper()
	var cred *credential.Credential
	err := r.store.Update(func(tx *store.Tx) (err error) {
		_, cred, err = tx.IssueCredential(prefix, role, time.Time{}, "test", "")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return credential.WithCredential(context.Background(), cred)
}

func dg(prefix string, grpcAddrs ...string) *idresv1.Delegation {
	return &idresv1.Delegation{Prefix: prefix, Grpc: grpcAddrs}
}

func TestSetDelegationChecks(t *testing.T) {
	tests := []struct {
		name  string
		zones []string
		pre   []*idresv1.Delegation // set first, as root admin
		cred  [2]string             // prefix, role
		d     *idresv1.Delegation
		want  codes.Code
	}{
		{"child of a held zone", []string{"88"}, nil, [2]string{"", credential.RoleAdmin}, dg("88.100", "127.0.0.1:7421"), codes.OK},
		{"grandchild of a held zone", []string{"88"}, nil, [2]string{"", credential.RoleAdmin}, dg("88.100.1", "127.0.0.1:7421"), codes.OK},
		{"national prefix under the root", []string{""}, nil, [2]string{"", credential.RoleAdmin}, dg("88", "node.example:7420"), codes.OK},
		{"IPv6 endpoint", []string{"88"}, nil, [2]string{"", credential.RoleAdmin}, dg("88.1", "[::1]:7420"), codes.OK},
		{"admin of the subtree", []string{"88"}, nil, [2]string{"88", credential.RoleAdmin}, dg("88.100", "127.0.0.1:7421"), codes.OK},
		{"no zone above", []string{"88"}, nil, [2]string{"", credential.RoleAdmin}, dg("86.1", "127.0.0.1:7421"), codes.FailedPrecondition},
		{"the zone itself", []string{"88"}, nil, [2]string{"", credential.RoleAdmin}, dg("88", "127.0.0.1:7421"), codes.FailedPrecondition},
		{"under another delegation", []string{"88"}, []*idresv1.Delegation{dg("88.100", "127.0.0.1:1")}, [2]string{"", credential.RoleAdmin}, dg("88.100.1", "127.0.0.1:7421"), codes.FailedPrecondition},
		{"the root", []string{""}, nil, [2]string{"", credential.RoleAdmin}, dg("", "127.0.0.1:7421"), codes.InvalidArgument},
		{"write role", []string{"88"}, nil, [2]string{"88", credential.RoleWrite}, dg("88.100", "127.0.0.1:7421"), codes.PermissionDenied},
		{"admin of a sibling", []string{"88"}, nil, [2]string{"86", credential.RoleAdmin}, dg("88.100", "127.0.0.1:7421"), codes.PermissionDenied},
		{"no grpc endpoint", []string{"88"}, nil, [2]string{"", credential.RoleAdmin}, dg("88.100"), codes.InvalidArgument},
		{"grpc without port", []string{"88"}, nil, [2]string{"", credential.RoleAdmin}, dg("88.100", "127.0.0.1"), codes.InvalidArgument},
		{"grpc port 0", []string{"88"}, nil, [2]string{"", credential.RoleAdmin}, dg("88.100", "127.0.0.1:0"), codes.InvalidArgument},
		{"grpc port too big", []string{"88"}, nil, [2]string{"", credential.RoleAdmin}, dg("88.100", "h:65536"), codes.InvalidArgument},
		{"grpc bad host", []string{"88"}, nil, [2]string{"", credential.RoleAdmin}, dg("88.100", "a b:80"), codes.InvalidArgument},
		{"grpc listed twice", []string{"88"}, nil, [2]string{"", credential.RoleAdmin}, dg("88.100", "h:1", "h:1"), codes.InvalidArgument},
		// No node listens on these: they reach the dialler's own host or
		// a group (REC-012).
		{"grpc unspecified IPv4", []string{"88"}, nil, [2]string{"", credential.RoleAdmin}, dg("88.100", "0.0.0.0:7420"), codes.InvalidArgument},
		{"grpc unspecified IPv6", []string{"88"}, nil, [2]string{"", credential.RoleAdmin}, dg("88.100", "[::]:7420"), codes.InvalidArgument},
		{"grpc multicast", []string{"88"}, nil, [2]string{"", credential.RoleAdmin}, dg("88.100", "224.0.0.1:7420"), codes.InvalidArgument},
		{"grpc IPv6 multicast", []string{"88"}, nil, [2]string{"", credential.RoleAdmin}, dg("88.100", "[ff02::1]:7420"), codes.InvalidArgument},
		{"grpc broadcast", []string{"88"}, nil, [2]string{"", credential.RoleAdmin}, dg("88.100", "255.255.255.255:7420"), codes.InvalidArgument},
		{"grpc IPv4-mapped unspecified", []string{"88"}, nil, [2]string{"", credential.RoleAdmin}, dg("88.100", "[::ffff:0.0.0.0]:7420"), codes.InvalidArgument},
		{"bad prefix", []string{"88"}, nil, [2]string{"", credential.RoleAdmin}, dg("88..1", "h:1"), codes.InvalidArgument},
		{"missing delegation", []string{"88"}, nil, [2]string{"", credential.RoleAdmin}, nil, codes.InvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := dgStart(t, tc.zones...)
			root := r.as(t, "", credential.RoleAdmin)
			for _, p := range tc.pre {
				if _, err := r.svc.SetDelegation(root, &idresv1.SetDelegationRequest{Delegation: p}); err != nil {
					t.Fatal(err)
				}
			}
			_, err := r.svc.SetDelegation(r.as(t, tc.cred[0], tc.cred[1]), &idresv1.SetDelegationRequest{Delegation: tc.d})
			if got := code(err); got != tc.want {
				t.Fatalf("SetDelegation = %v (%v), want %v", got, err, tc.want)
			}
		})
	}
}

func TestDelegationEndpointSyntax(t *testing.T) {
	tests := []struct {
		name string
		dns  []string
		http []string
		want codes.Code
	}{
		{"dns host", []string{"ns1.example"}, nil, codes.OK},
		{"dns host:port", []string{"127.0.0.12:53"}, nil, codes.OK},
		{"dns IPv6 without port", []string{"::1"}, nil, codes.OK},
		{"dns bad port", []string{"127.0.0.12:x"}, nil, codes.InvalidArgument},
		{"dns empty", []string{""}, nil, codes.InvalidArgument},
		{"dns unspecified", []string{"0.0.0.0"}, nil, codes.InvalidArgument},
		{"dns multicast", []string{"[ff02::fb]:5353"}, nil, codes.InvalidArgument},
		{"http", nil, []string{"http://127.0.0.1:8080"}, codes.OK},
		{"https with path", nil, []string{"https://id.example/api"}, codes.OK},
		{"relative URL", nil, []string{"/api"}, codes.InvalidArgument},
		{"ftp URL", nil, []string{"ftp://id.example/"}, codes.InvalidArgument},
		{"URL without host", nil, []string{"http://"}, codes.InvalidArgument},
		{"URL with user info", nil, []string{"http://u:p@id.example/"}, codes.InvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := dgStart(t, "88")
			d := dg("88.100", "127.0.0.1:7421")
			d.Dns, d.Http = tc.dns, tc.http
			_, err := r.svc.SetDelegation(r.as(t, "", credential.RoleAdmin), &idresv1.SetDelegationRequest{Delegation: d})
			if got := code(err); got != tc.want {
				t.Fatalf("SetDelegation = %v (%v), want %v", got, err, tc.want)
			}
		})
	}
}

func TestDelegationLifecycle(t *testing.T) {
	r := dgStart(t, "88", "86")
	root := r.as(t, "", credential.RoleAdmin)
	set := func(d *idresv1.Delegation) *idresv1.Delegation {
		t.Helper()
		got, err := r.svc.SetDelegation(root, &idresv1.SetDelegationRequest{Delegation: d})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	first := set(dg("88.100", "127.0.0.1:1"))
	if first.GetTtl() != 86400 {
		t.Errorf("default ttl = %d, want 86400", first.GetTtl())
	}
	if first.Created == nil || first.Updated == nil {
		t.Error("times not set")
	}
	d := dg("88.100", "127.0.0.1:2", "127.0.0.1:3")
	d.Ttl = proto.Uint32(60)
	set(d)
	set(dg("88.200", "127.0.0.1:4"))
	set(dg("86.1", "127.0.0.1:5"))

	got, err := r.svc.GetDelegation(root, &idresv1.GetDelegationRequest{Prefix: "88.100"})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetTtl() != 60 || len(got.Grpc) != 2 || got.Grpc[0] != "127.0.0.1:2" {
		t.Errorf("replaced delegation = %v", got)
	}
	if !got.Created.AsTime().Equal(first.Created.AsTime()) {
		t.Error("replacing changed the creation time")
	}

	list := func(ctx context.Context, zone string, size uint32) []string {
		t.Helper()
		var out []string
		tok := ""
		for {
			resp, err := r.svc.ListDelegations(ctx, &idresv1.ListDelegationsRequest{Zone: zone, PageSize: size, PageToken: tok})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range resp.Delegations {
				out = append(out, d.Prefix)
			}
			if tok = resp.NextPageToken; tok == "" {
				return out
			}
		}
	}
	tests := []struct {
		name string
		ctx  context.Context
		zone string
		size uint32
		want string
	}{
		{"all", root, "", 0, "86.1 88.100 88.200"},
		{"all, pages of one", root, "", 1, "86.1 88.100 88.200"},
		{"one zone", root, "88", 0, "88.100 88.200"},
		{"credential of a subtree", r.as(t, "88.200", credential.RoleRead), "", 0, "88.200"},
	}
	for _, tc := range tests {
		if got := dgJoin(list(tc.ctx, tc.zone, tc.size)); got != tc.want {
			t.Errorf("%s: ListDelegations = %q, want %q", tc.name, got, tc.want)
		}
	}

	if _, err := r.svc.RemoveDelegation(r.as(t, "88", credential.RoleWrite), &idresv1.RemoveDelegationRequest{Prefix: "88.100"}); code(err) != codes.PermissionDenied {
		t.Errorf("remove with write role = %v, want PermissionDenied", err)
	}
	if _, err := r.svc.RemoveDelegation(root, &idresv1.RemoveDelegationRequest{Prefix: "88.100"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.svc.RemoveDelegation(root, &idresv1.RemoveDelegationRequest{Prefix: "88.100"}); code(err) != codes.NotFound {
		t.Errorf("second remove = %v, want NotFound", err)
	}
	if _, err := r.svc.GetDelegation(root, &idresv1.GetDelegationRequest{Prefix: "88.100"}); code(err) != codes.NotFound {
		t.Errorf("get after remove = %v, want NotFound", err)
	}
	if _, err := r.svc.ListDelegations(context.Background(), &idresv1.ListDelegationsRequest{}); code(err) != codes.Unauthenticated {
		t.Errorf("list without credential = %v, want Unauthenticated", err)
	}
}

func dgJoin(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

// code is the gRPC code a call's error gets on the node, whose interceptor
// maps every service error (grpcserver.Status); these tests call the
// service directly.
func code(err error) codes.Code {
	return status.Code(grpcserver.Status(context.Background(), err))
}
