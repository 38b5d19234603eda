package main

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/idres/idres/cmd/idresd/config"
	"github.com/idres/idres/cmd/idresd/node"
)

// TestEtcdFlagsRefused: an unusable store selection stops idresd before
// it connects anywhere or creates its data directory.
func TestEtcdFlagsRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	base := []string{"--data", dir, "--grpc", "127.0.0.1:0"}
	for _, args := range [][]string{
		{"--store", "etcd"},
		{"--store", "etcd", "--etcd-endpoints", "127.0.0.1:2379"},
		{"--store", "sqlite"},
		{"--etcd-endpoints", "http://127.0.0.1:2379"},
		{"--store", "etcd", "--etcd-endpoints", "http://127.0.0.1:2379", "--etcd-user", "idres"},
		{"--store", "etcd", "--etcd-endpoints", "http://127.0.0.1:2379", "--etcd-password-file", "pw"},
		{"--store", "etcd", "--etcd-endpoints", "http://127.0.0.1:2379", "--etcd-cert", "c.pem"},
		{"--store", "etcd", "--etcd-endpoints", "http://192.0.2.10:2379"},
		{"--store", "etcd", "--etcd-endpoints", "http://127.0.0.1:2379,http://etcd.example"},
	} {
		if got := run(append(slices.Clone(base), args...)); got != 1 {
			t.Errorf("idresd %v: exit %d, want 1", args, got)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("a refused start created %s (%v)", dir, err)
	}
}

// TestEtcdPasswordEnv: the password variable is taken out of the
// environment config.Apply sees (it names no flag), and the rest applies.
func TestEtcdPasswordEnv(t *testing.T) {
	fs := flag.NewFlagSet("idresd", flag.ContinueOnError)
	var cfg node.Config
	endpoints := etcdFlags(fs, &cfg)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	pw, rest := etcdPassword([]string{"HOME=/root", etcdPasswordEnv + "=s3cret=x", config.EnvName("etcd-endpoints") + "=http://a:2379, http://b:2379", config.EnvName("store") + "=etcd"})
	if pw != "s3cret=x" {
		t.Errorf("password = %q, want %q", pw, "s3cret=x")
	}
	if _, err := config.Apply(fs, "", rest); err != nil {
		t.Fatalf("Apply without the password variable: %v", err)
	}
	if got, want := etcdEndpoints(*endpoints), []string{"http://a:2379", "http://b:2379"}; !slices.Equal(got, want) || cfg.Store != node.StoreEtcd {
		t.Errorf("from the environment: store %q, endpoints %q; want etcd, %q", cfg.Store, got, want)
	}
}
