package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The end-to-end test builds the real idres and idresd binaries, starts
// idresd on a loopback port, and drives it only through idres commands,
// checking their output and exit codes.

// built holds the binaries built once per test process (see buildBinaries);
// TestMain removes them.
var built struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// buildBinaries builds idres and idresd from this module, once per test
// process, and returns their paths. Any test of the package that needs the
// real binaries may call it.
func buildBinaries(t *testing.T) (idres, idresd string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds binaries; skipped with -short")
	}
	built.once.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		if built.dir, built.err = os.MkdirTemp("", "idres-e2e-bin-"); built.err != nil {
			return
		}
		cmd := exec.Command(goBin, "build", "-o", built.dir+string(filepath.Separator),
			"github.com/idres/idres/cmd/idres", "github.com/idres/idres/cmd/idresd")
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return filepath.Join(built.dir, "idres"), filepath.Join(built.dir, "idresd")
}

// daemon is a running idresd.
type daemon struct {
	cmd    *exec.Cmd
	addr   string
	stderr *bytes.Buffer
	done   chan struct{} // closed when the process has exited
	err    error         // its Wait error, valid after done
}

// startDaemon starts idresd in dir with --data idres-data on a free
// loopback port and waits for its ready file.
func startDaemon(t *testing.T, idresd, dir string) *daemon {
	t.Helper()
	ready := filepath.Join(dir, "ready.json")
	os.Remove(ready)
	d := &daemon{stderr: &bytes.Buffer{}, done: make(chan struct{})}
	d.cmd = exec.Command(idresd, "--data", "idres-data", "--grpc", "127.0.0.1:0", "--ready-file", ready)
	d.cmd.Dir = dir
	d.cmd.Stderr = d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start idresd: %v", err)
	}
	go func() { d.err = d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() { d.stop(t) })
	deadline := time.After(60 * time.Second)
	for {
		if raw, err := os.ReadFile(ready); err == nil {
			var eps map[string]string
			if err := json.Unmarshal(raw, &eps); err != nil || eps["grpc"] == "" {
				t.Fatalf("ready file %q: %v", raw, err)
			}
			d.addr = eps["grpc"]
			return d
		}
		select {
		case <-d.done:
			t.Fatalf("idresd exited before it was ready: %v\n%s", d.err, d.stderr)
		case <-deadline:
			t.Fatalf("idresd not ready after 60s\n%s", d.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM to the daemon's PID and waits for it to exit; it
// returns the exit error (nil for status 0).
func (d *daemon) stop(t *testing.T) error {
	select {
	case <-d.done:
		return d.err
	default:
	}
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM idresd pid %d: %v", d.cmd.Process.Pid, err)
	}
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
		t.Errorf("idresd pid %d ignored SIGTERM for 30s; killed\n%s", d.cmd.Process.Pid, d.stderr)
	}
	return d.err
}

// cli runs idres commands against one node from one directory.
type cli struct {
	t      *testing.T
	bin    string
	dir    string
	server string
}

type result struct {
	code           int
	stdout, stderr string
}

func (c *cli) run(args ...string) result {
	c.t.Helper()
	cmd := exec.Command(c.bin, append([]string{"--server", c.server}, args...)...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "IDRES_TOKEN=", "IDRES_SERVER=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exitErr *exec.ExitError
	r := result{stdout: out.String(), stderr: errb.String()}
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		r.code = exitErr.ExitCode()
	default:
		c.t.Fatalf("run idres %q: %v", args, err)
	}
	return r
}

// expect runs args and checks the exit code and that stdout matches every
// pattern (regular expressions, multi-line mode).
func (c *cli) expect(wantCode int, args []string, patterns ...string) result {
	c.t.Helper()
	r := c.run(args...)
	if r.code != wantCode {
		c.t.Errorf("idres %s: exit %d, want %d\nstdout:\n%sstderr:\n%s", strings.Join(args, " "), r.code, wantCode, r.stdout, r.stderr)
	}
	for _, p := range patterns {
		if !regexp.MustCompile("(?m)" + p).MatchString(r.stdout) {
			c.t.Errorf("idres %s: stdout does not match %q:\n%s", strings.Join(args, " "), p, r.stdout)
		}
	}
	return r
}

// expectErr runs args and checks the exit code and the one-line error.
func (c *cli) expectErr(wantCode int, args []string, wantStderr string) {
	c.t.Helper()
	r := c.run(args...)
	if r.code != wantCode {
		c.t.Errorf("idres %s: exit %d, want %d\nstderr:\n%s", strings.Join(args, " "), r.code, wantCode, r.stderr)
	}
	if !strings.HasPrefix(r.stderr, "idres: ") || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, wantStderr) {
		c.t.Errorf("idres %s: stderr %q, want one line \"idres: ...%s...\"", strings.Join(args, " "), r.stderr, wantStderr)
	}
}

func TestEndToEnd(t *testing.T) {
	idres, idresd := buildBinaries(t)
	dir := t.TempDir()
	d := startDaemon(t, idresd, dir)
	// The token is found as ./idres-data/admin.token, the CLI's last resort.
	c := &cli{t: t, bin: idres, dir: dir, server: d.addr}
	const pump = "88.100.1/PUMP-0042"

	t.Run("register", func(t *testing.T) {
		c.t = t
		c.expect(0, []string{"prefix", "create", "88.100.1", "--negative-ttl", "300"}, `^created prefix 88\.100\.1 \(negative ttl 300\)$`)
		c.expect(0, []string{"create", pump, "URL=https://parts.example.com/PUMP-0042", "manufacturer=ACME Pumps GmbH", "5:batch=B-2026-117", "--ttl", "600"},
			`^;; 88\.100\.1/PUMP-0042: 3 values, created `,
			`^1\s+URL\s+600\s+https://parts\.example\.com/PUMP-0042$`,
			`^2\s+manufacturer\s+600\s+ACME Pumps GmbH$`,
			`^5\s+batch\s+600\s+B-2026-117$`)
		c.expectErr(1, []string{"create", pump, "a=b"}, "AlreadyExists: identifier \"88.100.1/PUMP-0042\": already exists")
		c.expectErr(1, []string{"create", "77.1/x", "a=b"}, "NotFound")
		c.expectErr(2, []string{"create", "88.100.1/x", "HS_ADMIN=x"}, "InvalidArgument")
	})

	t.Run("resolve", func(t *testing.T) {
		c.t = t
		c.expect(0, []string{"resolve", "88.100.1/pump-0042"}, // case-insensitive lookup, registrant's spelling back
			`^;; 88\.100\.1/PUMP-0042: OK, authoritative, ttl 600, zone 88\.100\.1, 3 values$`,
			`^1\s+URL\s+600\s+https://parts\.example\.com/PUMP-0042$`)
		c.expect(0, []string{"resolve", pump, "--type", "batch"}, `^;; .*: OK, .*1 value$`, `^5\s+batch`)
		c.expect(0, []string{"resolve", "--index", "2", pump}, `^2\s+manufacturer\s+600\s+ACME Pumps GmbH$`)
		c.expect(1, []string{"resolve", pump, "--type", "EMAIL"}, `^;; 88\.100\.1/PUMP-0042: VALUES_NOT_FOUND, authoritative, ttl 300`)
		c.expect(1, []string{"resolve", "88.100.1/NOPE"}, `^;; 88\.100\.1/NOPE: NOT_FOUND, authoritative, ttl 300, zone 88\.100\.1$`)
		c.expect(1, []string{"resolve", "99.1/x"}, `^;; 99\.1/x: PREFIX_NOT_FOUND, not authoritative`)
		c.expect(2, []string{"resolve", "88..1/x"}, `^;; 88\.\.1/x: INVALID_IDENTIFIER`, `^;; .*prefix at byte \d+`)
	})

	t.Run("json", func(t *testing.T) {
		c.t = t
		r := c.expect(0, []string{"resolve", pump, "--json"})
		var resp struct {
			Outcome       string `json:"outcome"`
			Identifier    string `json:"identifier"`
			Authoritative bool   `json:"authoritative"`
			TTL           uint32 `json:"ttl"`
			Zone          string `json:"zone"`
			Values        []struct {
				Index      uint32 `json:"index"`
				Type       string `json:"type"`
				Data       string `json:"data"`
				TTL        uint32 `json:"ttl"`
				Timestamp  string `json:"timestamp"`
				PublicRead bool   `json:"publicRead"`
			} `json:"values"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &resp); err != nil {
			t.Fatalf("resolve --json: %v\n%s", err, r.stdout)
		}
		if resp.Outcome != "OUTCOME_OK" || resp.Identifier != pump || !resp.Authoritative || resp.TTL != 600 || resp.Zone != "88.100.1" || len(resp.Values) != 3 {
			t.Fatalf("resolve --json = %+v", resp)
		}
		v := resp.Values[0]
		data, _ := base64.StdEncoding.DecodeString(v.Data)
		if v.Index != 1 || v.Type != "URL" || string(data) != "https://parts.example.com/PUMP-0042" || v.TTL != 600 || !v.PublicRead || v.Timestamp == "" {
			t.Errorf("value 1 = %+v (data %q)", v, data)
		}
		// Negative outcomes are JSON too, with the same exit codes.
		r = c.expect(1, []string{"--json", "resolve", "88.100.1/NOPE"}, `"outcome": "OUTCOME_NOT_FOUND"`)
		if !json.Valid([]byte(r.stdout)) {
			t.Errorf("not JSON: %s", r.stdout)
		}
		c.expect(0, []string{"prefix", "get", "88.100.1", "--json"}, `"negativeTtl": 300`, `"identifierCount": "1"`)
	})

	t.Run("update", func(t *testing.T) {
		c.t = t
		c.expect(0, []string{"set", pump, "2:manufacturer=ACME Pumps AG", "7:production_date=2026-03-14"},
			`^2\s+manufacturer\s+86400\s+ACME Pumps AG$`, `^7\s+production_date\s+86400\s+2026-03-14$`, `^5\s+batch`)
		c.expect(0, []string{"rm-value", pump, "5"}, `^;; 88\.100\.1/PUMP-0042: 3 values`)
		c.expectErr(1, []string{"rm-value", pump, "5"}, "NotFound: index 5")
		r := c.expect(0, []string{"get", pump}, `^1\s+URL`, `^2\s+manufacturer\s+86400\s+ACME Pumps AG$`, `^7\s+production_date`)
		if strings.Contains(r.stdout, "batch") {
			t.Errorf("removed value still there:\n%s", r.stdout)
		}
	})

	t.Run("list", func(t *testing.T) {
		c.t = t
		for _, s := range []string{"VALVE-0007", "MOTOR-0100", "MOTOR-0101", "MOTOR-0102"} {
			c.expect(0, []string{"create", "88.100.1/" + s, "URL=https://parts.example.com/" + s})
		}
		r := c.expect(0, []string{"list", "88.100.1", "--page-size", "2"}, `^88\.100\.1/MOTOR-0100\s+1\s`, `^88\.100\.1/MOTOR-0101\s+1\s`, `^;; more: --page-token (\S+) \(or --all\)$`)
		tok := regexp.MustCompile(`--page-token (\S+)`).FindStringSubmatch(r.stdout)
		if tok == nil {
			t.Fatal("no page token")
		}
		r = c.expect(0, []string{"list", "88.100.1", "--page-size", "2", "--page-token", tok[1]}, `^88\.100\.1/MOTOR-0102\s`, `^88\.100\.1/PUMP-0042\s+3\s`)
		if strings.Contains(r.stdout, "MOTOR-0100") {
			t.Errorf("second page repeats the first:\n%s", r.stdout)
		}
		r = c.expect(0, []string{"list", "88.100.1", "--page-size", "2", "--all"}, `^88\.100\.1/VALVE-0007\s`)
		if n := strings.Count(r.stdout, "88.100.1/"); n != 5 || strings.Contains(r.stdout, ";; more") {
			t.Errorf("list --all listed %d identifiers:\n%s", n, r.stdout)
		}
		r = c.expect(0, []string{"list", "88.100.1", "--all", "--page-size", "2", "--json"})
		var lr struct {
			Identifiers []struct {
				Identifier string `json:"identifier"`
			} `json:"identifiers"`
			NextPageToken string `json:"nextPageToken"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &lr); err != nil || len(lr.Identifiers) != 5 || lr.NextPageToken != "" {
			t.Errorf("list --all --json = %+v, %v", lr, err)
		}
		c.expectErr(2, []string{"list", "88.100.1", "--page-size", "1001"}, "InvalidArgument")
		c.expect(0, []string{"prefix", "list"}, `^88\.100\.1\s+5\s+300\s`)
	})

	t.Run("delete", func(t *testing.T) {
		c.t = t
		c.expect(0, []string{"delete", "88.100.1/MOTOR-0102"}, `^deleted 88\.100\.1/MOTOR-0102$`)
		c.expectErr(1, []string{"get", "88.100.1/MOTOR-0102"}, "NotFound")
		c.expect(1, []string{"resolve", "88.100.1/MOTOR-0102"}, `NOT_FOUND`)
		c.expectErr(1, []string{"prefix", "delete", "88.100.1"}, "FailedPrecondition")
	})

	t.Run("credentials", func(t *testing.T) {
		c.t = t
		c.expectErr(3, []string{"--token", "idres_wrong", "list", "88.100.1"}, "Unauthenticated: ")
		other := &cli{t: t, bin: idres, dir: t.TempDir(), server: d.addr} // no ./idres-data/admin.token there
		other.expectErr(3, []string{"create", "88.100.1/x", "a=b"}, "Unauthenticated")
		other.expect(0, []string{"resolve", pump}, `OK`) // resolution needs no credential
		tokenFile := filepath.Join(dir, "idres-data", "admin.token")
		other.expect(0, []string{"--token-file", tokenFile, "get", pump}, `^1\s+URL`)
	})

	t.Run("second node on the same data directory", func(t *testing.T) {
		cmd := exec.Command(idresd, "--data", "idres-data", "--grpc", "127.0.0.1:0")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitCode() == 0 {
			t.Fatalf("second idresd: %v, want a non-zero exit\n%s", err, out)
		}
		if !strings.Contains(string(out), "locked by another process") {
			t.Errorf("second idresd output does not say the store is in use:\n%s", out)
		}
	})

	t.Run("restart keeps the data", func(t *testing.T) {
		c.t = t
		if err := d.stop(t); err != nil {
			t.Fatalf("idresd after SIGTERM: %v\n%s", err, d.stderr)
		}
		c.expectErr(3, []string{"resolve", pump}, "Unavailable: cannot reach "+d.addr)
		d2 := startDaemon(t, idresd, dir)
		c.server = d2.addr
		c.expect(0, []string{"resolve", pump}, `^;; 88\.100\.1/PUMP-0042: OK, authoritative`, `^2\s+manufacturer\s+86400\s+ACME Pumps AG$`)
		c.expect(0, []string{"list", "88.100.1", "--all"}, `^88\.100\.1/VALVE-0007\s`)
		// The administrator token of the first start still works.
		c.expect(0, []string{"prefix", "get", "88.100.1"}, `^88\.100\.1\s+4\s+300\s`)
		if err := d2.stop(t); err != nil {
			t.Errorf("idresd after SIGTERM: %v\n%s", err, d2.stderr)
		}
	})
	if t.Failed() {
		fmt.Fprintf(os.Stderr, "idresd log:\n%s\n", d.stderr)
	}
}
