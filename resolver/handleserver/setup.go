package handleserver

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/idres/idres/resolver"
	"github.com/idres/idres/resolver/handlewire"
	"github.com/idres/idres/resolver/ratelimit"
)

// Config is what a Handle server needs. Every field but Resolver works at
// its zero value.
type Config struct {
	// Resolver answers every resolution: the node's answer.Authority, or
	// on a recursive node its walker, so Handle walks as gRPC does.
	Resolver resolver.Resolver
	// Recursive says that Resolver walks the hierarchy: its answers come
	// through a cache, so responses do not echo the authoritative flag.
	Recursive bool
	// Site is the node's own HS_SITE, the answer to OC_GET_SITEINFO (the
	// node builds it from its bound address); nil: that request is not
	// supported.
	Site *handlewire.SiteInfo
	// Credential, when set, signs responses to requests with the certify
	// flag: its result over the response's header and body becomes the
	// credential section. Nil: responses are unsigned.
	Credential func(v handlewire.Version, signed []byte) ([]byte, error)
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock of response expirations; nil means time.Now.
	Now func() time.Time
	// Observe, when set, is told of every response sent: its transport
	// ("udp" or "tcp"), response code and how long it took (for metrics).
	Observe func(transport string, rc uint32, took time.Duration)
	// RateLimit, when set, limits UDP answers per source network as the
	// DNS bridge's RRL does: over the limit, answers are dropped, every
	// Slip-th one sent truncated so a real client retries over TCP.
	RateLimit *ratelimit.RRL
	// TCPRateLimit, when set, limits TCP requests per source network;
	// over the limit a request is answered RC_SERVER_TOO_BUSY. Give it its
	// own RRL: a client sent to TCP by a truncated UDP answer must find
	// TCP's budget unspent.
	TCPRateLimit *ratelimit.RRL
	// ResolveTimeout bounds one resolution (a recursive one may walk
	// several nodes); 0 is 10 s.
	ResolveTimeout time.Duration
	// Limits bound what one TCP client may hold; zero fields take the
	// defaults.
	Limits Limits
}

// Limits bound the cost of anonymous TCP clients.
type Limits struct {
	// IdleTimeout is how long a connection may wait for its next request
	// (hdllib keeps one open between requests with the keep-alive flag);
	// 0 is 10 s.
	IdleTimeout time.Duration
	// ReadTimeout bounds reading one request from its first byte; 0 is 5 s.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing one response; 0 is 5 s.
	WriteTimeout time.Duration
	// RequestsPerConn is how many requests one connection may send before
	// the server closes it; 0 is 100.
	RequestsPerConn int
	// MaxConns is how many TCP connections are served at once; more are
	// closed unread. Each may hold a message of up to
	// handlewire.MaxMessageLength. 0 is 256.
	MaxConns int
	// MaxUDPInFlight is how many UDP requests are answered at once; more
	// are dropped, as a full socket buffer would. 0 is 256.
	MaxUDPInFlight int
	// SignaturesPerSecond bounds the signed answers (requests with the
	// certify flag) the whole server makes a second, about a millisecond
	// of a core each; beyond it such requests get RC_SERVER_TOO_BUSY,
	// unsigned. 0 is 200.
	SignaturesPerSecond float64
}

func (l Limits) withDefaults() Limits {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.IdleTimeout, 10*time.Second)
	def(&l.ReadTimeout, 5*time.Second)
	def(&l.WriteTimeout, 5*time.Second)
	if l.RequestsPerConn <= 0 {
		l.RequestsPerConn = 100
	}
	if l.MaxConns <= 0 {
		l.MaxConns = 256
	}
	if l.MaxUDPInFlight <= 0 {
		l.MaxUDPInFlight = 256
	}
	if l.SignaturesPerSecond <= 0 {
		l.SignaturesPerSecond = 200
	}
	return l
}

// New returns the handler for cfg.
func New(cfg Config) (*Handler, error) {
	if cfg.Resolver == nil {
		return nil, errors.New("handleserver: no resolver")
	}
	h := &Handler{
		res: cfg.Resolver, recursive: cfg.Recursive, log: cfg.Logger, now: cfg.Now, timeout: cfg.ResolveTimeout,
		credential: cfg.Credential, observe: cfg.Observe, limits: cfg.Limits.withDefaults(),
	}
	if cfg.RateLimit != nil {
		h.limitUDP = cfg.RateLimit
	}
	if cfg.TCPRateLimit != nil {
		h.limitTCP = cfg.TCPRateLimit
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.signs = newSignBudget(h.limits.SignaturesPerSecond)
	if h.timeout <= 0 {
		h.timeout = 10 * time.Second
	}
	if cfg.Site != nil {
		h.site = handlewire.AppendSiteInfo(nil, cfg.Site)
		h.siteSerial = cfg.Site.SerialNumber
	}
	return h, nil
}

// rateLimiter is a ratelimit.RRL; an interface so that a nil limiter is
// a nil interface.
type rateLimiter interface {
	Check(net.Addr) ratelimit.Verdict
}

// Server serves one handler over UDP and TCP on the same address.
type Server struct {
	pc   net.PacketConn
	ln   net.Listener
	h    *Handler
	errc chan error

	ctx    context.Context // ends in-flight resolutions when Shutdown gives up
	cancel context.CancelFunc
	wg     sync.WaitGroup // the loops, connections and UDP answers

	mu      sync.Mutex
	closed  bool
	conns   map[net.Conn]struct{}
	connSem chan struct{}
	udpSem  chan struct{}
}

// Listen binds UDP and TCP on addr (host:port). With port 0 both get the
// same free port: UDP is bound first and TCP on its port, retried a few
// times if another process takes that TCP port in between.
func Listen(addr string) (*Server, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("Handle address %q: %w", addr, err)
	}
	for try := 0; ; try++ {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, fmt.Errorf("listen Handle UDP on %s: %w", addr, err)
		}
		tcpAddr := pc.LocalAddr().String()
		ln, err := net.Listen("tcp", tcpAddr)
		if err == nil {
			ctx, cancel := context.WithCancel(context.Background())
			return &Server{pc: pc, ln: ln, errc: make(chan error, 2), ctx: ctx, cancel: cancel, conns: map[net.Conn]struct{}{}}, nil
		}
		pc.Close()
		if port != "0" || try == 10 || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("listen Handle TCP on %s (host %s): %w", tcpAddr, host, err)
		}
	}
}

// Addr is the bound address, the same for UDP and TCP.
func (s *Server) Addr() string { return s.pc.LocalAddr().String() }

// AddrPort is Addr parsed, e.g. for the node's own HS_SITE.
func (s *Server) AddrPort() netip.AddrPort {
	return s.pc.LocalAddr().(*net.UDPAddr).AddrPort()
}

// WrapTCP replaces the TCP listener with wrap's result (e.g. a cap on
// connections per source, which the server's own MaxConns does not
// have). Call it before Serve.
func (s *Server) WrapTCP(wrap func(net.Listener) net.Listener) { s.ln = wrap(s.ln) }

// Serve starts answering with h in the background; both sockets are
// bound already, so requests are answered once it returns. Failures
// while serving arrive on Err.
func (s *Server) Serve(h *Handler) {
	s.h = h
	s.connSem = make(chan struct{}, h.limits.MaxConns)
	s.udpSem = make(chan struct{}, h.limits.MaxUDPInFlight)
	s.wg.Add(2)
	go s.serveUDP()
	go s.serveTCP()
}

// Err delivers a transport's failure while serving.
func (s *Server) Err() <-chan error { return s.errc }

// Shutdown stops both transports: no new request is read, and in-flight
// answers are sent until ctx ends, when every connection is closed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	now := time.Now()
	// Unblock the UDP loop and every connection waiting for a request;
	// those answering finish and then find the server closed.
	s.pc.SetReadDeadline(now)
	for c := range s.conns {
		c.SetReadDeadline(now)
	}
	s.mu.Unlock()
	s.ln.Close()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		s.cancel()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		<-done
		err = fmt.Errorf("stop Handle server: %w", ctx.Err())
	}
	s.cancel()
	s.pc.Close()
	return err
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Server) serveUDP() {
	defer s.wg.Done()
	// One datagram is at most 64 KiB; requests that need more are not
	// single-datagram requests and are refused as multi-packet anyway.
	buf := make([]byte, 1<<16)
	for {
		n, addr, err := s.pc.ReadFrom(buf)
		if err != nil {
			if s.isClosed() {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			s.errc <- fmt.Errorf("serve Handle UDP on %s: %w", s.Addr(), err)
			return
		}
		select {
		case s.udpSem <- struct{}{}:
		default:
			continue // overloaded: drop, as a full socket buffer would
		}
		pkt := append([]byte(nil), buf[:n]...)
		s.wg.Add(1)
		go func() {
			defer func() { <-s.udpSem; s.wg.Done() }()
			s.answerUDP(pkt, addr)
		}()
	}
}

func (s *Server) answerUDP(pkt []byte, addr net.Addr) {
	h, start := s.h, time.Now()
	var out []byte
	var rc uint32
	verdict := ratelimit.Send
	if h.limitUDP != nil {
		verdict = h.limitUDP.Check(addr)
	}
	switch verdict {
	case ratelimit.Drop:
		return
	case ratelimit.SendTruncated:
		out, rc = h.refuse(pkt, handlewire.RCServerTooBusy, "rate limited: retry over TCP")
		out = Truncate(out)
	default:
		out, rc = h.Answer(s.ctx, pkt)
		if len(out) > handlewire.MaxUDPPacket {
			out = Truncate(out)
		}
	}
	if out == nil {
		return
	}
	// Observed before the write, as over TCP.
	if h.observe != nil {
		h.observe("udp", rc, time.Since(start))
	}
	if _, err := s.pc.WriteTo(out, addr); err != nil {
		h.log.Debug("Handle UDP write failed", "remote", addr, "err", err)
	}
}

// Truncate is what goes over UDP instead of a response (full, as
// AppendFrame wrote it) too large for one datagram, so that no answer is
// larger than handlewire.MaxUDPPacket: the envelope with the truncated
// flag and the header alone, its body length 0, no credential section.
//
// What hdllib 7.3.1 does with it (TestHdlTraceWalksTheHierarchy): it reads
// a truncated envelope as the first packet of a multi-packet message;
// this one says it is complete, and decoding it fails (no body where the
// response code promises one), so hdllib spends its three UDP tries at
// once and its resolver asks again over TCP, its next protocol, in well
// under a second. A truncated message announcing the full response's
// length instead would leave hdllib waiting for packets that never come,
// through its whole UDP retry schedule (1 + 2 + 3 s), before TCP.
func Truncate(full []byte) []byte {
	if len(full) < handlewire.EnvelopeSize+handlewire.HeaderSize {
		return nil
	}
	out := make([]byte, handlewire.EnvelopeSize+handlewire.HeaderSize)
	copy(out, full)
	out[2] |= handlewire.EnvTruncated
	binary.BigEndian.PutUint32(out[16:], handlewire.HeaderSize)
	binary.BigEndian.PutUint32(out[handlewire.EnvelopeSize+20:], 0)
	return out
}

// refuse answers the request in raw with rc and msg, without resolving.
func (h *Handler) refuse(raw []byte, rc uint32, msg string) ([]byte, uint32) {
	if len(raw) < handlewire.EnvelopeSize {
		return nil, rc
	}
	r := h.start(raw)
	if r.decoded {
		r.digest = handlewire.RequestDigest(answerVersion(r.env.Version), &r.req)
	}
	r.fail(rc, msg)
	return h.finish(r), rc
}

func (s *Server) serveTCP() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if s.isClosed() {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			s.errc <- fmt.Errorf("serve Handle TCP on %s: %w", s.Addr(), err)
			return
		}
		select {
		case s.connSem <- struct{}{}:
		default:
			c.Close() // at MaxConns
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			<-s.connSem
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
				<-s.connSem
				s.wg.Done()
			}()
			s.serveConn(c)
		}()
	}
}

// serveConn answers the requests of one connection in turn, as long as
// each asks to keep the connection (the keep-alive flag) and at most
// Limits.RequestsPerConn of them.
func (s *Server) serveConn(c net.Conn) {
	h, lim := s.h, s.h.limits
	for n := 0; n < lim.RequestsPerConn; n++ {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return
		}
		// Under the lock, so that Shutdown's deadline is not overwritten.
		c.SetReadDeadline(time.Now().Add(lim.IdleTimeout))
		s.mu.Unlock()
		var env [handlewire.EnvelopeSize]byte
		if _, err := io.ReadFull(c, env[:1]); err != nil {
			return // closed, idle or shut down: nothing was asked
		}
		start := time.Now()
		c.SetReadDeadline(start.Add(lim.ReadTimeout))
		if _, err := io.ReadFull(c, env[1:]); err != nil {
			return // no envelope: nothing to answer to
		}
		e, err := handlewire.DecodeEnvelope(env[:])
		msg := env[:]
		if err == nil {
			msg = make([]byte, handlewire.EnvelopeSize+int(e.MessageLength))
			copy(msg, env[:])
			k, rerr := io.ReadFull(c, msg[handlewire.EnvelopeSize:])
			msg = msg[:handlewire.EnvelopeSize+k]
			err = rerr
		}
		var out []byte
		var rc uint32
		if h.limitTCP != nil && err == nil && h.limitTCP.Check(c.RemoteAddr()) != ratelimit.Send {
			out, rc = h.refuse(msg, handlewire.RCServerTooBusy, "rate limited: too many requests from this network")
		} else {
			// A message cut short is answered too (a protocol error):
			// the envelope was readable, so the client can match it.
			out, rc = h.Answer(s.ctx, msg)
		}
		// Observed before the write, so a client that has its answer
		// also finds it counted.
		if h.observe != nil {
			h.observe("tcp", rc, time.Since(start))
		}
		c.SetWriteDeadline(time.Now().Add(lim.WriteTimeout))
		_, werr := c.Write(out)
		if err != nil || werr != nil || !keepAlive(msg) {
			return
		}
	}
}

// keepAlive reports whether the request in raw asks to keep the
// connection open for another.
func keepAlive(raw []byte) bool {
	const flags = handlewire.EnvelopeSize + 8
	return len(raw) >= flags+4 && binary.BigEndian.Uint32(raw[flags:])&handlewire.FlagKeepAlive != 0
}
