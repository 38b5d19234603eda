package node

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	bolt "go.etcd.io/bbolt"

	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
)

// initMetrics creates the node's registry (Node.Metrics): Go runtime and
// process metrics, the store's size, and an etcd store's freshness. Front
// ends register their own collectors in it; the HTTP gateway serves it at
// /metrics.
func (n *Node) initMetrics() error {
	reg := prometheus.NewRegistry()
	st := n.store
	cs := []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "idres", Subsystem: "store", Name: "identifiers",
			Help: "Identifiers registered under the prefixes this node holds.",
		}, func() float64 { return float64(identifierCount(st)) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "idres", Subsystem: "cache", Name: "entries",
			Help: "Entries in the recursive resolver's cache (0 on a node that does not recurse).",
		}, func() float64 {
			// The walker is set during Start, before any listener serves.
			if c := n.walkerCache(); c != nil {
				return float64(c.Len())
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "idres", Subsystem: "store", Name: "prefixes",
			Help: "Prefixes (zones) this node holds.",
		}, func() float64 { return float64(prefixCount(st)) }),
	}
	if db := st.DB(); db != nil {
		cs = append(cs, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "idres", Subsystem: "store", Name: "size_bytes",
			Help: "Size of the node's bbolt file in bytes.",
		}, func() float64 {
			var size int64
			_ = db.View(func(tx *bolt.Tx) error { size = tx.Size(); return nil })
			return float64(size)
		}))
	}
	if b := n.etcd; b != nil {
		cs = append(cs,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Namespace: "idres", Subsystem: "store", Name: "etcd_staleness_seconds",
				Help: "Time since this replica's copy of the etcd store was last confirmed current; reads fail past --etcd-stale-limit.",
			}, func() float64 { return b.Staleness().Seconds() }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Namespace: "idres", Subsystem: "store", Name: "etcd_applied_revision",
				Help: "etcd revision this replica's copy of the store reflects.",
			}, func() float64 { return float64(b.AppliedRevision()) }),
		)
	}
	var errs []error
	for _, c := range cs {
		errs = append(errs, reg.Register(c))
	}
	n.Metrics = reg
	return errors.Join(errs...)
}

// identifierCount sums the held prefixes' counters: a scrape reads one
// record per prefix, never the identifiers.
func identifierCount(st *store.Store) uint64 {
	var total uint64
	forEachPrefix(st, func(c uint64) { total += c })
	return total
}

func prefixCount(st *store.Store) int {
	n := 0
	forEachPrefix(st, func(uint64) { n++ })
	return n
}

func forEachPrefix(st *store.Store, fn func(identifiers uint64)) {
	_ = st.View(func(tx *store.Tx) error {
		after := ""
		for {
			ps, more, err := tx.ListPrefixes(after, 1000)
			if err != nil {
				return err
			}
			for _, p := range ps {
				fn(p.IdentifierCount)
			}
			if !more || len(ps) == 0 {
				return nil
			}
			after = store.PrefixKey(ident.Fold(ps[len(ps)-1].Prefix))
		}
	})
}
