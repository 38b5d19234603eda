package dnsbridge

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/resolver/answer"
)

const testZone = "id.example."

// longID has a suffix whose name takes three labels.
var longID = "88.100/" + strings.Repeat("号", 35)

// bigText is longer than any UDP answer the bridge sends.
var bigText = strings.Repeat("0123456789", 300)

// testBridge is a bridge on 127.0.0.1:0 over a real store.
type testBridge struct {
	store *store.Store
	h     *Handler
	srv   *Server
	addr  string
	logs  *strings.Builder
}

func val(i uint32, typ, data string, ttl uint32, public bool) *idresv1.Value {
	return &idresv1.Value{Index: i, Type: typ, Data: []byte(data), Ttl: proto.Uint32(ttl), PublicRead: proto.Bool(public)}
}

// fixture fills a store with the zone 88.100 and delegations below it.
func fixture(t testing.TB, st *store.Store) {
	t.Helper()
	err := st.Update(func(tx *store.Tx) error {
		if err := tx.CreatePrefix(&idresv1.Prefix{Prefix: "88.100", NegativeTtl: proto.Uint32(600)}); err != nil {
			return err
		}
		if err := tx.CreatePrefix(&idresv1.Prefix{Prefix: "99"}); err != nil {
			return err
		}
		ids := map[string][]*idresv1.Value{
			"88.100/Part-42": {
				val(1, "URL", "https://example.com/p/42", 300, true),
				val(2, "manufacturer", `ACME "Tools" \ Co`, 600, true),
				val(3, "secret", "only for registrars", 60, false),
				{Index: 4, Type: "blob", Data: []byte{0xff, 0x00, 0x01}, Ttl: proto.Uint32(600), PublicRead: proto.Bool(true)},
				val(5, "url", "http://b.example/x!y", 300, true),
			},
			"88.100/产品 编号":  {val(1, "name", "产品", 120, true)},
			"88.100/big":    {val(1, "doc", bigText, 60, true)},
			"88.100/hidden": {val(1, "secret", "x", 60, false)},
			longID:          {val(1, "name", "long", 60, true)},
		}
		for s, vals := range ids {
			if err := tx.CreateIdentifier(ident.MustParse(s), &idresv1.Identifier{Values: vals}); err != nil {
				return err
			}
		}
		for _, d := range []*idresv1.Delegation{
			{Prefix: "88.100.1", Dns: []string{"127.0.0.12:53", "[::1]:53"}, Grpc: []string{"127.0.0.12:7420"}, Ttl: proto.Uint32(7200)},
			{Prefix: "88.100.2", Dns: []string{"127.0.0.13:5353"}, Grpc: []string{"127.0.0.13:7420"}},
			{Prefix: "88.100.3", Grpc: []string{"127.0.0.14:7420"}, Ttl: proto.Uint32(900)},
			{Prefix: "88.100.4.5", Dns: []string{"ns.other.example"}, Grpc: []string{"127.0.0.15:7420"}},
		} {
			if err := tx.PutDelegation(d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
}

func startBridge(t testing.TB) *testBridge {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fixture(t, st)
	srv, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &strings.Builder{}
	auth := &answer.Authority{Store: st, Self: &idresv1.Delegation{Dns: []string{srv.Addr()}, Grpc: []string{"127.0.0.1:7420"}}}
	h, err := New(Config{
		Zone: "ID.Example", Resolver: auth, Logger: slog.New(slog.NewTextHandler(&lockedWriter{b: logs}, nil)),
	})
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
	return &testBridge{store: st, h: h, srv: srv, addr: srv.Addr(), logs: logs}
}

func (b *testBridge) serial(t testing.TB) uint32 {
	rev, err := b.store.Revision()
	if err != nil {
		t.Fatal(err)
	}
	return uint32(rev)
}

// exchange sends one question over net ("udp" or "tcp"), with EDNS0 size
// edns when > 0.
func exchange(t testing.TB, addr, network, name string, qtype uint16, edns uint16) *dns.Msg {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	q.RecursionDesired = false
	if edns > 0 {
		q.SetEdns0(edns, false)
	}
	c := &dns.Client{Net: network, Timeout: 5 * time.Second, UDPSize: 65535}
	r, _, err := c.Exchange(q, addr)
	if err != nil {
		t.Fatalf("%s %s %s: %v", network, name, dns.TypeToString[qtype], err)
	}
	if r.Id != q.Id {
		t.Fatalf("reply id %d, want %d", r.Id, q.Id)
	}
	return r
}

func rrStrings(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeOPT {
			continue
		}
		out = append(out, rr.String())
	}
	return out
}

type lockedWriter struct {
	b *strings.Builder
}

var logMu = make(chan struct{}, 1)

func (w *lockedWriter) Write(p []byte) (int, error) {
	logMu <- struct{}{}
	defer func() { <-logMu }()
	return w.b.Write(p)
}

func (w *testBridge) logText() string {
	logMu <- struct{}{}
	defer func() { <-logMu }()
	return w.logs.String()
}

func udpConn(t testing.TB, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func soaLine(apex string, serial uint32, neg uint32) string {
	return fmt.Sprintf("%s\t%d\tIN\tSOA\tns1.%s hostmaster.%s %d 3600 600 1209600 %d", apex, neg, apex, apex, serial, neg)
}
