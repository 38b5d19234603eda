// Package node assembles one idresd node from its parts: the store, the
// administrator credential, and the listeners. cmd/idresd only parses flags
// and calls Start; tests start real nodes on loopback the same way.
package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/backup"
	"github.com/idres/idres/registry/registrar"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/registry/store/etcdkv"
	"github.com/idres/idres/resolver/answer"
	"github.com/idres/idres/resolver/dnsbridge"
	"github.com/idres/idres/resolver/grpcserver"
	"github.com/idres/idres/resolver/handleserver"
	"github.com/idres/idres/resolver/recursive"
)

// Config is everything a node needs to start.
type Config struct {
	// DataDir holds idres.db and admin.token (with Store "etcd", only
	// the token).
	DataDir string
	// Store is StoreBolt ("" too) or StoreEtcd (etcd.go).
	Store string
	// Etcd is where the store lives when Store is StoreEtcd.
	Etcd EtcdConfig
	// GRPCAddr is the gRPC listen address; port 0 picks a free port.
	GRPCAddr string
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// FeedRetainChanges and FeedRetainAge bound the change feed Watch
	// serves (store.Options.RetainChanges, RetainAge); 0 means the store's
	// defaults.
	FeedRetainChanges int
	FeedRetainAge     time.Duration
	// Recursive, when its Roots are set, makes this a recursive node that
	// resolves through the hierarchy instead of from its store (recursive.go).
	Recursive RecursiveConfig
	// DNSAddr, when set, runs the DNS bridge on this UDP+TCP address (dns.go).
	DNSAddr string
	// DNSZone is the DNS bridge's zone; "" means dnsbridge.DefaultZone.
	DNSZone string
	// DNSRateLimit limits UDP answers per source network a second (RRL);
	// 0 is off. DNSSlip: every DNSSlip-th limited answer goes out truncated.
	DNSRateLimit float64
	DNSSlip      int
	// HandleAddr, when set, runs the Handle-protocol server on this
	// UDP+TCP address (handle.go).
	HandleAddr string
	// HandleRateLimit limits Handle requests per source network a second,
	// over UDP (answers dropped, every HandleSlip-th sent truncated) and,
	// counted apart, over TCP (answered RC_SERVER_TOO_BUSY); 0 is off.
	HandleRateLimit float64
	HandleSlip      int
	// HandleKey is the file of the key the Handle server signs certified
	// answers with (PEM PKCS #8 RSA); "" means DataDir/handle.key,
	// generated on the first start with HandleAddr (handlekey.go).
	HandleKey string
	// HandleSignRate bounds the certified (signed) Handle answers a
	// second; 0 is handleserver's default.
	HandleSignRate float64
	// HTTPAddr, when set, runs the HTTP gateway on this TCP address (http.go).
	HTTPAddr string
	// HTTPURL is the gateway's public base URL, advertised in the node's
	// service values; "" means http://<bound address>.
	HTTPURL string
	// Security is TLS, limits and the per-credential rate (security.go).
	Security SecurityConfig
}

// Node is a running idresd.
type Node struct {
	cfg       Config
	log       *slog.Logger
	store     *store.Store
	grpc      *grpc.Server
	health    *health.Server
	grpcLis   net.Listener
	serveErr  chan error
	tlsConfig *tls.Config             // nil when plaintext (security.go)
	limiter   *grpcserver.RateLimiter // per-credential rate (security.go)
	walker    *recursive.Walker       // nil unless recursive
	dns       *dnsbridge.Server       // nil unless Config.DNSAddr
	handle    *handleserver.Server    // nil unless Config.HandleAddr
	handleKey *handleSigner           // nil unless Config.HandleAddr (handlekey.go)
	httpLis   net.Listener            // nil unless Config.HTTPAddr
	httpSrv   *http.Server
	httpURL   string
	ready     atomic.Bool

	// etcd is the store's backend when Config.Store is StoreEtcd (etcd.go).
	etcd          *etcdkv.Backend
	etcdPrefix    string
	stopStaleness func() // ends followStaleness and waits for it

	// Metrics is the node's Prometheus registry; every front end registers
	// its collectors here and the HTTP gateway serves it at /metrics.
	Metrics *prometheus.Registry

	// AdminTokenPath is where the administrator token was written on
	// first start ("" on later starts).
	AdminTokenPath string

	stopOnce sync.Once

	stopInvalidation context.CancelFunc // ends the feed followers (invalidate.go)
	upstreamTLS      *tls.Config        // client TLS of a recursive node's upstream calls; nil: plaintext
}

// Start opens the store and starts the listeners. On error everything
// already started is stopped again.
func Start(cfg Config) (n *Node, err error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	// The cleanup holds its own pointer: every error return sets the named
	// result n to nil before deferred calls run.
	started := &Node{cfg: cfg, log: log, serveErr: make(chan error, 4)}
	n = started
	defer func() {
		if err != nil {
			started.Stop(context.Background())
		}
	}()

	if err := n.initSecurity(); err != nil {
		return nil, err
	}
	if err := cfg.checkStore(); err != nil {
		return nil, err
	}
	if err := n.openStore(); err != nil {
		return nil, err
	}
	path, created, err := registrar.EnsureAdmin(n.store, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if created {
		n.AdminTokenPath = path
		log.Info("created node administrator credential; its token is in the file (shown once, keep it safe)", "file", path)
	}
	if err := n.initMetrics(); err != nil {
		return nil, err
	}

	n.grpcLis, err = net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		return nil, fmt.Errorf("listen gRPC on %s: %w", cfg.GRPCAddr, err)
	}
	n.grpcLis = n.limitListener(n.grpcLis) // connlimits.go
	n.checkFileLimit()
	panics, err := newPanicCounter(n.Metrics)
	if err != nil {
		return nil, err
	}
	authn := &grpcserver.Authenticator{Verify: n.store.VerifyToken, Now: cfg.Now}
	failed := &grpcserver.FailureLog{Logger: log, Now: cfg.Now} // every failed call, refusals included
	gm, err := newGRPCMetrics(n.Metrics)
	if err != nil {
		return nil, err
	}
	n.grpc = grpc.NewServer(append(n.grpcOptions(),
		grpc.ChainUnaryInterceptor(gm.Unary(), failed.Unary(), recoverUnary(log, panics), authn.Unary(), n.limiter.Unary(), sampledResolveLog(log), grpcserver.StatusUnary()),
		grpc.ChainStreamInterceptor(gm.Stream(), failed.Stream(), recoverStream(log, panics), authn.Stream(), n.limiter.Stream(), n.streamCalls().Stream(), grpcserver.StatusStream()),
	)...)
	authority := &answer.Authority{Store: n.store, Self: &idresv1.Delegation{Grpc: []string{n.grpcLis.Addr().String()}}}
	res, err := n.resolverFor(authority)
	if err != nil {
		return nil, err
	}
	if err := n.startDNS(authority.Self, res); err != nil {
		return nil, err
	}
	if err := n.startHandle(authority.Self, res); err != nil {
		return nil, err
	}
	if err := n.listenHTTP(authority.Self); err != nil {
		return nil, err
	}
	if err := n.startInvalidation(); err != nil {
		return nil, err
	}
	idresv1.RegisterResolverServer(n.grpc, n.limitStreams(grpcserver.NewService(res)))
	idresv1.RegisterAdminServer(n.grpc, &recursive.AdminService{Cache: n.walkerCache()})
	reg, err := n.newRegistry()
	if err != nil {
		return nil, err
	}
	idresv1.RegisterRegistryServer(n.grpc, reg)
	idresv1.RegisterBackupServer(n.grpc, backup.New(n.store))
	n.health = health.NewServer()
	healthpb.RegisterHealthServer(n.grpc, n.health)
	reflection.Register(n.grpc)
	if err := n.startHTTP(res); err != nil {
		return nil, err
	}
	go func() { n.serveErr <- n.grpc.Serve(n.grpcLis) }()
	n.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	n.ready.Store(true)
	n.followStaleness()

	if n.etcd != nil {
		log.Info("idresd serving", "grpc", n.GRPCAddr(), "data", cfg.DataDir, "store", "etcd", "etcd_prefix", n.etcdPrefix, "etcd_revision", n.etcd.AppliedRevision())
	} else {
		log.Info("idresd serving", "grpc", n.GRPCAddr(), "data", cfg.DataDir, "store", n.store.Path())
	}
	return n, nil
}

// GRPCAddr is the address the gRPC listener is bound to.
func (n *Node) GRPCAddr() string { return n.grpcLis.Addr().String() }

// Endpoints maps each running listener's kind ("grpc", "dns", "handle", "http") to
// its bound address, for --ready-file and tests.
func (n *Node) Endpoints() map[string]string {
	eps := map[string]string{"grpc": n.GRPCAddr()}
	if n.dns != nil {
		eps["dns"] = n.DNSAddr()
	}
	if n.handle != nil {
		eps["handle"] = n.HandleAddr()
	}
	if n.httpLis != nil {
		eps["http"] = n.HTTPAddr()
	}
	return eps
}

// Store is the node's store.
func (n *Node) Store() *store.Store { return n.store }

// Err delivers a listener's failure while serving.
func (n *Node) Err() <-chan error { return n.serveErr }

// Stop drains in-flight calls until ctx ends, then closes everything.
func (n *Node) Stop(ctx context.Context) error {
	var errs []error
	n.stopOnce.Do(func() {
		// Say NOT_SERVING first, so balancers move traffic away while the
		// listeners drain.
		if n.stopStaleness != nil {
			n.stopStaleness()
		}
		n.ready.Store(false)
		if n.health != nil {
			n.health.Shutdown()
		}
		if err := n.stopHTTP(ctx); err != nil {
			errs = append(errs, err)
		}
		if n.store != nil {
			// Ends Watch streams, which GracefulStop would wait for.
			n.store.StopNotify()
		}
		if n.grpc != nil {
			done := make(chan struct{})
			go func() { n.grpc.GracefulStop(); close(done) }()
			select {
			case <-done:
			case <-ctx.Done():
				n.grpc.Stop()
			}
		} else if n.grpcLis != nil {
			n.grpcLis.Close()
		}
		if n.stopInvalidation != nil {
			n.stopInvalidation()
		}
		if n.walker != nil {
			n.walker.Close()
		}
		if err := n.stopDNS(ctx); err != nil {
			errs = append(errs, err)
		}
		if err := n.stopHandle(ctx); err != nil {
			errs = append(errs, err)
		}
		if n.store != nil {
			if err := n.store.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close store: %w", err))
			}
		}
		n.log.Info("idresd stopped")
	})
	return errors.Join(errs...)
}
