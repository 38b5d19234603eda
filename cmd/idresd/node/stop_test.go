package node_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/store"
)

// TestStop: a stopped node answers nothing, has released its store (another
// process could open it now), and a second Stop is harmless.
func TestStop(t *testing.T) {
	g := startGRPCNode(t)
	g.mustCreatePrefix(t, &idresv1.Prefix{Prefix: "88"})
	g.mustCreateID(t, "88/x", val(1, "URL", "u", 0))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.n.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := g.n.Stop(ctx); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	_, err := g.anon.Resolve(ctxT(t), req("88/x"))
	if status.Code(err) != codes.Unavailable {
		t.Errorf("Resolve after Stop: %v, want Unavailable", err)
	}
	s, err := store.Open(g.dir, store.Options{LockTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("store still locked after Stop: %v", err)
	}
	defer s.Close()
	if err := s.View(func(tx *store.Tx) error { _, err := tx.Identifier("88/x"); return err }); err != nil {
		t.Errorf("data after Stop: %v", err)
	}
}
