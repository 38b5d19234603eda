package handleclient_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/idres/idres/cmd/idresd/node"
	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/client"
	"github.com/idres/idres/resolver/handleclient"
	"github.com/idres/idres/resolver/handlewire"
)

// handleNode is a real idresd node on loopback with its Handle server,
// holding 88.100 with three identifiers and a delegation.
func handleNode(t *testing.T) *node.Node {
	t.Helper()
	n, err := node.Start(node.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", HandleAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop(context.Background()) })
	tok, err := os.ReadFile(n.AdminTokenPath)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.Dial(n.GRPCAddr(), client.Options{Token: strings.TrimSpace(string(tok))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if _, err := c.CreatePrefix(ctx, &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: "88.100"}}); err != nil {
		t.Fatal(err)
	}
	for id, vals := range map[string][]*idresv1.Value{
		"88.100/PUMP-0042": {
			{Index: 1, Type: "URL", Data: []byte("https://example.com/p/42"), Ttl: proto.Uint32(600)},
			{Index: 2, Type: "batch", Data: []byte("B-7")},
			{Index: 3, Type: "blob", Data: []byte{0, 0xff, 1}},
		},
		// Too large for one datagram: the server truncates it over UDP.
		"88.100/big": {{Index: 1, Type: "manual", Data: bytes.Repeat([]byte("m"), 3000)}},
	} {
		if _, err := c.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: id, Values: vals}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.SetDelegation(ctx, &idresv1.SetDelegationRequest{Delegation: &idresv1.Delegation{
		Prefix: "88.100.9", Grpc: []string{"127.0.0.9:7420"}, Handle: []string{"127.0.0.9:2641"}}}); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestResolveAgainstNode: one row per outcome, over TCP and UDP, the
// answer read back as idres states it (Answer.Response).
func TestResolveAgainstNode(t *testing.T) {
	// A prefix outside every zone the server holds is HANDLE_NOT_FOUND
	// or, as HANDLE.NET answers it, SERVER_NOT_RESP: either is read as
	// a negative answer.
	alsoRC := map[string]uint32{"unknown prefix": handlewire.RCServerNotResponsible}
	n := handleNode(t)
	for _, tc := range []struct {
		name    string
		handle  string
		types   []string
		indexes []uint32
		rc      uint32
		outcome idresv1.Outcome
		values  []uint32 // indexes, in order
		viaTCP  bool     // over UDP
	}{
		{"found", "88.100/PUMP-0042", nil, nil, handlewire.RCSuccess, idresv1.Outcome_OUTCOME_OK, []uint32{1, 2, 3}, false},
		{"any case", "88.100/pump-0042", nil, nil, handlewire.RCSuccess, idresv1.Outcome_OUTCOME_OK, []uint32{1, 2, 3}, false},
		{"type filter", "88.100/PUMP-0042", []string{"URL"}, nil, handlewire.RCSuccess, idresv1.Outcome_OUTCOME_OK, []uint32{1}, false},
		{"index filter", "88.100/PUMP-0042", nil, []uint32{2}, handlewire.RCSuccess, idresv1.Outcome_OUTCOME_OK, []uint32{2}, false},
		// Handle's rule: a value matches a listed type OR a listed index.
		{"type or index", "88.100/PUMP-0042", []string{"url"}, []uint32{3}, handlewire.RCSuccess, idresv1.Outcome_OUTCOME_OK, []uint32{1, 3}, false},
		{"no value matches", "88.100/PUMP-0042", []string{"none"}, nil, handlewire.RCValuesNotFound, idresv1.Outcome_OUTCOME_VALUES_NOT_FOUND, nil, false},
		{"not found", "88.100/nope", nil, nil, handlewire.RCHandleNotFound, idresv1.Outcome_OUTCOME_NOT_FOUND, nil, false},
		{"unknown prefix", "77/x", nil, nil, handlewire.RCHandleNotFound, idresv1.Outcome_OUTCOME_NOT_FOUND, nil, false},
		{"referral", "88.100.9/x", nil, nil, handlewire.RCServiceReferral, idresv1.Outcome_OUTCOME_REFERRAL, nil, false},
		{"truncated over UDP", "88.100/big", nil, nil, handlewire.RCSuccess, idresv1.Outcome_OUTCOME_OK, []uint32{1}, true},
	} {
		for _, udp := range []bool{false, true} {
			name := tc.name + "/tcp"
			if udp {
				name = tc.name + "/udp"
			}
			t.Run(name, func(t *testing.T) {
				c := &handleclient.Client{Addr: n.HandleAddr(), UDP: udp, RequestDigest: true}
				a, err := c.Resolve(context.Background(), tc.handle, tc.types, tc.indexes)
				if err != nil {
					t.Fatal(err)
				}
				if a.RC == alsoRC[tc.name] {
					tc.rc, tc.outcome = a.RC, idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND
				}
				if a.RC != tc.rc {
					t.Fatalf("rc %s (%s), want %s", handlewire.RCName(a.RC), a.Message, handlewire.RCName(tc.rc))
				}
				if a.ViaTCP != (udp && tc.viaTCP) {
					t.Errorf("via TCP %v", a.ViaTCP)
				}
				if a.Version != handlewire.Latest || a.Digest == nil {
					t.Errorf("version %s, digest %x: want 2.5 and the digest asked", a.Version, a.Digest)
				}
				r := a.Response()
				if r.GetOutcome() != tc.outcome {
					t.Fatalf("outcome %s, want %s", r.GetOutcome(), tc.outcome)
				}
				var got []uint32
				for _, v := range r.GetValues() {
					got = append(got, v.GetIndex())
				}
				if !slices.Equal(got, tc.values) {
					t.Fatalf("value indexes %v, want %v", got, tc.values)
				}
				switch tc.name {
				case "found":
					if v := r.GetValues()[0]; string(v.GetData()) != "https://example.com/p/42" || v.GetTtl() != 600 || !v.GetPublicRead() || v.GetTimestamp() == nil {
						t.Errorf("value 1: %v", v)
					}
					if !bytes.Equal(r.GetValues()[2].GetData(), []byte{0, 0xff, 1}) {
						t.Errorf("binary data %x", r.GetValues()[2].GetData())
					}
				case "truncated over UDP":
					if len(r.GetValues()[0].GetData()) != 3000 {
						t.Errorf("data of %d bytes, want 3000", len(r.GetValues()[0].GetData()))
					}
				case "referral":
					d := r.GetReferral()
					if r.GetIdentifier() != tc.handle || d.GetPrefix() != "88.100.9" || !slices.Equal(d.GetHandle(), []string{"127.0.0.9:2641"}) || !slices.Equal(d.GetGrpc(), []string{"127.0.0.9:7420"}) {
						t.Errorf("referral %v for %s", d, r.GetIdentifier())
					}
				case "not found":
					if a.Message == "" {
						t.Error("no message with the negative answer")
					}
				}
			})
		}
	}
}

// TestSiteInfoAgainstNode: the node's site names its Handle address for
// TCP and UDP, and a root_info built of it decodes back.
func TestSiteInfoAgainstNode(t *testing.T) {
	n := handleNode(t)
	for _, udp := range []bool{false, true} {
		c := &handleclient.Client{Addr: n.HandleAddr(), UDP: udp}
		s, err := c.SiteInfo(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		want := []netip.AddrPort{netip.MustParseAddrPort(n.HandleAddr())}
		for _, tr := range []uint8{handlewire.TransportTCP, handlewire.TransportUDP} {
			if got := handleclient.SiteAddrs(&s, tr); !slices.Equal(got, want) {
				t.Errorf("udp=%v: transport %d addresses %v, want %v", udp, tr, got, want)
			}
		}
	}
}

// TestKeptConnectionsUnderLoad: one KeepAlive client shared by
// goroutines, over TCP and UDP: every answer is the one asked for.
func TestKeptConnectionsUnderLoad(t *testing.T) {
	n := handleNode(t)
	for _, udp := range []bool{false, true} {
		c := &handleclient.Client{Addr: n.HandleAddr(), UDP: udp, KeepAlive: true}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 40 {
					id, want := "88.100/PUMP-0042", handlewire.RCSuccess
					if (g+i)%2 == 1 {
						id, want = "88.100/nope", handlewire.RCHandleNotFound
					}
					a, err := c.Resolve(context.Background(), id, nil, nil)
					if err == nil && a.RC != want {
						err = &handleclient.RCError{RC: a.RC, Message: "answer to " + id}
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		c.Close()
		close(errs)
		for err := range errs {
			t.Errorf("udp=%v: %v", udp, err)
		}
	}
}
