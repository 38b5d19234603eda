package node_test

import (
	"context"
	"errors"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/idres/idres/cmd/idresd/node"
	"github.com/idres/idres/registry/credential"
	"github.com/idres/idres/resolver/grpcserver"
)

// methodNeeds is the authorisation policy of every non-public method the
// node serves, written here apart from the code: the role the call needs
// and where. A method registered on the node that is neither in
// grpcserver.PublicServices nor in this table fails
// TestEveryMethodIsPublicOrAuthorised, so a new RPC cannot ship without
// someone stating who may call it. The Registry rows are checked caller
// by caller in registry/registrar/authz_test.go; Backup in
// registry/backup/backup_test.go; Admin in resolver/recursive.
var methodNeeds = map[string]string{
	"/idres.v1.Admin/FlushCache": "admin on the prefix flushed (the root for a full flush)",
	"/idres.v1.Backup/Snapshot":  "admin on the root (a snapshot holds every subtree)",

	"/idres.v1.Registry/CreatePrefix":     "admin on the prefix",
	"/idres.v1.Registry/GetPrefix":        "read on the prefix",
	"/idres.v1.Registry/ListPrefixes":     "any credential; the listing shows only prefixes it may read",
	"/idres.v1.Registry/DeletePrefix":     "admin on the prefix",
	"/idres.v1.Registry/CreateIdentifier": "write on the identifier's prefix",
	"/idres.v1.Registry/GetIdentifier":    "read on the identifier's prefix",
	"/idres.v1.Registry/UpdateValues":     "write on the identifier's prefix",
	"/idres.v1.Registry/DeleteIdentifier": "write on the identifier's prefix",
	"/idres.v1.Registry/ListIdentifiers":  "read on the prefix",
	"/idres.v1.Registry/SetDelegation":    "admin on the delegated prefix",
	"/idres.v1.Registry/GetDelegation":    "read on the delegated prefix",
	"/idres.v1.Registry/ListDelegations":  "any credential; the listing shows only delegations it may read",
	"/idres.v1.Registry/RemoveDelegation": "admin on the delegated prefix",
	"/idres.v1.Registry/IssueCredential":  "admin on the new credential's prefix",
	"/idres.v1.Registry/ListCredentials":  "admin on the listed subtree",
	"/idres.v1.Registry/RevokeCredential": "admin on the revoked credential's prefix",
	"/idres.v1.Registry/SetTemplate":      "admin on the prefix",
	"/idres.v1.Registry/GetTemplate":      "read on the prefix",
	"/idres.v1.Registry/DeleteTemplate":   "admin on the prefix",
	"/idres.v1.Registry/ListAudit":        "admin on the audited subtree",
	"/idres.v1.Registry/Import":           "write on each item's prefix",
	"/idres.v1.Registry/Search":           "read on the searched prefix",
	"/idres.v1.Registry/Watch":            "read on the watched prefix",
	"/idres.v1.Registry/SetPattern":       "admin on the prefix",
	"/idres.v1.Registry/ListPatterns":     "read on the prefix",
	"/idres.v1.Registry/DeletePattern":    "admin on the prefix",
	"/idres.v1.Registry/LiftTombstone":    "admin on the identifier's prefix",
}

// registeredMethod is one method of one service on the node's server.
type registeredMethod struct {
	full                 string // "/pkg.Service/Method"
	desc                 protoreflect.MethodDescriptor
	clientStream, server bool
}

// registeredMethods enumerates every method the node serves, with its
// descriptor from the proto registry so a request of the right type can
// be built.
func registeredMethods(t *testing.T, n *node.Node) []registeredMethod {
	t.Helper()
	var out []registeredMethod
	for svc, info := range n.GRPCServiceInfo() {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(svc))
		if err != nil {
			t.Fatalf("service %s is registered but has no descriptor: %v", svc, err)
		}
		sd, ok := d.(protoreflect.ServiceDescriptor)
		if !ok {
			t.Fatalf("%s is a %T, not a service", svc, d)
		}
		for _, m := range info.Methods {
			md := sd.Methods().ByName(protoreflect.Name(m.Name))
			if md == nil {
				t.Fatalf("%s/%s is registered but not in the service descriptor", svc, m.Name)
			}
			out = append(out, registeredMethod{full: "/" + svc + "/" + m.Name, desc: md, clientStream: m.IsClientStream, server: m.IsServerStream})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].full < out[j].full })
	return out
}

// invokeEmpty calls m with an empty request of its input type and returns
// the call's error: the first response's for streams, after the client
// side is closed.
func invokeEmpty(ctx context.Context, conn *grpc.ClientConn, m registeredMethod) error {
	req := dynamicpb.NewMessage(m.desc.Input())
	resp := dynamicpb.NewMessage(m.desc.Output())
	if !m.clientStream && !m.server {
		return conn.Invoke(ctx, m.full, req, resp)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // Watch-like streams never end by themselves
	st, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: m.clientStream, ServerStreams: m.server}, m.full)
	if err != nil {
		return err
	}
	if err := st.SendMsg(req); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if err := st.CloseSend(); err != nil {
		return err
	}
	err = st.RecvMsg(resp)
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// TestEveryMethodIsPublicOrAuthorised enumerates every method registered
// on a running node. A public one answers a caller without a credential
// with something other than Unauthenticated; every other one must have a
// row in methodNeeds and answer a caller without a credential, or with a
// token the node never issued, Unauthenticated with the one fixed
// message, before the service sees the request.
func TestEveryMethodIsPublicOrAuthorised(t *testing.T) {
	n, err := node.Start(node.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", Logger: quietLog})
	if err != nil {
		t.Fatalf("node.Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := n.Stop(ctx); err != nil {
			t.Errorf("node.Stop: %v", err)
		}
	})
	conn, err := grpc.NewClient(n.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })

	methods := registeredMethods(t, n)
	if len(methods) < len(methodNeeds) {
		t.Fatalf("the node serves %d methods, fewer than the %d rows of methodNeeds", len(methods), len(methodNeeds))
	}
	served := map[string]bool{}
	callers := []struct {
		name  string
		token string // "" sends no authorization header
	}{
		{"none", ""},
		{"unknown token", "0123456789abcdef.not-a-secret-the-node-issued"},
		{"malformed token", "garbage"},
	}
	for _, m := range methods {
		served[m.full] = true
		public := grpcserver.IsPublic(m.full)
		need, listed := methodNeeds[m.full]
		switch {
		case public && listed:
			t.Errorf("%s is public but methodNeeds says it needs %s", m.full, need)
			continue
		case !public && !listed:
			t.Errorf("%s is neither in grpcserver.PublicServices nor in methodNeeds: state who may call it", m.full)
		}
		for _, c := range callers {
			if public && c.token != "" {
				continue // a public method with a bad token is Unauthenticated too; nothing to learn here
			}
			t.Run(strings.TrimPrefix(m.full, "/")+"/"+c.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if c.token != "" {
					ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+c.token)
				}
				err := invokeEmpty(ctx, conn, m)
				got := status.Code(err)
				if public {
					if got == codes.Unauthenticated || got == codes.Unimplemented {
						t.Fatalf("public %s without a credential: %v", m.full, err)
					}
					return
				}
				if got != codes.Unauthenticated {
					t.Fatalf("%s as caller %q: code %v (%v), want Unauthenticated", m.full, c.name, got, err)
				}
				if msg := status.Convert(err).Message(); msg != credential.UnauthenticatedMessage {
					t.Errorf("%s as caller %q: message %q, want the fixed %q", m.full, c.name, msg, credential.UnauthenticatedMessage)
				}
			})
		}
	}
	for full := range methodNeeds {
		if !served[full] {
			t.Errorf("methodNeeds has a row for %s, which the node does not serve", full)
		}
	}
}
