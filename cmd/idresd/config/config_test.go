package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newFlags() (*flag.FlagSet, *string, *string, *bool, *time.Duration, *string) {
	fs := flag.NewFlagSet("idresd", flag.ContinueOnError)
	fs.String("config", "", "")
	data := fs.String("data", "idres-data", "")
	grpc := fs.String("grpc", "127.0.0.1:7420", "")
	rec := fs.Bool("recursive", false, "")
	drain := fs.Duration("shutdown-timeout", 10*time.Second, "")
	tok := fs.String("etcd-password", "", "")
	return fs, data, grpc, rec, drain, tok
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "idresd.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPrecedence(t *testing.T) {
	file := writeFile(t, `
data = "/from/file"
grpc = "127.0.0.1:1"
recursive = true
shutdown-timeout = "3s"
`)
	fs, data, grpc, rec, drain, _ := newFlags()
	if err := fs.Parse([]string{"--grpc", "127.0.0.1:3"}); err != nil {
		t.Fatal(err)
	}
	src, err := Apply(fs, file, []string{"IDRESD_DATA=/from/env", "PATH=/bin"}, "config")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, got, want string
		src             Source
	}{
		{"grpc", *grpc, "127.0.0.1:3", FromFlag},
		{"data", *data, "/from/env", FromEnv},
		{"shutdown-timeout", drain.String(), "3s", FromFile},
	}
	for _, tt := range tests {
		if tt.got != tt.want || src[tt.name] != tt.src {
			t.Errorf("%s = %q from %s, want %q from %s", tt.name, tt.got, src[tt.name], tt.want, tt.src)
		}
	}
	if !*rec || src["recursive"] != FromFile {
		t.Errorf("recursive = %v from %s, want true from file", *rec, src["recursive"])
	}
}

func TestUnknownKeys(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		env     []string
		wantErr string
	}{
		{"file key", `grcp = "x"`, nil, `unknown key "grcp"`},
		{"skipped key", `config = "x"`, nil, `unknown key "config"`},
		{"env var", ``, []string{"IDRESD_GRCP=x"}, "IDRESD_GRCP: unknown setting (no flag --grcp)"},
		{"bad value", `recursive = "maybe"`, nil, `key "recursive"`},
		{"bad toml", `data = `, nil, "idresd.toml"},
		{"table", "[x]\na = 1", nil, `unknown key "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, _, _, _, _, _ := newFlags()
			if err := fs.Parse(nil); err != nil {
				t.Fatal(err)
			}
			_, err := Apply(fs, writeFile(t, tt.file), tt.env, "config")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestPrintMasksSecrets(t *testing.T) {
	fs, _, _, _, _, _ := newFlags()
	if err := fs.Parse([]string{"--etcd-password", "hunter2"}); err != nil {
		t.Fatal(err)
	}
	src, err := Apply(fs, "", nil, "config")
	if err != nil {
		t.Fatal(err)
	}
	out := Print(fs, src, "config")
	if strings.Contains(out, "hunter2") {
		t.Fatalf("secret printed:\n%s", out)
	}
	for _, want := range []string{`etcd-password = "********" # flag`, `grpc = "127.0.0.1:7420" # default`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "config =") {
		t.Errorf("skipped flag printed:\n%s", out)
	}
}

func TestListValues(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	root := fs.String("root", "", "")
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(fs, writeFile(t, `root = ["127.0.0.1:1", "127.0.0.1:2"]`), nil); err != nil {
		t.Fatal(err)
	}
	if *root != "127.0.0.1:1,127.0.0.1:2" {
		t.Fatalf("root = %q", *root)
	}
}
