package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestRefusesPlaintextOffLoopback: the flags reach the node's check, which
// refuses before anything listens or is created.
func TestRefusesPlaintextOffLoopback(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	tests := []struct {
		args []string
		want int
	}{
		{[]string{"--data", dir, "--grpc", "0.0.0.0:0"}, 1},
		{[]string{"--data", dir, "--grpc", "127.0.0.1:0", "--tls-cert", "x.pem"}, 1},
		{[]string{"--data", dir, "--grpc", "127.0.0.1:0", "--max-values", "1001"}, 1},
	}
	for _, tc := range tests {
		if got := run(tc.args); got != tc.want {
			t.Errorf("idresd %v: exit %d, want %d", tc.args, got, tc.want)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("a refused start created %s (%v)", dir, err)
	}
}
