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

func TestDNSNameCommand(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"LDH suffix", []string{"dnsname", "88.100.1/Part-42"}, exitOK, "part-42._id.1.100.88.id.example.\n", ""},
		{"encoded suffix", []string{"dnsname", "88.100.1/Part 42"}, exitOK, "ie--e1gn4t106gp0._id.1.100.88.id.example.\n", ""},
		{"other zone", []string{"dnsname", "--zone", "Handles.Test", "88/x"}, exitOK, "x._id.88.handles.test.\n", ""},
		{"reverse identifier", []string{"dnsname", "--reverse", "ie--e1gn4t106gp0._id.1.100.88.id.example."}, exitOK, "88.100.1/part 42\n", ""},
		{"reverse is case-insensitive", []string{"dnsname", "--reverse", "PART-42._id.1.100.88.ID.example"}, exitOK, "88.100.1/part-42\n", ""},
		{"reverse prefix name gives the prefix handle", []string{"dnsname", "--reverse", "100.88.id.example."}, exitOK, "0.NA/88.100\n", ""},
		{"reverse apex", []string{"dnsname", "--reverse", "id.example."}, exitNegative, "", "zone apex"},
		{"reverse outside the zone", []string{"dnsname", "--reverse", "x._id.88.example.org."}, exitNegative, "", "not in zone"},
		{"too long for DNS", []string{"dnsname", "88/" + strings.Repeat("\u00e9", 120)}, exitNegative, "", "longer than 255 octets"},
		{"invalid identifier", []string{"dnsname", "no-slash"}, exitUsage, "", "invalid identifier"},
		{"no argument", []string{"dnsname"}, exitUsage, "", "exactly one argument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, nil, tc.args...)
			if code != tc.wantCode || out != tc.wantOut || !strings.Contains(errOut, tc.wantErr) {
				t.Fatalf("idres %s: code %d, stdout %q, stderr %q; want %d, %q, stderr with %q",
					strings.Join(tc.args, " "), code, out, errOut, tc.wantCode, tc.wantOut, tc.wantErr)
			}
		})
	}
}

// TestExportZonefile reads a stopped node's data directory and writes a
// zone file that parses, with SOA, NS, glue and the public values only.
func TestExportZonefile(t *testing.T) {
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
		code, _, errOut := runCLI(t, nil, "export", "--zonefile", "id.example.", "--data", dir)
		if code != exitNegative || !strings.Contains(errOut, "stop the node") {
			t.Fatalf("code %d, stderr %q", code, errOut)
		}
	})
	st.Close()

	out := filepath.Join(t.TempDir(), "zone.db")
	code, _, errOut := runCLI(t, nil, "export", "--zonefile", "id.example.", "--data", dir, "--dns", "127.0.0.13:53", "-o", out)
	if code != exitOK {
		t.Fatalf("export: code %d: %s", code, errOut)
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
