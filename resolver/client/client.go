// Package client is the Go client of an idres node: one connection, the
// Resolver and Registry stubs, and the bearer token attached to every call.
// The idres CLI, the conformance runner and the recursive node use it.
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
	// Token is sent as "authorization: Bearer <token>" when set.
	Token string
	// TLS, when set, secures the connection; nil means plaintext.
	TLS *tls.Config
	// DialOptions are appended after the client's own.
	DialOptions []grpc.DialOption
}

// Client talks to one node.
type Client struct {
	conn *grpc.ClientConn
	idresv1.ResolverClient
	idresv1.RegistryClient
}

// Dial connects lazily to addr (host:port); errors surface on the first call.
func Dial(addr string, opts Options) (*Client, error) {
	dopts := []grpc.DialOption{}
	if opts.TLS != nil {
		dopts = append(dopts, grpc.WithTransportCredentials(credentials.NewTLS(opts.TLS)))
	} else {
		dopts = append(dopts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	if opts.Token != "" {
		dopts = append(dopts, grpc.WithPerRPCCredentials(bearer{token: opts.Token, secure: opts.TLS != nil}))
	}
	dopts = append(dopts, opts.DialOptions...)
	conn, err := grpc.NewClient("passthrough:///"+addr, dopts...)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return &Client{conn: conn, ResolverClient: idresv1.NewResolverClient(conn), RegistryClient: idresv1.NewRegistryClient(conn)}, nil
}

// Conn is the underlying connection, e.g. for health checks.
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

type bearer struct {
	token  string
	secure bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}

// RequireTransportSecurity is false so that loopback development works in
// plaintext; the node refuses plaintext off loopback.
func (b bearer) RequireTransportSecurity() bool { return false }
