package dnsbridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/dns"

	"github.com/idres/idres/resolver"
	"github.com/idres/idres/resolver/dnsname"
	"github.com/idres/idres/resolver/ratelimit"
)

// DefaultZone is the zone a node serves when none is configured.
const DefaultZone = "id.example."

// Config is what a bridge needs.
type Config struct {
	// Zone is the DNS zone mirroring the identifier space, e.g.
	// "id.example."; the root prefix "" is its apex.
	Zone string
	// Resolver answers every question: the node's answer.Authority, or
	// on a recursive node its walker (the one gRPC and HTTP use). When it
	// is also a resolver.PrefixResolver, the root prefix's name is
	// answered too. A held prefix's service values (its handle's values)
	// give the TXT at its name and, from its IDRES_DNS values, its NS
	// hosts and their addresses.
	Resolver resolver.Resolver
	// Recursive says that Resolver walks the hierarchy: answers carry RA,
	// and AA only as the resolver's answers do (never, for a walker).
	Recursive bool
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// Observe, when set, is told of every answer sent: its transport
	// ("udp" or "tcp"), rcode and how long it took (for metrics).
	Observe func(transport string, rcode int, took time.Duration)
	// RateLimit, when set, limits UDP answers per source network (RRL).
	RateLimit *ratelimit.RRL
}

// New returns the handler for cfg.
func New(cfg Config) (*Handler, error) {
	if cfg.Resolver == nil {
		return nil, errors.New("dnsbridge: no resolver")
	}
	zone, err := dnsname.CanonicalZone(cfg.Zone)
	if err != nil {
		return nil, fmt.Errorf("dnsbridge: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	h := &Handler{zone: zone, res: cfg.Resolver, recursive: cfg.Recursive, log: log, observe: cfg.Observe, rrl: cfg.RateLimit}
	h.prefixes, _ = cfg.Resolver.(resolver.PrefixResolver)
	return h, nil
}

// Zone is the canonical zone the handler serves.
func (h *Handler) Zone() string { return h.zone }

// Server serves one handler over UDP and TCP on the same address.
type Server struct {
	pc   net.PacketConn
	ln   net.Listener
	udp  *dns.Server
	tcp  *dns.Server
	errc chan error
}

// Listen binds UDP and TCP on addr (host:port). With port 0 both get the
// same free port: UDP is bound first and TCP on its port, retried a few
// times if another process takes that TCP port in between.
func Listen(addr string) (*Server, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("DNS address %q: %w", addr, err)
	}
	for try := 0; ; try++ {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, fmt.Errorf("listen DNS UDP on %s: %w", addr, err)
		}
		tcpAddr := pc.LocalAddr().String()
		ln, err := net.Listen("tcp", tcpAddr)
		if err == nil {
			return &Server{pc: pc, ln: ln, errc: make(chan error, 2)}, nil
		}
		pc.Close()
		if port != "0" || try == 10 || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("listen DNS TCP on %s (host %s): %w", tcpAddr, host, err)
		}
	}
}

// Addr is the bound address, the same for UDP and TCP.
func (s *Server) Addr() string { return s.pc.LocalAddr().String() }

// Serve starts answering with h in the background and returns once both
// transports are serving. Failures while serving arrive on Err.
func (s *Server) Serve(h dns.Handler) {
	var wg sync.WaitGroup
	wg.Add(2)
	started := func() { wg.Done() }
	s.udp = &dns.Server{PacketConn: s.pc, Handler: h, NotifyStartedFunc: started, UDPSize: dns.MaxMsgSize, DecorateReader: strict}
	s.tcp = &dns.Server{
		Listener: s.ln, Handler: h, NotifyStartedFunc: started, DecorateReader: strict,
		ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, IdleTimeout: func() time.Duration { return 8 * time.Second },
	}
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		go func() {
			if err := srv.ActivateAndServe(); err != nil {
				s.errc <- fmt.Errorf("serve DNS on %s: %w", s.Addr(), err)
			}
		}()
	}
	wg.Wait()
}

// Err delivers a transport's failure while serving.
func (s *Server) Err() <-chan error { return s.errc }

// Shutdown stops both transports, waiting for in-flight answers until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	var errs []error
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		if srv != nil {
			if err := srv.ShutdownContext(ctx); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if s.udp == nil {
		s.pc.Close()
		s.ln.Close()
	}
	return errors.Join(errs...)
}
