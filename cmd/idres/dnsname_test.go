package main

import (
	"strings"
	"testing"
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

// TestExportZonefileMoved: the zone file moved to idresd, and the old
// flag says where.
func TestExportZonefileMoved(t *testing.T) {
	code, _, errOut := runCLI(t, nil, "export", "--zonefile", "id.example.", "--data", t.TempDir())
	if code != exitUsage || !strings.Contains(errOut, "idresd zonefile") {
		t.Fatalf("code %d, stderr %q; want usage error naming idresd zonefile", code, errOut)
	}
}
