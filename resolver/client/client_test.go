package client_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/client"
)

func newNode(t *testing.T, o nodeOptions) *testNode {
	t.Helper()
	n, err := startNode(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Stop)
	return n
}

func dial(t *testing.T, addr string, o client.Options) *client.Client {
	t.Helper()
	c, err := client.Dial(addr, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestDialTLS dials a node that requires mutual TLS with what LoadTLS
// builds from PEM files: the node's CA and a client certificate let a
// token through; anything less never reaches the node's authentication.
func TestDialTLS(t *testing.T) {
	pki, err := newPKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(pki.ServerCert, pki.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := client.LoadCertPool(pki.CA)
	if err != nil {
		t.Fatal(err)
	}
	n := newNode(t, nodeOptions{TLS: &tls.Config{
		Certificates: []tls.Certificate{pair}, ClientCAs: pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12,
	}})
	cases := []struct {
		name          string
		ca, cert, key string
		plaintext     bool
		token         string
		want          codes.Code
	}{
		{name: "mutual TLS and token", ca: pki.CA, cert: pki.ClientCert, key: pki.ClientKey, token: n.Admin, want: codes.OK},
		{name: "mutual TLS without token", ca: pki.CA, cert: pki.ClientCert, key: pki.ClientKey, want: codes.Unauthenticated},
		{name: "mutual TLS with a wrong token", ca: pki.CA, cert: pki.ClientCert, key: pki.ClientKey, token: "not-a-token", want: codes.Unauthenticated},
		{name: "TLS without client certificate", ca: pki.CA, token: n.Admin, want: codes.Unavailable},
		{name: "plaintext to a TLS node", plaintext: true, token: n.Admin, want: codes.Unavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var cfg *tls.Config
			if !tc.plaintext {
				if cfg, err = client.LoadTLS(tc.ca, tc.cert, tc.key); err != nil {
					t.Fatal(err)
				}
			}
			c := dial(t, n.Addr, client.Options{TLS: cfg, Token: tc.token})
			_, err := c.ListPrefixes(ctxT(t), &idresv1.ListPrefixesRequest{})
			if got := status.Code(err); got != tc.want {
				t.Fatalf("ListPrefixes: got %v (%v), want %v", got, err, tc.want)
			}
		})
	}
}

// TestLoadTLS pins the loader's refusals: a half key pair, a CA file with
// no certificate in it, a missing file. All empty is plaintext (nil).
func TestLoadTLS(t *testing.T) {
	dir := t.TempDir()
	pki, err := newPKI(dir)
	if err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name          string
		ca, cert, key string
		wantNil       bool
		wantErr       string
	}{
		{name: "nothing: plaintext", wantNil: true},
		{name: "CA only", ca: pki.CA},
		{name: "CA and key pair", ca: pki.CA, cert: pki.ClientCert, key: pki.ClientKey},
		{name: "certificate without key", cert: pki.ClientCert, wantErr: "needs both"},
		{name: "key without certificate", key: pki.ClientKey, wantErr: "needs both"},
		{name: "CA not PEM", ca: notPEM, wantErr: "no PEM certificate"},
		{name: "CA missing", ca: filepath.Join(dir, "absent.pem"), wantErr: "read CA bundle"},
		{name: "key pair mismatched", cert: pki.ClientCert, key: pki.ServerKey, wantErr: "load client key pair"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := client.LoadTLS(tc.ca, tc.cert, tc.key)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (cfg == nil) != tc.wantNil {
				t.Fatalf("got config %v, want nil: %v", cfg, tc.wantNil)
			}
			if cfg != nil && (cfg.RootCAs != nil) != (tc.ca != "") {
				t.Errorf("RootCAs set: %v, CA given: %v", cfg.RootCAs != nil, tc.ca != "")
			}
			if cfg != nil && len(cfg.Certificates) != map[bool]int{true: 1}[tc.cert != ""] {
				t.Errorf("%d client certificates", len(cfg.Certificates))
			}
		})
	}
}

// TestServices calls each of the four services through one Client: with
// the administrator's token, without one, and with a request the service
// refuses. Only the Resolver is public.
func TestServices(t *testing.T) {
	n := newNode(t, nodeOptions{})
	admin := dial(t, n.Addr, client.Options{Token: n.Admin})
	anon := dial(t, n.Addr, client.Options{})
	if _, err := admin.CreatePrefix(ctxT(t), &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: "88.100"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateIdentifier(ctxT(t), &idresv1.CreateIdentifierRequest{Identifier: "88.100/PUMP-0042",
		Values: []*idresv1.Value{{Index: 1, Type: "URL", Data: []byte("https://example.com/pump")}}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		service string
		call    func(ctx context.Context, c *client.Client) error
		bad     func(ctx context.Context, c *client.Client) error // refused even with the token
		anon    codes.Code                                        // outcome without a token
		badCode codes.Code
	}{
		{
			service: "Resolver",
			call: func(ctx context.Context, c *client.Client) error {
				resp, err := c.Resolve(ctx, &idresv1.ResolveRequest{Identifier: "88.100/PUMP-0042"})
				if err == nil && resp.GetOutcome() != idresv1.Outcome_OUTCOME_OK {
					t.Errorf("Resolve: outcome %v", resp.GetOutcome())
				}
				return err
			},
			bad: func(ctx context.Context, c *client.Client) error {
				_, err := c.Resolve(ctx, &idresv1.ResolveRequest{Identifier: "88.100/PUMP-0042", Indexes: []uint32{0}})
				return err
			},
			anon: codes.OK, badCode: codes.InvalidArgument,
		},
		{
			service: "Registry",
			call: func(ctx context.Context, c *client.Client) error {
				_, err := c.GetPrefix(ctx, &idresv1.GetPrefixRequest{Prefix: "88.100"})
				return err
			},
			bad: func(ctx context.Context, c *client.Client) error {
				_, err := c.CreatePrefix(ctx, &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: "88.100"}})
				return err
			},
			anon: codes.Unauthenticated, badCode: codes.AlreadyExists,
		},
		{
			service: "Admin",
			call: func(ctx context.Context, c *client.Client) error {
				_, err := c.FlushCache(ctx, &idresv1.FlushCacheRequest{})
				return err
			},
			bad: func(ctx context.Context, c *client.Client) error {
				_, err := c.FlushCache(ctx, &idresv1.FlushCacheRequest{Prefix: "not a prefix/"})
				return err
			},
			anon: codes.Unauthenticated, badCode: codes.InvalidArgument,
		},
		{
			service: "Backup",
			call: func(ctx context.Context, c *client.Client) error {
				var buf bytes.Buffer
				tr, err := c.SnapshotTo(ctx, &buf)
				if err == nil && (tr.GetSize() == 0 || uint64(buf.Len()) != tr.GetSize()) {
					t.Errorf("SnapshotTo wrote %d bytes, trailer says %d", buf.Len(), tr.GetSize())
				}
				return err
			},
			bad: func(ctx context.Context, c *client.Client) error {
				// Cancelled before the first byte: the caller's ctx rules.
				ctx, cancel := context.WithCancel(ctx)
				cancel()
				_, err := c.SnapshotTo(ctx, &bytes.Buffer{})
				return err
			},
			anon: codes.Unauthenticated, badCode: codes.Canceled,
		},
	}
	for _, tc := range cases {
		t.Run(tc.service, func(t *testing.T) {
			if err := tc.call(ctxT(t), admin); err != nil {
				t.Errorf("with the administrator's token: %v", err)
			}
			if got := status.Code(tc.call(ctxT(t), anon)); got != tc.anon {
				t.Errorf("without a token: got %v, want %v", got, tc.anon)
			}
			if got := status.Code(tc.bad(ctxT(t), admin)); got != tc.badCode {
				t.Errorf("refused request: got %v, want %v", got, tc.badCode)
			}
		})
	}
}

// TestWithToken: a Client dialled without a token acts for a principal
// one call at a time, as the conformance runner does.
func TestWithToken(t *testing.T) {
	n := newNode(t, nodeOptions{})
	anon := dial(t, n.Addr, client.Options{})
	if _, err := anon.ListPrefixes(ctxT(t), &idresv1.ListPrefixesRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("without a token: got %v, want Unauthenticated", err)
	}
	if _, err := anon.ListPrefixes(ctxT(t), &idresv1.ListPrefixesRequest{}, client.WithToken(n.Admin)); err != nil {
		t.Fatalf("WithToken: %v", err)
	}
	if _, err := anon.ListPrefixes(ctxT(t), &idresv1.ListPrefixesRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("the token outlived its call: %v", err)
	}
}
