package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestFilterZone(t *testing.T) {
	zone := "; zone 100.88.id.example.: prefix \"88.100\", serial 3\n" +
		"$ORIGIN 100.88.id.example.\n" +
		"100.88.id.example.\t3600\tIN\tSOA\tns1.100.88.id.example. h.100.88.id.example. 3 3600 600 1209600 3600\n" +
		"100.88.id.example.\t86400\tIN\tTXT\t\"1 IDRES_DNS 127.0.0.1:53\"\n" +
		"item-0._id.100.88.id.example.\t86400\tIN\tTXT\t\"1 URL https://a/0\"\n" +
		"item-0._id.100.88.id.example.\t86400\tIN\tURI\t1 1 \"https://a/0\"\n" +
		"item-1._id.100.88.id.example.\t86400\tIN\tTXT\t\"1 URL https://a/1\"\n" +
		"Item-2._id.100.88.id.example.\t86400\tIN\tTXT\t\"1 URL https://a/2\"\n" +
		"; not reachable through DNS: item-3._id. too long\n"
	for _, tc := range []struct {
		name     string
		keep     []string
		wantKept int
		want     []string // identifier owners left
	}{
		{"none", nil, 0, nil},
		{"one, several records", []string{"item-0._id.100.88.id.example."}, 1, []string{"item-0", "item-0"}},
		{"case folded", []string{"item-2._id.100.88.id.example.", "item-1._id.100.88.id.example."}, 2, []string{"item-1", "Item-2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keep := map[string]bool{}
			for _, k := range tc.keep {
				keep[k] = true
			}
			var out strings.Builder
			kept, err := filterZone(&out, strings.NewReader(zone), keep)
			if err != nil {
				t.Fatal(err)
			}
			if kept != tc.wantKept {
				t.Errorf("kept %d identifiers, want %d", kept, tc.wantKept)
			}
			var owners []string
			for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				if o, _, _ := strings.Cut(l, "."); strings.Contains(l, "._id.") && !strings.HasPrefix(l, ";") {
					owners = append(owners, o)
				}
			}
			if strings.Join(owners, ",") != strings.Join(tc.want, ",") {
				t.Errorf("identifier records of %v, want %v", owners, tc.want)
			}
			for _, l := range []string{"$ORIGIN 100.88.id.example.", "IN\tSOA", "IDRES_DNS", "; not reachable"} {
				if !strings.Contains(out.String(), l) {
					t.Errorf("zone's own line %q dropped", l)
				}
			}
		})
	}
}

func TestDNSQueryFileCap(t *testing.T) {
	dir := t.TempDir()
	q := filepath.Join(dir, "queries.txt")
	os.WriteFile(q, []byte("a. TXT\nb. TXT\nc. TXT\n"), 0o644)
	for _, tc := range []struct {
		n, cap int
		want   string
	}{{3, 10, "a. TXT\nb. TXT\nc. TXT\n"}, {3, 2, "a. TXT\nb. TXT\n"}, {3, 0, "a. TXT\nb. TXT\nc. TXT\n"}} {
		r := &runner{n: tc.n, dnsIDs: tc.cap, work: dir}
		name, err := r.dnsQueryFile(q)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(name); string(b) != tc.want {
			t.Errorf("n %d cap %d: query file %q, want %q", tc.n, tc.cap, b, tc.want)
		}
		if capped := name != q; capped != (len(r.notes) > 0) {
			t.Errorf("n %d cap %d: capped %v but notes %v", tc.n, tc.cap, capped, r.notes)
		}
	}
}

func TestProcMem(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	m, err := procMem(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if m.RSSKiB <= 0 || m.HWMKiB < m.RSSKiB || m.AnonKiB+m.FileKiB > m.RSSKiB {
		t.Errorf("VmRSS %d KiB, VmHWM %d KiB, anon %d + file %d: want 0 < RSS <= HWM, anon+file <= RSS", m.RSSKiB, m.HWMKiB, m.AnonKiB, m.FileKiB)
	}
	if minor, _, err := pageFaults(cmd.Process.Pid); err != nil || minor <= 0 {
		t.Errorf("page faults of sleep: minor %d, %v (a started process has faulted its pages in)", minor, err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if _, err := procMem(cmd.Process.Pid); err == nil {
		t.Error("no error for an ended process")
	}
}

// TestPageFaultsAgreeWithRusage reads this process's fault counts from
// /proc between two getrusage calls, an independent source of the same
// counters: each must lie between the two, so a field read from the
// wrong column of /proc/<pid>/stat fails.
func TestPageFaultsAgreeWithRusage(t *testing.T) {
	var before, after syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &before); err != nil {
		t.Fatal(err)
	}
	minor, major, err := pageFaults(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &after); err != nil {
		t.Fatal(err)
	}
	if minor < before.Minflt || minor > after.Minflt {
		t.Errorf("minor faults %d, getrusage says between %d and %d", minor, before.Minflt, after.Minflt)
	}
	if major < before.Majflt || major > after.Majflt {
		t.Errorf("major faults %d, getrusage says between %d and %d", major, before.Majflt, after.Majflt)
	}
	if minor <= 0 {
		t.Errorf("minor faults %d: a running Go test binary has faulted pages in", minor)
	}
}
