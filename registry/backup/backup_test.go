package backup_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/backup"
	"github.com/idres/idres/registry/credential"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/resolver/grpcserver"
)

// served is a store behind the Backup service on a loopback gRPC server
// with the node's authentication and error mapping, and one token per
// kind of caller.
type served struct {
	store  *store.Store
	conn   *grpc.ClientConn
	tokens map[string]string // caller name -> raw token
}

// records is how many identifiers the fixture holds: with a 1 KiB value
// each, the snapshot spans several chunks.
const records = 400

func serve(t *testing.T) *served {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := &served{store: st, tokens: map[string]string{}}
	issue := []struct{ name, prefix, role string }{
		{"node-admin", "", credential.RoleAdmin},
		{"root-write", "", credential.RoleWrite},
		{"root-read", "", credential.RoleRead},
		{"own-admin", "88.100.1", credential.RoleAdmin},
		{"revoked", "", credential.RoleAdmin},
	}
	big := strings.Repeat("x", 1<<10)
	err = st.Update(func(tx *store.Tx) error {
		for _, c := range issue {
			tok, cred, err := tx.IssueCredential(c.prefix, c.role, time.Time{}, "", c.name)
			if err != nil {
				return err
			}
			s.tokens[c.name] = tok.ID + "." + tok.Secret
			if c.name == "revoked" {
				cred.Revoked = tx.Now()
				if err := tx.PutCredential(cred); err != nil {
					return err
				}
			}
		}
		if err := tx.CreatePrefix(&idresv1.Prefix{Prefix: "88.100.1"}); err != nil {
			return err
		}
		for i := range records {
			id, err := ident.Parse(fmt.Sprintf("88.100.1/PUMP-%04d", i))
			if err != nil {
				return err
			}
			rec := &idresv1.Identifier{Values: []*idresv1.Value{
				{Index: 1, Type: "URL", Data: []byte(fmt.Sprintf("https://example.com/pump/%d", i))},
				{Index: 2, Type: "note", Data: []byte(big)},
			}}
			if err := tx.CreateIdentifier(id, rec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}

	authn := &grpcserver.Authenticator{Verify: st.VerifyToken}
	srv := grpc.NewServer(grpc.ChainStreamInterceptor(authn.Stream(), grpcserver.StatusStream()))
	idresv1.RegisterBackupServer(srv, backup.New(st))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	t.Cleanup(func() {
		srv.Stop()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	s.conn, err = grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.conn.Close() })
	return s
}

// snapshot takes a snapshot as caller ("" sends no token) and returns its
// bytes and trailer, or the call's error.
func (s *served) snapshot(t *testing.T, caller string) ([]byte, *idresv1.SnapshotTrailer, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if caller != "" {
		tok, ok := s.tokens[caller]
		if !ok {
			t.Fatalf("no caller %q", caller)
		}
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
	}
	stream, err := idresv1.NewBackupClient(s.conn).Snapshot(ctx, &idresv1.SnapshotRequest{})
	if err != nil {
		return nil, nil, err
	}
	var buf bytes.Buffer
	chunks := 0
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			t.Fatal("snapshot ended without a trailer")
		}
		if err != nil {
			return nil, nil, err
		}
		if tr := chunk.GetTrailer(); tr != nil {
			if chunks < 2 {
				t.Errorf("snapshot came in %d chunks; the fixture is meant to need several", chunks)
			}
			return buf.Bytes(), tr, nil
		}
		if len(chunk.Data) > backup.ChunkSize {
			t.Errorf("chunk of %d bytes exceeds ChunkSize %d", len(chunk.Data), backup.ChunkSize)
		}
		chunks++
		buf.Write(chunk.Data)
	}
}

func allIdentifiers(t *testing.T, st *store.Store) []*idresv1.Identifier {
	t.Helper()
	var out []*idresv1.Identifier
	err := st.View(func(tx *store.Tx) (err error) {
		out, _, err = tx.ListIdentifiers("88.100.1", "", records+1)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSnapshotRestores takes a snapshot over gRPC as the node
// administrator, checks its trailer, restores it into a fresh data
// directory and finds the same records there.
func TestSnapshotRestores(t *testing.T) {
	s := serve(t)
	data, tr, err := s.snapshot(t, "node-admin")
	if err != nil {
		t.Fatalf("Snapshot as node administrator: %v", err)
	}
	if sum := sha256.Sum256(data); !bytes.Equal(tr.Sha256, sum[:]) {
		t.Errorf("trailer sha256 %x, data hashes to %x", tr.Sha256, sum)
	}
	if tr.Size != uint64(len(data)) || tr.SchemaVersion != store.SchemaVersion {
		t.Errorf("trailer size %d schema %d, want %d and %d", tr.Size, tr.SchemaVersion, len(data), store.SchemaVersion)
	}
	if rev, err := s.store.Revision(); err != nil || tr.Revision != rev {
		t.Errorf("trailer revision %d, store at %d (%v)", tr.Revision, rev, err)
	}

	file := filepath.Join(t.TempDir(), "snap.db")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	aside, info, err := backup.Restore(dir, file, time.Now())
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if aside != "" {
		t.Errorf("restore into an empty directory moved %q aside", aside)
	}
	if info.Identifiers != records {
		t.Errorf("Restore verified %d identifiers, want %d", info.Identifiers, records)
	}
	restored, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatalf("open restored store: %v", err)
	}
	defer restored.Close()
	want, got := allIdentifiers(t, s.store), allIdentifiers(t, restored)
	if len(want) != records || len(got) != len(want) {
		t.Fatalf("restored %d identifiers, original has %d, fixture %d", len(got), len(want), records)
	}
	for i := range want {
		if !proto.Equal(got[i], want[i]) {
			t.Fatalf("record %d differs after restore:\n got %v\nwant %v", i, got[i], want[i])
		}
	}
	// The credentials travel too: the node administrator's token works
	// against the restored store.
	if _, err := restored.VerifyToken(s.tokens["node-admin"], time.Now()); err != nil {
		t.Errorf("node administrator token against the restored store: %v", err)
	}
}

// TestSnapshotNeedsNodeAdministrator: a snapshot holds every subtree, so
// only admin on the root may take one.
func TestSnapshotNeedsNodeAdministrator(t *testing.T) {
	s := serve(t)
	tests := []struct {
		caller string
		want   codes.Code
	}{
		{"node-admin", codes.OK},
		{"own-admin", codes.PermissionDenied}, // admin, but of 88.100.1 only
		{"root-write", codes.PermissionDenied},
		{"root-read", codes.PermissionDenied},
		{"revoked", codes.Unauthenticated},
		{"", codes.Unauthenticated},
	}
	for _, tc := range tests {
		t.Run("caller="+tc.caller, func(t *testing.T) {
			_, _, err := s.snapshot(t, tc.caller)
			if got := status.Code(err); got != tc.want {
				t.Fatalf("Snapshot as %q: %v (%v), want %v", tc.caller, got, err, tc.want)
			}
			if tc.want == codes.Unauthenticated && status.Convert(err).Message() != credential.UnauthenticatedMessage {
				t.Errorf("message %q, want the fixed %q", status.Convert(err).Message(), credential.UnauthenticatedMessage)
			}
		})
	}
}
