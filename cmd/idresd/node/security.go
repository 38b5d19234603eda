package node

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"runtime"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/idres/idres/registry/registrar"
	"github.com/idres/idres/resolver/client"
	"github.com/idres/idres/resolver/grpcserver"
)

// DefaultMaxRecvMsgSize bounds one gRPC message: large enough for an
// identifier of a few hundred large values or an Import batch of small
// ones, small enough that a client cannot make the node buffer much.
const DefaultMaxRecvMsgSize = 16 << 20

// SecurityConfig is the transport security and the limits of the gRPC
// listener (design §6).
type SecurityConfig struct {
	// TLSCert and TLSKey are PEM files; both or neither.
	TLSCert, TLSKey string
	// ClientCA, when set, is a PEM bundle: clients must present a
	// certificate it signed (mutual TLS). Needs TLSCert.
	ClientCA string
	// Insecure allows plaintext on a non-loopback listen address.
	Insecure bool
	// Limits bound values and list pages; zero fields mean the design's
	// ceilings.
	Limits registrar.Limits
	// MaxRecvMsgSize bounds one incoming gRPC message in bytes; 0 means
	// DefaultMaxRecvMsgSize.
	MaxRecvMsgSize int
	// RateLimit is each credential's sustained calls per second; 0 means
	// unlimited. RateBurst is its bucket size (0 means max(1, RateLimit)).
	RateLimit float64
	RateBurst int
	// AnonRateLimit is the sustained calls per second of anonymous callers
	// of one source network (an IPv4 address or IPv6 /64), over gRPC and
	// HTTP together; 0 means unlimited. AnonRateBurst is its bucket size
	// (0 means max(1, AnonRateLimit)).
	AnonRateLimit float64
	AnonRateBurst int

	// Connection and stream limits (connlimits.go): what a caller who
	// opens connections and streams and leaves them idle or unread can
	// cost the node. Zero means the Default* of connlimits.go.
	//
	// MaxConns is how many connections the gRPC and the HTTP listener
	// each hold (127.0.0.1 and ::1 get connReserve more, for health
	// probes); MaxConnsPerSource how many of those one source network
	// (IPv4 address, IPv6 /64) may hold. More are closed when accepted.
	MaxConns, MaxConnsPerSource int
	// IdleTimeout closes a gRPC connection without calls, an HTTP
	// keep-alive connection between requests, and (when shorter than
	// handshakeTimeout) a connection that has not finished its handshake.
	IdleTimeout time.Duration
	// MaxStreams is how many calls one gRPC connection may have open at
	// once; StreamWindow how many bytes each may have sent that the node
	// has not read (its HTTP/2 flow-control window, fixed).
	MaxStreams, StreamWindow int
	// StreamBuffer and StreamBufferTotal bound the bytes of requests and
	// answers ResolveStream holds for one stream and for all of them: a
	// stream whose answers are not read stops being read.
	StreamBuffer, StreamBufferTotal int
	// MaxStreamCalls and MaxStreamCallsPerSource bound the streaming
	// calls open at once on the node and from one source network, over
	// all its connections; beyond them a call is refused ResourceExhausted.
	MaxStreamCalls, MaxStreamCallsPerSource int
}

// Check reports an unusable combination. grpcAddr is the listen address,
// checked without listening: plaintext is allowed only on loopback unless
// Insecure is set.
func (c SecurityConfig) Check(grpcAddr string) error {
	switch {
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return errors.New("--tls-cert and --tls-key go together")
	case c.ClientCA != "" && c.TLSCert == "":
		return errors.New("--client-ca needs --tls-cert and --tls-key")
	case c.TLSCert == "" && !c.Insecure && !IsLoopback(grpcAddr):
		return fmt.Errorf("refusing plaintext gRPC on %s, which is not a loopback address: give --tls-cert and --tls-key, or --insecure to allow plaintext", grpcAddr)
	case c.MaxRecvMsgSize < 0:
		return errors.New("--max-msg-size must not be negative")
	case c.AnonRateLimit < 0 || c.AnonRateBurst < 0:
		return errors.New("--anon-rate-limit and --anon-rate-burst must not be negative")
	case c.RateLimit < 0 || c.RateBurst < 0:
		return errors.New("--rate-limit and --rate-burst must not be negative")
	}
	if err := c.checkConnLimits(); err != nil {
		return err
	}
	return c.Limits.Check()
}

// IsLoopback reports whether a listen address (host:port) binds only a
// loopback interface. An empty or unspecified host binds every interface.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ServerTLS loads the listener's TLS configuration, or nil for plaintext.
func (c SecurityConfig) ServerTLS() (*tls.Config, error) {
	if c.TLSCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("load TLS key pair %s, %s: %w", c.TLSCert, c.TLSKey, err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if c.ClientCA != "" {
		pool, err := client.LoadCertPool(c.ClientCA)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// initSecurity checks the security configuration and prepares what the
// gRPC server needs; it runs before anything listens.
func (n *Node) initSecurity() error {
	sc := n.cfg.Security
	if err := sc.Check(n.cfg.GRPCAddr); err != nil {
		return err
	}
	var err error
	if n.tlsConfig, err = sc.ServerTLS(); err != nil {
		return err
	}
	burst := sc.RateBurst
	if burst == 0 {
		burst = max(1, int(sc.RateLimit))
	}
	anonBurst := sc.AnonRateBurst
	if anonBurst == 0 {
		anonBurst = max(1, int(sc.AnonRateLimit))
	}
	n.limiter = &grpcserver.RateLimiter{Rate: sc.RateLimit, Burst: burst, AnonRate: sc.AnonRateLimit, AnonBurst: anonBurst, Now: n.cfg.Now}
	return nil
}

// grpcOptions are the server options of the security configuration.
func (n *Node) grpcOptions() []grpc.ServerOption {
	size := n.cfg.Security.MaxRecvMsgSize
	if size == 0 {
		size = DefaultMaxRecvMsgSize
	}
	// Stream workers: handlers run on long-lived goroutines whose stacks
	// have already grown, instead of a new goroutine per call growing its
	// stack again (a tenth of the CPU under unary Resolve load).
	opts := []grpc.ServerOption{grpc.MaxRecvMsgSize(size), grpc.NumStreamWorkers(uint32(streamWorkers())),
		// Invalid UTF-8 in a request is InvalidArgument, not Internal.
		grpc.ForceServerCodecV2(grpcserver.Codec())}
	if n.tlsConfig != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(n.tlsConfig)))
	}
	return append(opts, n.connOptions()...)
}

// streamWorkers is how many goroutines serve gRPC calls before the server
// starts one per call: enough for the calls a few busy connections keep
// in flight per core.
func streamWorkers() int { return 16 * runtime.GOMAXPROCS(0) }

// newRegistry is the Registry service with the configured limits.
func (n *Node) newRegistry() (*registrar.Service, error) {
	svc := registrar.New(n.store, n.log)
	if err := svc.SetLimits(n.cfg.Security.Limits); err != nil {
		return nil, err
	}
	return svc, nil
}

// TLSConfig is the listener's TLS configuration (nil when plaintext), for
// other listeners of the node to share.
func (n *Node) TLSConfig() *tls.Config { return n.tlsConfig }
