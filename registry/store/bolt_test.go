package store

import (
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/idres/idres/registry/store/kv"
	"github.com/idres/idres/registry/store/kv/kvtest"
)

// TestBoltBackend runs the shared storage suite on the bbolt adapter.
func TestBoltBackend(t *testing.T) {
	kvtest.Run(t, func(t *testing.T) func() (kv.Backend, error) {
		path := filepath.Join(t.TempDir(), FileName)
		return func() (kv.Backend, error) {
			// As Open does: a mapping large enough that a writer never waits
			// for readers to remap (the isolation case holds a View open).
			db, err := bolt.Open(path, 0o600, &bolt.Options{InitialMmapSize: initialMmapSize})
			if err != nil {
				return nil, err
			}
			return boltBackend{db}, nil
		}
	})
}
