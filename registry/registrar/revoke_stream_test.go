package registrar_test

import (
	"errors"
	"io"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/credential"
	"github.com/idres/idres/registry/registrar"
	"github.com/idres/idres/registry/store"
)

// TestRevocationEndsImport: an Import stream whose credential is revoked
// while it runs commits nothing after the revocation: the next batch ends
// the stream Unauthenticated, its items are not stored, and the audit log
// credits nothing to the credential after it was revoked.
func TestRevocationEndsImport(t *testing.T) {
	e := newRenv(t, registrar.Limits{}, nil)
	e.prefix("88.100")
	w := e.issue("88.100", credential.RoleWrite, time.Time{})
	tok, err := credential.ParseToken(w)
	e.must(err)

	st, err := e.reg.Import(e.ctx(w))
	e.must(err)
	item := func(id string) *idresv1.ImportItem {
		return &idresv1.ImportItem{Identifier: id, Values: []*idresv1.Value{rval(1, "URL", "https://example.com/"+id)}}
	}
	e.must(st.Send(&idresv1.ImportRequest{Options: &idresv1.ImportOptions{BatchSize: 1}, Items: []*idresv1.ImportItem{item("88.100/before")}}))
	ack, err := st.Recv()
	e.must(err)
	if ack.GetCreated() != 1 {
		t.Fatalf("first batch: %v", ack)
	}
	_, err = e.reg.RevokeCredential(e.ctx(e.root), &idresv1.RevokeCredentialRequest{Id: tok.ID})
	e.must(err)

	// The client goes on as if nothing happened.
	sendErr := st.Send(&idresv1.ImportRequest{Items: []*idresv1.ImportItem{item("88.100/after")}})
	if sendErr == nil {
		sendErr = st.CloseSend()
	}
	for err == nil {
		ack, err = st.Recv()
		if err == nil {
			t.Errorf("batch acknowledged after the revocation: %v", ack)
		}
	}
	if errors.Is(err, io.EOF) || status.Code(err) != codes.Unauthenticated {
		t.Errorf("stream ended with %v (send: %v), want Unauthenticated", err, sendErr)
	}
	e.must(e.store.View(func(tx *store.Tx) error {
		if _, err := tx.Identifier(mustID("88.100/after").Key()); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("88.100/after after the revocation: %v, want not found", err)
		}
		return nil
	}))
}
