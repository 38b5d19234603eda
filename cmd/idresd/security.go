package main

import (
	"flag"

	"github.com/idres/idres/cmd/idresd/node"
	"github.com/idres/idres/registry/registrar"
	"github.com/idres/idres/registry/value"
)

// securityFlags registers TLS, limit and rate flags (design §6). The
// node checks their combination at start (node.SecurityConfig.Check).
func securityFlags(fs *flag.FlagSet, sc *node.SecurityConfig) {
	fs.StringVar(&sc.TLSCert, "tls-cert", "", "PEM certificate of the gRPC listener (with --tls-key)")
	fs.StringVar(&sc.TLSKey, "tls-key", "", "PEM private key of the gRPC listener (with --tls-cert)")
	fs.StringVar(&sc.ClientCA, "client-ca", "", "PEM CA bundle: require client certificates it signed (mutual TLS)")
	fs.BoolVar(&sc.Insecure, "insecure", false, "allow plaintext gRPC on a non-loopback address")
	fs.IntVar(&sc.MaxRecvMsgSize, "max-msg-size", node.DefaultMaxRecvMsgSize, "largest gRPC request in bytes")
	fs.IntVar(&sc.Limits.MaxValues, "max-values", value.MaxValues, "most values per identifier (at most 1000)")
	fs.IntVar(&sc.Limits.MaxValueBytes, "max-value-size", value.MaxDataLen, "most bytes of data per value (at most 65536)")
	fs.IntVar(&sc.Limits.MaxIdentifierBytes, "max-identifier-bytes", value.DefaultMaxSize, "most bytes of type and data in all the values of one identifier, on every write and in every HTTP answer (at most 4128768)")
	fs.IntVar(&sc.Limits.MaxPageSize, "max-page-size", registrar.MaxPageSize, "largest page a List call may ask for (at most 1000)")
	fs.Float64Var(&sc.RateLimit, "rate-limit", 1000, "calls per second each credential may make on average (0: unlimited)")
	fs.IntVar(&sc.RateBurst, "rate-burst", 2000, "calls a credential may make at once (token bucket size)")
	fs.Float64Var(&sc.AnonRateLimit, "anon-rate-limit", 0, "calls per second anonymous callers of one source network (IPv4 address, IPv6 /64) may make on average over gRPC and HTTP (0: unlimited)")
	fs.IntVar(&sc.AnonRateBurst, "anon-rate-burst", 0, "calls anonymous callers of one source network may make at once (0: max(1, --anon-rate-limit))")
	// What an anonymous caller can hold (node/connlimits.go).
	fs.IntVar(&sc.MaxConns, "max-conns", node.DefaultMaxConns, "connections the gRPC and the HTTP listener each hold; more are closed at once (127.0.0.1 and ::1 get 64 more, for health probes)")
	fs.IntVar(&sc.MaxConnsPerSource, "max-conns-per-source", node.DefaultMaxConnsPerSource, "connections one source network (IPv4 address, IPv6 /64) may hold on each of the gRPC and HTTP listeners")
	fs.DurationVar(&sc.IdleTimeout, "idle-timeout", node.DefaultIdleTimeout, "close a gRPC connection without calls, or an HTTP keep-alive connection between requests, after this long")
	fs.IntVar(&sc.MaxStreams, "max-streams", node.DefaultMaxStreams, "calls one gRPC connection may have open at once (clients wait beyond it)")
	fs.IntVar(&sc.MaxStreamCalls, "max-stream-calls", node.DefaultMaxStreamCalls, "streaming calls (ResolveStream, Watch, Import...) open at once on the node; more are refused ResourceExhausted")
	fs.IntVar(&sc.MaxStreamCallsPerSource, "max-stream-calls-per-source", node.DefaultMaxStreamCallsPerSource, "streaming calls one source network (IPv4 address, IPv6 /64) may have open at once, over all its connections")
	fs.IntVar(&sc.StreamWindow, "stream-window", node.DefaultStreamWindow, "bytes a gRPC call may send that the node has not read yet (HTTP/2 stream window, fixed; at least 65536)")
	fs.IntVar(&sc.StreamBuffer, "stream-buffer", node.DefaultStreamBuffer, "bytes of requests and answers one ResolveStream may hold; past it the node reads no more of the stream until its answers are read")
	fs.IntVar(&sc.StreamBufferTotal, "stream-buffer-total", node.DefaultStreamBufferTotal, "bytes of requests and answers all ResolveStreams together may hold")
}
