package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errw bytes.Buffer
	code = run(context.Background(), args, &out, &errw, func(k string) string { return env[k] })
	return code, out.String(), errw.String()
}

// TestUsage runs the command line paths that never reach a node.
func TestUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    string
		wantErr    string
		notInOut   string
		errOneLine bool
	}{
		{name: "no command", args: nil, wantCode: exitUsage, wantErr: "usage: idres"},
		{name: "help lists commands", args: []string{"help"}, wantCode: exitOK, wantOut: "rm-value ID INDEX..."},
		{name: "-h", args: []string{"-h"}, wantCode: exitOK, wantOut: "Exit codes: 0 success"},
		{name: "help of a command", args: []string{"help", "resolve"}, wantCode: exitOK, wantOut: "usage: idres resolve ID"},
		{name: "command -h", args: []string{"create", "-h"}, wantCode: exitOK, wantOut: "-private"},
		{name: "-h never echoes a token", args: []string{"--token", "s3cret", "resolve", "-h"}, wantCode: exitOK, wantOut: "-token", notInOut: "s3cret"},
		{name: "subcommand list", args: []string{"prefix", "-h"}, wantCode: exitOK, wantOut: "idres prefix delete PREFIX [--force]"},
		{name: "subcommand -h", args: []string{"prefix", "list", "-h"}, wantCode: exitOK, wantOut: "-page-size"},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: exitUsage, wantErr: `unknown command "frobnicate"`, errOneLine: true},
		{name: "help unknown", args: []string{"help", "frobnicate"}, wantCode: exitUsage, wantErr: "unknown command", errOneLine: true},
		{name: "unknown global flag", args: []string{"--nope", "resolve", "x/y"}, wantCode: exitUsage, wantErr: "flag provided but not defined: -nope", errOneLine: true},
		{name: "unknown command flag", args: []string{"resolve", "x/y", "--nope"}, wantCode: exitUsage, wantErr: "idres resolve: flag provided but not defined", errOneLine: true},
		{name: "resolve without id", args: []string{"resolve"}, wantCode: exitUsage, wantErr: "want exactly one identifier", errOneLine: true},
		{name: "resolve two ids", args: []string{"resolve", "a/b", "c/d"}, wantCode: exitUsage, wantErr: "got 2 arguments", errOneLine: true},
		{name: "bad --index", args: []string{"resolve", "a/b", "--index", "0"}, wantCode: exitUsage, wantErr: `index "0"`, errOneLine: true},
		{name: "create without values", args: []string{"create", "a/b"}, wantCode: exitUsage, wantErr: "at least one value", errOneLine: true},
		{name: "create bad value", args: []string{"create", "a/b", "URL"}, wantCode: exitUsage, wantErr: "want INDEX:TYPE=DATA", errOneLine: true},
		{name: "set needs index", args: []string{"set", "a/b", "URL=x"}, wantCode: exitUsage, wantErr: "give the index to set", errOneLine: true},
		{name: "rm-value bad index", args: []string{"rm-value", "a/b", "one"}, wantCode: exitUsage, wantErr: `index "one"`, errOneLine: true},
		{name: "prefix without sub", args: []string{"prefix"}, wantCode: exitUsage, wantErr: "missing subcommand", errOneLine: true},
		{name: "prefix unknown sub", args: []string{"prefix", "rename"}, wantCode: exitUsage, wantErr: `unknown subcommand "rename"`, errOneLine: true},
		{name: "list extra arg", args: []string{"list", "88", "89"}, wantCode: exitUsage, wantErr: "exactly one prefix", errOneLine: true},
		{name: "missing token file", args: []string{"--token-file", "/nonexistent/tok", "get", "a/b"}, wantCode: exitUsage, wantErr: "--token-file", errOneLine: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCLI(t, nil, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.wantCode, errs)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("stdout %q lacks %q", out, tt.wantOut)
			}
			if tt.notInOut != "" && strings.Contains(out+errs, tt.notInOut) {
				t.Errorf("output contains %q", tt.notInOut)
			}
			if !strings.Contains(errs, tt.wantErr) {
				t.Errorf("stderr %q lacks %q", errs, tt.wantErr)
			}
			if tt.errOneLine && strings.Count(errs, "\n") != 1 {
				t.Errorf("stderr is not one line: %q", errs)
			}
		})
	}
}

// TestEveryCommandHelp pins that `idres CMD -h` and `idres help CMD`
// print usage to stdout and exit 0 for every registered command, including
// those other files add.
func TestEveryCommandHelp(t *testing.T) {
	for name := range commands {
		for _, args := range [][]string{{name, "-h"}, {"help", name}} {
			code, out, errs := runCLI(t, nil, args...)
			if code != exitOK || !strings.HasPrefix(out, "usage:") || errs != "" {
				t.Errorf("idres %s: exit %d, stdout %.60q, stderr %q; want exit 0 and usage on stdout", strings.Join(args, " "), code, out, errs)
			}
		}
	}
}

// TestParseInterspersed pins that flags and positional arguments mix in
// any order and that "--" ends flags.
func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		args      []string
		wantPos   []string
		wantTypes []string
		wantJSON  bool
	}{
		{args: []string{"a/b"}, wantPos: []string{"a/b"}},
		{args: []string{"--type", "URL", "a/b"}, wantPos: []string{"a/b"}, wantTypes: []string{"URL"}},
		{args: []string{"a/b", "--type", "URL", "--json"}, wantPos: []string{"a/b"}, wantTypes: []string{"URL"}, wantJSON: true},
		{args: []string{"a/b", "-type=URL", "c", "--type", "EMAIL", "d"}, wantPos: []string{"a/b", "c", "d"}, wantTypes: []string{"URL", "EMAIL"}},
		{args: []string{"a/b", "--", "--json", "-x=1"}, wantPos: []string{"a/b", "--json", "-x=1"}},
		{args: []string{"--", "-1:t=d"}, wantPos: []string{"-1:t=d"}},
		{args: []string{"a/b", "--json", "--", "-x"}, wantPos: []string{"a/b", "-x"}, wantJSON: true},
		{args: []string{"a/b", "--type", "--", "c"}, wantPos: []string{"a/b", "c"}, wantTypes: []string{"--"}}, // "--" as a flag's value
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			e := newEnv(&bytes.Buffer{}, &bytes.Buffer{}, nil)
			fs := e.flags()
			var types stringList
			fs.Var(&types, "type", "")
			pos, err := e.parse(fs, tt.args, "")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(pos, tt.wantPos) || !slices.Equal(types, tt.wantTypes) || e.JSON != tt.wantJSON {
				t.Errorf("pos %q types %q json %v; want %q %q %v", pos, types, e.JSON, tt.wantPos, tt.wantTypes, tt.wantJSON)
			}
		})
	}
}

// TestGlobalsAfterCommand pins that globals given before the command keep
// their value when the command binds them again, and that the environment
// supplies the server default.
func TestGlobalsAfterCommand(t *testing.T) {
	e := newEnv(&bytes.Buffer{}, &bytes.Buffer{}, func(k string) string {
		return map[string]string{"IDRES_SERVER": "10.0.0.1:1"}[k]
	})
	if e.Server != "10.0.0.1:1" {
		t.Fatalf("server from env = %q", e.Server)
	}
	top := flag.NewFlagSet("idres", flag.ContinueOnError)
	e.bindGlobals(top)
	if err := top.Parse([]string{"--token", "t1", "--timeout", "3s"}); err != nil {
		t.Fatal(err)
	}
	fs := e.flags()
	if _, err := e.parse(fs, []string{"x/y", "--json"}, ""); err != nil {
		t.Fatal(err)
	}
	if e.Token != "t1" || e.Timeout != 3*time.Second || !e.JSON || e.Server != "10.0.0.1:1" {
		t.Errorf("globals after command: %+v", e.globals)
	}
}

func TestTokenOrder(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/tok"
	if err := writeFile(file, "from-file\n"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		g    globals
		env  string
		want string
	}{
		{"flag wins", globals{Token: "from-flag", TokenFile: file}, "from-env", "from-flag"},
		{"file before env", globals{TokenFile: file}, "from-env", "from-file"},
		{"env", globals{}, "from-env", "from-env"},
		{"none", globals{}, "", ""}, // the test's working directory has no idres-data
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(nil, nil, func(k string) string {
				if k == "IDRES_TOKEN" {
					return tt.env
				}
				return ""
			})
			e.globals = tt.g
			got, err := e.token()
			if err != nil || got != tt.want {
				t.Errorf("token() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	e := newEnv(nil, nil, nil)
	e.Server = "127.0.0.1:7420"
	tests := []struct {
		err      error
		wantMsg  string
		wantCode int
	}{
		{status.Error(codes.NotFound, `identifier "a/b": not found`), `NotFound: identifier "a/b": not found`, exitNegative},
		{status.Error(codes.AlreadyExists, "x"), "AlreadyExists: x", exitNegative},
		{status.Error(codes.FailedPrecondition, "x"), "FailedPrecondition: x", exitNegative},
		{status.Error(codes.InvalidArgument, "bad"), "InvalidArgument: bad", exitUsage},
		{status.Error(codes.Unauthenticated, "invalid credential"), "Unauthenticated: invalid credential", exitServer},
		{status.Error(codes.PermissionDenied, "no"), "PermissionDenied: no", exitServer},
		{status.Error(codes.Internal, "internal error"), "Internal: internal error", exitServer},
		{status.Error(codes.Unavailable, `connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:7420: connect: connection refused"`),
			"Unavailable: cannot reach 127.0.0.1:7420: dial tcp 127.0.0.1:7420: connect: connection refused", exitServer},
		{status.Error(codes.Unavailable, "etcd: storage unavailable: commit: etcdserver: no leader"),
			"Unavailable: 127.0.0.1:7420 answered: etcd: storage unavailable: commit: etcdserver: no leader", exitServer},
		{status.Error(codes.DeadlineExceeded, "context deadline exceeded"), "DeadlineExceeded: no answer from 127.0.0.1:7420 within 10s", exitServer},
		{context.DeadlineExceeded, "no answer from 127.0.0.1:7420 within 10s", exitServer},
		{errors.New("plain"), "plain", exitServer},
	}
	for _, tt := range tests {
		msg, code := e.describe(tt.err)
		if msg != tt.wantMsg || code != tt.wantCode {
			t.Errorf("describe(%v) = %q, %d; want %q, %d", tt.err, msg, code, tt.wantMsg, tt.wantCode)
		}
	}
}

func TestOutcomeExit(t *testing.T) {
	want := map[idresv1.Outcome]int{
		idresv1.Outcome_OUTCOME_UNSPECIFIED:        exitServer,
		idresv1.Outcome_OUTCOME_OK:                 exitOK,
		idresv1.Outcome_OUTCOME_NOT_FOUND:          exitNegative,
		idresv1.Outcome_OUTCOME_VALUES_NOT_FOUND:   exitNegative,
		idresv1.Outcome_OUTCOME_REFERRAL:           exitOK,
		idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND:   exitNegative,
		idresv1.Outcome_OUTCOME_INVALID_IDENTIFIER: exitUsage,
		idresv1.Outcome_OUTCOME_SERVER_FAILURE:     exitServer,
		idresv1.Outcome_OUTCOME_GONE:               exitNegative,
	}
	for o := range idresv1.Outcome_name {
		w, ok := want[idresv1.Outcome(o)]
		if !ok {
			t.Errorf("outcome %v has no exit code in this test: decide and add it", idresv1.Outcome(o))
			continue
		}
		if got := outcomeExit(idresv1.Outcome(o)); got != w {
			t.Errorf("outcomeExit(%v) = %d, want %d", idresv1.Outcome(o), got, w)
		}
	}
}

func TestFormatData(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://example.com/a b", "https://example.com/a b"},
		{"Müller", "Müller"},
		{"", ""},
		{"\x89PNG", "base64:iVBORw=="},
		{"two\nlines", "base64:dHdvCmxpbmVz"},
		{"base64:abc", "base64:YmFzZTY0OmFiYw=="}, // never ambiguous
	}
	for _, tt := range tests {
		if got := formatData([]byte(tt.in)); got != tt.want {
			t.Errorf("formatData(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPrintResolve(t *testing.T) {
	var b bytes.Buffer
	ttl := uint32(600)
	printResolve(&b, &idresv1.ResolveResponse{
		Outcome: idresv1.Outcome_OUTCOME_OK, Identifier: "88.100.1/P", Authoritative: true, Ttl: 600, Zone: "88.100.1",
		Values: []*idresv1.Value{{Index: 1, Type: "URL", Data: []byte("https://x"), Ttl: &ttl}, {Index: 12, Type: "bin", Data: []byte{0}, Ttl: &ttl}},
	})
	want := ";; 88.100.1/P: OK, authoritative, ttl 600, zone 88.100.1, 2 values\n" +
		"1   URL  600  https://x\n" +
		"12  bin  600  base64:AA==\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func writeFile(name, s string) error { return os.WriteFile(name, []byte(s), 0o600) }
