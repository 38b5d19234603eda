package node

import (
	"errors"
	"net"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	"github.com/idres/idres/resolver/connlimit"
	"github.com/idres/idres/resolver/grpcserver"
)

// Defaults of the connection limits (SecurityConfig). A normal client
// never meets them: idres and a recursive node keep one connection per
// node, a busy site behind one NAT address a few hundred at most.
const (
	DefaultMaxConns          = 4096
	DefaultMaxConnsPerSource = 256
	DefaultIdleTimeout       = 2 * time.Minute
	// DefaultMaxStreams is HTTP/2's recommended least; idres's clients
	// pipeline over a few streams, and wait (not fail) at the limit.
	DefaultMaxStreams = 100
	// DefaultStreamWindow is HTTP/2's initial window; fixed, as gRPC's
	// automatic growth would take it to 16 MiB a stream. A message larger
	// than the window is let in whole when the handler reads it.
	DefaultStreamWindow = 64 << 10
	// DefaultMaxStreamCalls and ...PerSource: an idle ResolveStream holds
	// ~30 KB (two goroutines, its queues, gRPC's stream), so 16384 of
	// them are ~0.5 GB, 1024 from one source ~30 MB.
	DefaultMaxStreamCalls          = 16384
	DefaultMaxStreamCallsPerSource = 1024
	DefaultStreamBuffer            = grpcserver.DefaultStreamBuffer
	DefaultStreamBufferTotal       = grpcserver.DefaultStreamBufferTotal
)

const (
	// connReserve is how many connections from 127.0.0.1 and ::1 each
	// listener takes beyond MaxConns: a health probe or an operator on
	// the node's own host gets in while the public side is full.
	connReserve = 64
	// handshakeTimeout bounds a new gRPC connection's TLS and HTTP/2
	// handshake (gRPC's own default is 120 s).
	handshakeTimeout = 10 * time.Second
	// keepaliveTime: a gRPC connection silent this long is pinged, and
	// closed when the ping is not answered in keepaliveTimeout, so a peer
	// that vanished does not hold its streams.
	keepaliveTime    = time.Minute
	keepaliveTimeout = 20 * time.Second
	// minClientPing: a client pinging more often than this is told
	// "too_many_pings" and disconnected.
	minClientPing = 30 * time.Second
)

func (c SecurityConfig) checkConnLimits() error {
	switch {
	case c.MaxConns < 0 || c.MaxConnsPerSource < 0 || c.IdleTimeout < 0:
		return errors.New("--max-conns, --max-conns-per-source and --idle-timeout must not be negative")
	case c.MaxStreams < 0 || c.StreamBuffer < 0 || c.StreamBufferTotal < 0 || c.MaxStreamCalls < 0 || c.MaxStreamCallsPerSource < 0:
		return errors.New("--max-streams, --max-stream-calls, --max-stream-calls-per-source, --stream-buffer and --stream-buffer-total must not be negative")
	case c.StreamWindow != 0 && (c.StreamWindow < 64<<10 || c.StreamWindow > 1<<30):
		return errors.New("--stream-window must be between 64 KiB (65536) and 1 GiB")
	}
	return nil
}

func orDefault[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// limitListener caps the connections of one of the node's TCP listeners
// (gRPC, HTTP).
func (n *Node) limitListener(l net.Listener) net.Listener {
	sc := n.cfg.Security
	return connlimit.Wrap(l, connlimit.Limits{
		Max:       orDefault(sc.MaxConns, DefaultMaxConns),
		PerSource: orDefault(sc.MaxConnsPerSource, DefaultMaxConnsPerSource),
		Reserve:   connReserve,
	})
}

// idleTimeout is SecurityConfig.IdleTimeout or its default.
func (n *Node) idleTimeout() time.Duration {
	return orDefault(n.cfg.Security.IdleTimeout, DefaultIdleTimeout)
}

// connOptions are the gRPC server options that bound what one
// connection may hold and how long an idle one lives.
func (n *Node) connOptions() []grpc.ServerOption {
	idle := n.idleTimeout()
	sc := n.cfg.Security
	window := orDefault(sc.StreamWindow, DefaultStreamWindow)
	return []grpc.ServerOption{
		grpc.MaxConcurrentStreams(uint32(orDefault(sc.MaxStreams, DefaultMaxStreams))),
		// Fixed windows (no automatic growth). The connection's is only a
		// rate: gRPC acknowledges connection-level bytes as they arrive.
		grpc.StaticStreamWindowSize(int32(window)),
		grpc.StaticConnWindowSize(int32(16 * window)),
		grpc.ConnectionTimeout(min(handshakeTimeout, idle)),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: idle, Time: keepaliveTime, Timeout: keepaliveTimeout}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: minClientPing, PermitWithoutStream: true}),
	}
}

// streamCalls is the interceptor that bounds open streaming calls.
func (n *Node) streamCalls() *grpcserver.StreamCalls {
	sc := n.cfg.Security
	return &grpcserver.StreamCalls{Total: orDefault(sc.MaxStreamCalls, DefaultMaxStreamCalls),
		PerSource: orDefault(sc.MaxStreamCallsPerSource, DefaultMaxStreamCallsPerSource)}
}

// limitStreams applies the stream buffers to the Resolver service.
func (n *Node) limitStreams(svc *grpcserver.Service) *grpcserver.Service {
	svc.Buffer = int64(orDefault(n.cfg.Security.StreamBuffer, DefaultStreamBuffer))
	svc.BufferTotal = int64(orDefault(n.cfg.Security.StreamBufferTotal, DefaultStreamBufferTotal))
	return svc
}

// checkFileLimit warns when the process may open fewer files than its
// listeners may hold connections. (Go raises the soft RLIMIT_NOFILE to
// the hard one at start; this reads what that gave.)
func (n *Node) checkFileLimit() {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return
	}
	listeners := 1
	if n.cfg.HTTPAddr != "" {
		listeners++
	}
	need := uint64(listeners*(orDefault(n.cfg.Security.MaxConns, DefaultMaxConns)+connReserve) + fileReserve)
	if lim.Cur < need {
		n.log.Warn("the file descriptor limit is below what the connection limits allow: raise it (ulimit -n, LimitNOFILE=) or lower --max-conns",
			"limit", lim.Cur, "hard_limit", lim.Max, "needed", need)
	}
}

// fileReserve is the descriptors the node needs besides its gRPC and HTTP
// connections: the store, the DNS and Handle sockets and their TCP
// connections (handleserver caps its own), upstream connections.
const fileReserve = 1024
