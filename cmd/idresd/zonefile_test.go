package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
)

// TestZonefile: `idresd zonefile` reads a stopped node's data directory and writes a
// zone file that parses, with SOA, NS, glue and the public values only.
func TestZonefile(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(func(tx *store.Tx) error {
		if err := tx.CreatePrefix(&idresv1.Prefix{Prefix: "88.100"}); err != nil {
			return err
		}
		if err := tx.PutDelegation(&idresv1.Delegation{Prefix: "88.100.1", Dns: []string{"127.0.0.14"}, Grpc: []string{"127.0.0.14:7420"}}); err != nil {
			return err
		}
		return tx.CreateIdentifier(ident.MustParse("88.100/demo"), &idresv1.Identifier{Values: []*idresv1.Value{
			{Index: 1, Type: "URL", Data: []byte("https://x.example/demo"), Ttl: proto.Uint32(60), PublicRead: proto.Bool(true)},
			{Index: 2, Type: "cost", Data: []byte("secret price"), PublicRead: proto.Bool(false)},
		}})
	})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("locked by a running node", func(t *testing.T) {
		if code := run([]string{"zonefile", "--zone", "id.example.", "--data", dir}); code != 1 {
			t.Fatalf("zonefile on a locked store: exit %d, want 1", code)
		}
	})
	st.Close()

	out := filepath.Join(t.TempDir(), "zone.db")
	if code := run([]string{"zonefile", "--zone", "id.example.", "--data", dir, "--dns", "127.0.0.13:53", "-o", out}); code != 0 {
		t.Fatalf("zonefile: exit %d", code)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	var got []string
	zp := dns.NewZoneParser(strings.NewReader(text), "", out)
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		got = append(got, strings.Join(strings.Fields(rr.String()), " "))
	}
	if err := zp.Err(); err != nil {
		t.Fatalf("zone file does not parse: %v\n%s", err, text)
	}
	for _, want := range []string{
		"100.88.id.example. 3600 IN SOA ns1.100.88.id.example. hostmaster.100.88.id.example.",
		"100.88.id.example. 86400 IN NS ns1.100.88.id.example.",
		"ns1.100.88.id.example. 86400 IN A 127.0.0.13",
		"1.100.88.id.example. 86400 IN NS ns1.1.100.88.id.example.",
		"ns1.1.100.88.id.example. 86400 IN A 127.0.0.14",
		`demo._id.100.88.id.example. 60 IN TXT "1 URL https://x.example/demo"`,
		`demo._id.100.88.id.example. 60 IN URI 1 1 "https://x.example/demo"`,
	} {
		found := false
		for _, g := range got {
			found = found || strings.HasPrefix(g, want)
		}
		if !found {
			t.Errorf("zone file lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "secret price") {
		t.Errorf("private value exported:\n%s", text)
	}
}

// TestZonefileRefusesMissingData: a mistyped --data is an error, and
// nothing is created there.
func TestZonefileRefusesMissingData(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nope")
	if code := run([]string{"zonefile", "--zone", "id.example.", "--data", dir}); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("%s exists after the refusal: %v", dir, err)
	}
}
