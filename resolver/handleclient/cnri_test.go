package handleclient_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idres/idres/resolver/handleclient"
	"github.com/idres/idres/resolver/handlewire"
)

// TestAgainstCNRIServer resolves from CNRI's own HANDLE.NET 7.3.1 server
// (the jar in ../shared/handle-client, set up and loaded by make bench's
// cnri-handle.sh): answers, filters, both denials, UDP, site information
// and a DSA-signed answer checked with the site's key. It is the other
// side of the server tests, which run CNRI's client against idres.
func TestAgainstCNRIServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts CNRI's server (about 10 s)")
	}
	lib := cnriLib(t)
	script, err := filepath.Abs(filepath.Join("..", "..", "cmd", "idres-bench-ref", "cnri-handle.sh"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", append([]string{script}, args...)...)
		cmd.Env = append(os.Environ(), "HANDLE_LIB="+lib, "LOAD_JOBS=1")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("cnri-handle.sh %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
		}
		return strings.TrimSpace(out.String())
	}
	start := func(admin bool) {
		args := []string{"start", dir}
		if admin {
			args = append(args, "--admin")
		}
		pid := run(args...)
		if _, err := strconv.Atoi(pid); err != nil {
			t.Fatalf("start printed %q, want a PID", pid)
		}
		stopped := false
		t.Cleanup(func() {
			if !stopped {
				run("stop", pid)
			}
		})
		if admin {
			data := filepath.Join(dir, "data.jsonl")
			var b strings.Builder
			for i := range 3 {
				fmt.Fprintf(&b, `{"identifier":"88.100/item-%d","values":[{"index":1,"type":"URL","data":"https://example.com/%d"},{"index":2,"type":"batch","data":"B-%d"}]}`+"\n", i, i, i)
			}
			if err := os.WriteFile(data, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			if out := run("load", dir, data, "3"); !strings.Contains(out, `"loaded":3`) {
				t.Fatalf("load: %s", out)
			}
			run("stop", pid)
			stopped = true
		}
	}
	port := freePort(t)
	run("setup", dir, strconv.Itoa(port))
	start(true)
	start(false)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	ctx := context.Background()
	for _, udp := range []bool{false, true} {
		c := &handleclient.Client{Addr: addr, UDP: udp, Timeout: 5 * time.Second}
		a, err := c.Resolve(ctx, "88.100/item-1", []string{"batch"}, nil)
		if err != nil {
			t.Fatalf("udp=%v: %v", udp, err)
		}
		if a.RC != handlewire.RCSuccess || len(a.Values) != 1 || string(a.Values[0].Data) != "B-1" || a.Values[0].Index != 2 {
			t.Fatalf("udp=%v: rc %d values %+v", udp, a.RC, a.Values)
		}
	}
	c := &handleclient.Client{Addr: addr, Timeout: 5 * time.Second}
	for _, tc := range []struct {
		handle string
		rc     uint32
	}{
		{"88.100/item-2", handlewire.RCSuccess},
		{"88.100/nope", handlewire.RCHandleNotFound},
		{"99/x", handlewire.RCServerNotResponsible}, // what idres answers for a prefix under no zone of its own
	} {
		a, err := c.Resolve(ctx, tc.handle, nil, nil)
		if err != nil || a.RC != tc.rc {
			t.Errorf("%s: rc %v (%v), want %d", tc.handle, a, err, tc.rc)
		}
	}
	site, err := c.SiteInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(site.Servers) != 1 || site.Servers[0].Address.String() != "127.0.0.1" {
		t.Fatalf("site %+v", site)
	}
	signed := &handleclient.Client{Addr: addr, Certify: true, Timeout: 5 * time.Second}
	a, err := signed.Resolve(ctx, "88.100/item-0", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Verify(handleclient.SiteKey(&site)); err != nil {
		t.Fatalf("CNRI's signature does not verify with its site's key: %v", err)
	}
}

// cnriLib is the directory of CNRI's jars: skipped without Java, Perl's
// JSON::PP (the loader) or the client directory outside CI, failed in CI,
// where .ci/run installs them.
func cnriLib(t *testing.T) string {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format, args...)
	}
	if _, err := exec.LookPath("java"); err != nil {
		missing("java is missing (Debian: openjdk-17-jre-headless)")
	}
	if err := exec.Command("perl", "-MJSON::PP", "-e1").Run(); err != nil {
		missing("perl with JSON::PP is missing (Debian: perl): %v", err)
	}
	dir := os.Getenv("IDRES_HANDLE_CLIENT")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "handle-client")
	}
	lib, err := filepath.Abs(filepath.Join(dir, "lib"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(lib, "handle.jar")); err != nil {
		missing("CNRI's jars are missing (%v); set IDRES_HANDLE_CLIENT to the handle-client directory", err)
	}
	return lib
}

// freePort is a port free for TCP and UDP on 127.0.0.1 (CNRI's server
// takes a port number, not 0).
func freePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", l.Addr().String())
		l.Close()
		if err == nil {
			pc.Close()
			return port
		}
	}
	t.Fatal("no port free for both TCP and UDP")
	return 0
}
