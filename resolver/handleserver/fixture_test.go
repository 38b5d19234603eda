package handleserver

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/resolver/answer"
	"github.com/idres/idres/resolver/handlewire"
)

// testNow is the handler's clock in the tests of the pure handler.
var testNow = time.Unix(1_750_000_000, 0)

// bigText makes an answer larger than one UDP datagram.
var bigText = strings.Repeat("0123456789", 60)

func val(i uint32, typ, data string, ttl uint32, public bool) *idresv1.Value {
	return &idresv1.Value{Index: i, Type: typ, Data: []byte(data), Ttl: proto.Uint32(ttl), PublicRead: proto.Bool(public)}
}

// childHandle is the Handle address of the node 88.100.1 is delegated to.
const childHandle = "127.0.0.9:2641"

// fixture fills a store with the zone 88.100: identifiers with public and
// private values, a tombstone, one answer too large for UDP and one too
// large for the protocol, and the child 88.100.1 delegated with a Handle
// address.
func fixture(t testing.TB, st *store.Store) {
	t.Helper()
	huge := make([]*idresv1.Value, 5)
	for i := range huge {
		huge[i] = &idresv1.Value{Index: uint32(i + 1), Type: "blob", Data: make([]byte, 60_000), PublicRead: proto.Bool(true)}
	}
	err := st.Update(func(tx *store.Tx) error {
		if err := tx.CreatePrefix(&idresv1.Prefix{Prefix: "88.100", NegativeTtl: proto.Uint32(600)}); err != nil {
			return err
		}
		ids := map[string][]*idresv1.Value{
			"88.100/PUMP-0042": {
				val(1, "URL", "https://example.com/p/42", 300, true),
				val(2, "name", "pump", 600, true),
				val(3, "secret", "only for registrars", 60, false),
				val(4, "URL.meta", "https://example.com/p/42.json", 300, true),
			},
			"88.100/hidden": {val(1, "secret", "x", 60, false)},
			"88.100/big":    {val(1, "doc", bigText, 60, true)},
			"88.100/huge":   huge,
		}
		for s, vals := range ids {
			if err := tx.CreateIdentifier(ident.MustParse(s), &idresv1.Identifier{Values: vals}); err != nil {
				return err
			}
		}
		if err := tx.PutTombstone(ident.MustParse("88.100/old").Key(), &idresv1.Tombstone{
			Identifier: "88.100/old", Reason: "replaced", Successor: "88.100/new",
		}); err != nil {
			return err
		}
		return tx.PutDelegation(&idresv1.Delegation{Prefix: "88.100.1", Grpc: []string{"127.0.0.9:7420"}, Handle: []string{childHandle}, Ttl: proto.Uint32(7200)})
	})
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
}

// testSite is the HS_SITE the test handlers serve for OC_GET_SITEINFO.
var testSite = handlewire.ResolutionSite(netip.MustParseAddrPort("127.0.0.1:2641"), 3, nil, "idres test")

// newHandler is a handler over a real store holding the fixture.
func newHandler(t testing.TB, cfg Config) *Handler {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fixture(t, st)
	cfg.Resolver = &answer.Authority{Store: st, Self: &idresv1.Delegation{Grpc: []string{"127.0.0.1:7420"}}}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return testNow }
	}
	if cfg.Site == nil {
		cfg.Site = &testSite
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// startServer serves h on 127.0.0.1:0 until the test ends.
func startServer(t testing.TB, h *Handler) *Server {
	t.Helper()
	srv, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve(h)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return srv
}

// request encodes a request as hdllib sends one.
type request struct {
	version   handlewire.Version
	op        uint32
	flags     uint32
	requestID uint32
	sessionID uint32
	body      []byte
}

func resolution(handle string, types []string, indexes ...uint32) []byte {
	q := handlewire.ResolutionRequest{Handle: []byte(handle), Indexes: indexes}
	for _, t := range types {
		q.Types = append(q.Types, []byte(t))
	}
	return q.Append(nil)
}

func (r request) encode() []byte {
	if r.version == (handlewire.Version{}) {
		r.version = handlewire.Latest
	}
	if r.op == 0 {
		r.op = handlewire.OpResolution
	}
	return handlewire.AppendFrame(nil, &handlewire.Frame{
		Envelope: handlewire.Envelope{Version: r.version, RequestID: r.requestID, SessionID: r.sessionID},
		Header:   handlewire.Header{OpCode: r.op, OpFlags: r.flags, Expiration: uint32(testNow.Unix())},
		Body:     r.body,
	})
}

// response is a decoded response.
type response struct {
	env    handlewire.Envelope
	msg    handlewire.Message
	digest []byte
	body   []byte
}

func decodeResponse(t testing.TB, raw []byte) response {
	t.Helper()
	env, err := handlewire.DecodeEnvelope(raw)
	if err != nil {
		t.Fatalf("response envelope: %v (%x)", err, raw)
	}
	if int(env.MessageLength) != len(raw)-handlewire.EnvelopeSize {
		t.Fatalf("envelope announces %d bytes, %d follow", env.MessageLength, len(raw)-handlewire.EnvelopeSize)
	}
	m, err := handlewire.DecodeMessage(raw[handlewire.EnvelopeSize:])
	if err != nil {
		t.Fatalf("response message: %v", err)
	}
	digest, body, err := handlewire.SplitDigest(&m)
	if err != nil {
		t.Fatalf("response digest: %v", err)
	}
	return response{env: env, msg: m, digest: digest, body: body}
}

// v is the protocol version major.minor.
func v(major, minor uint8) handlewire.Version {
	return handlewire.Version{Major: major, Minor: minor}
}
