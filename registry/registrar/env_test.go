package registrar_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/credential"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/registrar"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/resolver/grpcserver"
)

// rclock is a settable clock shared by the store and the authenticator.
type rclock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *rclock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *rclock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// renv is a real Registry server on loopback over a real bbolt file.
type renv struct {
	t     *testing.T
	dir   string
	store *store.Store
	clk   *rclock
	logs  *logBuffer
	conn  *grpc.ClientConn
	reg   idresv1.RegistryClient
	root  string // node administrator token
}

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *logBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *logBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func newRenv(t *testing.T, limits registrar.Limits, limiter *grpcserver.RateLimiter) *renv {
	t.Helper()
	e := &renv{t: t, dir: t.TempDir(), clk: &rclock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}, logs: &logBuffer{}}
	var err error
	e.store, err = store.Open(e.dir, store.Options{Now: e.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.store.Close() })
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc := registrar.New(e.store, log)
	if err := svc.SetLimits(limits); err != nil {
		t.Fatal(err)
	}
	authn := &grpcserver.Authenticator{Verify: e.store.VerifyToken, Now: e.clk.Now}
	if limiter == nil {
		limiter = &grpcserver.RateLimiter{}
	}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(authn.Unary(), limiter.Unary(), grpcserver.StatusUnary()),
		grpc.ChainStreamInterceptor(authn.Stream(), limiter.Stream(), grpcserver.StatusStream()),
	)
	idresv1.RegisterRegistryServer(srv, svc)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	e.conn, err = grpc.NewClient("passthrough:///"+lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.conn.Close() })
	e.reg = idresv1.NewRegistryClient(e.conn)
	e.root = e.issue("", credential.RoleAdmin, time.Time{})
	return e
}

// issue stores a credential directly (no API call) and returns its token.
func (e *renv) issue(prefix, role string, expires time.Time) string {
	e.t.Helper()
	var tok credential.Token
	err := e.store.Update(func(tx *store.Tx) (err error) {
		tok, _, err = tx.IssueCredential(prefix, role, expires, "", "test")
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return tok.String()
}

// ctx carries token as the bearer ("" sends none).
func (e *renv) ctx(token string) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	e.t.Cleanup(cancel)
	if token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// must fails the test on err.
func (e *renv) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatalf("unexpected: %v", err)
	}
}

func (e *renv) prefix(p string) {
	e.t.Helper()
	_, err := e.reg.CreatePrefix(e.ctx(e.root), &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: p}})
	e.must(err)
}

func (e *renv) ident(id string, vals ...*idresv1.Value) {
	e.t.Helper()
	if len(vals) == 0 {
		vals = []*idresv1.Value{rval(1, "URL", "https://example.com/"+id)}
	}
	_, err := e.reg.CreateIdentifier(e.ctx(e.root), &idresv1.CreateIdentifierRequest{Identifier: id, Values: vals})
	e.must(err)
}

func rval(index uint32, typ, data string) *idresv1.Value {
	return &idresv1.Value{Index: index, Type: typ, Data: []byte(data)}
}

func rcode(err error) string { return status.Code(err).String() }

func mustID(s string) ident.ID { return ident.MustParse(s) }

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
