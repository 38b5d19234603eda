package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/registry/store/etcdkv"
	"github.com/idres/idres/resolver/client"
)

// The values of Config.Store.
const (
	// StoreBolt keeps the node's data in DataDir/idres.db (the default).
	StoreBolt = "bolt"
	// StoreEtcd keeps it under a key prefix of an etcd cluster, which
	// several replicas of the node share (Config.Etcd).
	StoreEtcd = "etcd"
)

// EtcdConfig says where a replicated node's store lives (Store "etcd").
type EtcdConfig struct {
	// Endpoints are the cluster's client URLs (https:// with TLS).
	Endpoints []string
	// Prefix is the store's key prefix; every replica of one node gives
	// the same. "" means DefaultEtcdPrefix(DataDir).
	Prefix string
	// CACert verifies the members' certificates (PEM); Cert and Key are
	// this replica's client certificate for mutual TLS. Any of them turns
	// TLS on.
	CACert, Cert, Key string
	// User logs in with etcd authentication; its password is Password, or
	// else the first line of PasswordFile.
	User, Password, PasswordFile string
	// StaleLimit: reads fail with Unavailable once the local copy has not
	// been confirmed current for this long. 0 means etcdkv's default.
	StaleLimit time.Duration
	// MaxTxnOps is the cluster's --max-txn-ops; 0 means etcd's default.
	MaxTxnOps int
}

// DefaultEtcdPrefix is the key prefix of a replica whose configuration
// names none: "/idres/" and the base name of its data directory. Replicas
// on different machines with the same --data name share it; set
// --etcd-prefix explicitly whenever that is not what you mean.
func DefaultEtcdPrefix(dataDir string) string {
	base := filepath.Base(filepath.Clean(dataDir))
	if abs, err := filepath.Abs(dataDir); err == nil {
		base = filepath.Base(abs)
	}
	if base == "" || base == "." || base == string(filepath.Separator) {
		base = "default"
	}
	return "/idres/" + base
}

// checkStore reports an unusable store selection.
func (c Config) checkStore() error {
	e := c.Etcd
	switch c.Store {
	case "", StoreBolt:
		if len(e.Endpoints) > 0 {
			return errors.New("--etcd-endpoints needs --store etcd")
		}
		return nil
	case StoreEtcd:
	default:
		return fmt.Errorf("--store %q: want %s or %s", c.Store, StoreBolt, StoreEtcd)
	}
	switch {
	case len(e.Endpoints) == 0:
		return errors.New("--store etcd needs --etcd-endpoints")
	case (e.Cert == "") != (e.Key == ""):
		return errors.New("--etcd-cert and --etcd-key go together")
	case e.Password != "" && e.PasswordFile != "":
		return errors.New("the etcd password comes from --etcd-password-file or IDRESD_ETCD_PASSWORD, not both")
	case e.User == "" && (e.Password != "" || e.PasswordFile != ""):
		return errors.New("an etcd password needs --etcd-user")
	case e.User != "" && e.Password == "" && e.PasswordFile == "":
		return errors.New("--etcd-user needs a password: --etcd-password-file or IDRESD_ETCD_PASSWORD")
	case e.StaleLimit < 0 || e.MaxTxnOps < 0:
		return errors.New("--etcd-stale-limit and --etcd-max-txn-ops must not be negative")
	}
	for _, ep := range e.Endpoints {
		if !strings.HasPrefix(ep, "http://") && !strings.HasPrefix(ep, "https://") {
			return fmt.Errorf("--etcd-endpoints: %q is not an http:// or https:// URL", ep)
		}
		// As for the node's own listeners (design §6): the store's data
		// and the etcd password cross the network only over TLS.
		if u, err := url.Parse(ep); err == nil && u.Scheme == "http" && !IsLoopback(hostPort(u)) && !c.Security.Insecure {
			return fmt.Errorf("--etcd-endpoints: refusing plaintext %s, which is not a loopback address: use https:// (with --etcd-cacert), or --insecure to allow plaintext", ep)
		}
	}
	return nil
}

// hostPort is u's host with a port, as IsLoopback takes it.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), "2379")
}

// openStore opens the node's store: its bbolt file, or the etcd prefix
// it shares with its replicas.
func (n *Node) openStore() error {
	cfg := n.cfg
	opts := store.Options{Now: cfg.Now, RetainChanges: cfg.FeedRetainChanges, RetainAge: cfg.FeedRetainAge}
	if cfg.Store != StoreEtcd {
		var err error
		n.store, err = store.Open(cfg.DataDir, opts)
		return err
	}
	// The data directory still holds this replica's own files (the
	// administrator token of a first start).
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	ecfg, err := cfg.Etcd.backendConfig(cfg.DataDir)
	if err != nil {
		return err
	}
	ecfg.Logger = n.log
	b, err := etcdkv.Open(context.Background(), ecfg)
	if err != nil {
		return err
	}
	n.store, err = store.OpenBackend(b, opts)
	if err != nil {
		b.Close()
		return fmt.Errorf("etcd prefix %s: %w", ecfg.Prefix, err)
	}
	n.etcd = b
	n.etcdPrefix = ecfg.Prefix
	return nil
}

// backendConfig is etcdkv's configuration, with the TLS files and the
// password read.
func (e EtcdConfig) backendConfig(dataDir string) (etcdkv.Config, error) {
	cfg := etcdkv.Config{
		Endpoints:  e.Endpoints,
		Prefix:     e.Prefix,
		Username:   e.User,
		Password:   e.Password,
		StaleLimit: e.StaleLimit,
		MaxTxnOps:  e.MaxTxnOps,
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultEtcdPrefix(dataDir)
	}
	if e.PasswordFile != "" {
		raw, err := os.ReadFile(e.PasswordFile)
		if err != nil {
			return cfg, fmt.Errorf("etcd password: %w", err)
		}
		cfg.Password, _, _ = strings.Cut(string(raw), "\n")
		cfg.Password = strings.TrimSuffix(cfg.Password, "\r")
		if cfg.Password == "" {
			return cfg, fmt.Errorf("etcd password: %s is empty", e.PasswordFile)
		}
	}
	if e.CACert == "" && e.Cert == "" {
		return cfg, nil
	}
	tlsCfg, err := client.LoadTLS(e.CACert, e.Cert, e.Key)
	if err != nil {
		return cfg, fmt.Errorf("etcd TLS: %w", err)
	}
	cfg.TLS = tlsCfg
	return cfg, nil
}

// followStaleness reports the node NOT_SERVING (gRPC health, /readyz)
// while its copy of the etcd store is past the stale limit and reads
// fail, so that balancers send traffic to replicas that can answer.
func (n *Node) followStaleness() {
	if n.etcd == nil {
		return
	}
	limit := n.cfg.Etcd.StaleLimit
	if limit <= 0 {
		limit = time.Minute // etcdkv's default
	}
	every := min(limit/4, time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	n.stopStaleness = func() { cancel(); <-done }
	go func() {
		defer close(done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		serving := true
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			stale := n.etcd.Staleness()
			if ok := stale <= limit; ok != serving {
				serving = ok
				n.ready.Store(ok)
				if ok {
					n.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
					n.log.Info("etcd store confirmed current again: serving")
				} else {
					n.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
					n.log.Warn("etcd store not confirmed current within the stale limit: NOT_SERVING until it is", "staleness", stale.Round(time.Second), "limit", limit)
				}
			}
		}
	}()
}
