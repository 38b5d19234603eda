package client

import (
	"context"
	"crypto/tls"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// Options configure Dial.
type Options struct {
	// Token is sent as "authorization: Bearer <token>" on every call when
	// set. "" sends none: enough for the Resolver service.
	Token string
	// TLS, when set, secures the connection; nil means plaintext (which a
	// node accepts only on loopback). See LoadTLS.
	TLS *tls.Config
	// DialOptions are appended after the client's own, so they may
	// override them (interceptors, a custom dialer in tests).
	DialOptions []grpc.DialOption
}

// Client talks to one node. Every RPC of the four idres.v1 services is a
// method of it; the service stubs are embedded, and no two services share
// a method name.
type Client struct {
	conn *grpc.ClientConn
	idresv1.ResolverClient
	idresv1.RegistryClient
	idresv1.AdminClient
	idresv1.BackupClient
}

// Dial makes a Client for the node at addr (host:port). The connection is
// lazy: an unreachable node is the error of the first call, not of Dial,
// which fails only on invalid options.
func Dial(addr string, opts Options) (*Client, error) {
	dopts := []grpc.DialOption{}
	if opts.TLS != nil {
		dopts = append(dopts, grpc.WithTransportCredentials(credentials.NewTLS(opts.TLS)))
	} else {
		dopts = append(dopts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	if opts.Token != "" {
		dopts = append(dopts, grpc.WithPerRPCCredentials(bearer(opts.Token)))
	}
	dopts = append(dopts, opts.DialOptions...)
	// passthrough: addr is dialled as given, without the DNS resolver's
	// lookups and their delay on every connect.
	conn, err := grpc.NewClient("passthrough:///"+addr, dopts...)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return &Client{
		conn:           conn,
		ResolverClient: idresv1.NewResolverClient(conn),
		RegistryClient: idresv1.NewRegistryClient(conn),
		AdminClient:    idresv1.NewAdminClient(conn),
		BackupClient:   idresv1.NewBackupClient(conn),
	}, nil
}

// Conn is the underlying connection, for what is not part of idres.v1:
// the standard gRPC health and reflection services, or waiting for the
// connection to be ready.
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// Close closes the connection; calls in flight fail with codes.Canceled.
func (c *Client) Close() error { return c.conn.Close() }

// Invoke and NewStream make a Client a grpc.ClientConnInterface, so that a
// caller that picks methods at run time by their descriptors (the
// conformance runner) calls through the Client and its credentials like
// every other caller.
func (c *Client) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return c.conn.Invoke(ctx, method, args, reply, opts...)
}

// NewStream opens a stream of method; see Invoke.
func (c *Client) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return c.conn.NewStream(ctx, desc, method, opts...)
}

var _ grpc.ClientConnInterface = (*Client)(nil)

// WithToken sends token as the bearer credential of one call, for a
// Client dialled without Options.Token that acts for several principals
// (as the conformance runner does). On a Client dialled with a token both
// would be sent; do not mix them.
func WithToken(token string) grpc.CallOption {
	return grpc.PerRPCCredentials(bearer(token))
}

// bearer is the token credential of every call.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

// RequireTransportSecurity is false so that loopback development works in
// plaintext; the node itself refuses plaintext off loopback, which is
// where that rule can be enforced for every client, not only this one.
func (b bearer) RequireTransportSecurity() bool { return false }
