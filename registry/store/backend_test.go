package store_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/registry/store/etcdkv"
	"github.com/idres/idres/registry/store/etcdkv/etcdtest"
)

// With IDRES_STORE_BACKEND=etcd, the store's tests that do not look at
// the bbolt file itself run on an etcd cluster instead, each store under
// its own prefix (make test runs them both ways).
var (
	onEtcd      = os.Getenv("IDRES_STORE_BACKEND") == "etcd"
	etcdCluster *etcdtest.Cluster
	etcdStores  atomic.Int64
)

func TestMain(m *testing.M) {
	if onEtcd {
		etcdCluster = etcdtest.StartShared(3, etcdtest.MaxTxnOps(1<<20))
	}
	code := m.Run()
	if etcdCluster != nil {
		etcdCluster.Shutdown()
	}
	os.Exit(code)
}

// fileOnly skips a test that checks the bbolt file when the suite runs on etcd.
func fileOnly(t testing.TB) {
	t.Helper()
	if onEtcd {
		t.Skip("checks the bbolt file; runs in the bbolt pass of the suite")
	}
}

// openBackend opens a new, empty store on the backend the suite runs on.
func openBackend(t testing.TB, dir string, opts store.Options) (*store.Store, error) {
	if !onEtcd {
		return store.Open(dir, opts)
	}
	b, err := etcdkv.Open(context.Background(), etcdkv.Config{
		Endpoints: etcdCluster.Endpoints(),
		Prefix:    fmt.Sprintf("/store-test/%d", etcdStores.Add(1)),
		MaxTxnOps: 1 << 20, // the cluster runs with a limit as high
	})
	if err != nil {
		return nil, err
	}
	s, err := store.OpenBackend(b, opts)
	if err != nil {
		b.Close()
	}
	return s, err
}
