package node

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver"
	"github.com/idres/idres/resolver/connlimit"
	"github.com/idres/idres/resolver/handleserver"
	"github.com/idres/idres/resolver/handlewire"
	"github.com/idres/idres/resolver/ratelimit"
)

// handlePerSource caps one source network's Handle TCP connections: half
// of what the server holds in all (handleserver.Limits.MaxConns), so one
// source cannot take every place; a load generator or a factory behind one
// NAT address still opens dozens.
const handlePerSource = 128

// startHandle runs the Handle-protocol server when Config.HandleAddr is
// set. The bound address joins self.Handle, so the node's own prefix
// handles (0.NA/<prefix>) carry its HS_SITE, and is the site that
// OC_GET_SITEINFO answers.
//
// Like the DNS bridge it answers through res: the authority, or on a
// recursive node the walker. The node's Handle key (handlekey.go) signs
// answers to requests with the certify flag; its public half is the
// server key of the node's HS_SITE, so hdllib verifies them.
func (n *Node) startHandle(self *idresv1.Delegation, res resolver.Resolver) error {
	if n.cfg.HandleAddr == "" {
		return nil
	}
	srv, err := handleserver.Listen(n.cfg.HandleAddr)
	if err != nil {
		return err
	}
	self.Handle = append(self.Handle, srv.Addr())
	observe, err := n.handleMetrics()
	if err != nil {
		srv.Shutdown(context.Background())
		return fmt.Errorf("Handle server metrics: %w", err)
	}
	if err := n.loadHandleKey(self); err != nil {
		srv.Shutdown(context.Background())
		return err
	}
	site := handlewire.ResolutionSite(srv.AddrPort(), 1, n.handleKey.public, "idres node")
	cfg := handleserver.Config{Resolver: res, Recursive: n.cfg.Recursive.Enabled(), Site: &site, Logger: n.log, Now: n.cfg.Now, Observe: observe,
		Credential: n.handleKey.Credential, Limits: handleserver.Limits{SignaturesPerSecond: n.cfg.HandleSignRate}}
	if n.cfg.HandleRateLimit > 0 {
		cfg.RateLimit = ratelimit.NewRRL(n.cfg.HandleRateLimit, n.cfg.HandleSlip)
		cfg.TCPRateLimit = ratelimit.NewRRL(n.cfg.HandleRateLimit, 0)
	}
	h, err := handleserver.New(cfg)
	if err != nil {
		srv.Shutdown(context.Background())
		return fmt.Errorf("Handle server: %w", err)
	}
	n.handle = srv
	// Per source as for gRPC and HTTP, but at most handlePerSource.
	srv.WrapTCP(func(l net.Listener) net.Listener {
		return connlimit.Wrap(l, connlimit.Limits{
			PerSource: min(orDefault(n.cfg.Security.MaxConnsPerSource, DefaultMaxConnsPerSource), handlePerSource),
			Reserve:   connReserve,
		})
	})
	srv.Serve(h)
	go func() {
		if err := <-srv.Err(); err != nil {
			n.serveErr <- err
		}
	}()
	n.log.Info("Handle server serving", "handle", srv.Addr())
	return nil
}

// handleMetrics registers the Handle server's collectors in the node's
// registry: idres_handle_requests_total{transport,rc} and
// idres_handle_request_duration_seconds{transport}.
func (n *Node) handleMetrics() (func(string, uint32, time.Duration), error) {
	if n.Metrics == nil {
		return nil, nil
	}
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "idres", Subsystem: "handle", Name: "requests_total",
		Help: "Handle-protocol requests answered, by transport and response code (RC_ name without the prefix).",
	}, []string{"transport", "rc"})
	took := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "idres", Subsystem: "handle", Name: "request_duration_seconds",
		Help:    "Time from a Handle request's arrival to its answer being ready to send.",
		Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .1},
	}, []string{"transport"})
	for _, c := range []prometheus.Collector{requests, took} {
		if err := n.Metrics.Register(c); err != nil {
			return nil, err
		}
	}
	return func(transport string, rc uint32, d time.Duration) {
		requests.WithLabelValues(transport, handlewire.RCName(rc)).Inc()
		took.WithLabelValues(transport).Observe(d.Seconds())
	}, nil
}

// HandleAddr is the Handle server's bound address, "" when it is not
// running.
func (n *Node) HandleAddr() string {
	if n.handle == nil {
		return ""
	}
	return n.handle.Addr()
}

func (n *Node) stopHandle(ctx context.Context) error {
	if n.handle == nil {
		return nil
	}
	if err := n.handle.Shutdown(ctx); err != nil {
		return fmt.Errorf("stop Handle server: %w", err)
	}
	return nil
}
