package node_test

import (
	"strings"
	"testing"

	"github.com/idres/idres/cmd/idresd/node"
)

// TestEtcdPlaintextOnlyOnLoopback: the etcd store is reached over TLS
// unless its members are on loopback or --insecure says otherwise.
func TestEtcdPlaintextOnlyOnLoopback(t *testing.T) {
	for _, ep := range []string{"http://192.0.2.10:2379", "http://etcd.example", "http://[2001:db8::1]:2379"} {
		_, err := node.Start(node.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", Logger: quietLog,
			Store: node.StoreEtcd, Etcd: node.EtcdConfig{Endpoints: []string{ep}}})
		if err == nil || !strings.Contains(err.Error(), "refusing plaintext") {
			t.Errorf("%s: %v, want a refusal of plaintext", ep, err)
		}
	}
}
