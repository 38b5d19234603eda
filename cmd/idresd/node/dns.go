package node

import (
	"context"
	"fmt"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver"
	"github.com/idres/idres/resolver/dnsbridge"
	"github.com/idres/idres/resolver/ratelimit"
)

// startDNS runs the DNS bridge when Config.DNSAddr is set. The bound
// address joins self.Dns, so the node's service values (TXT at each held
// prefix's name, 0.NA/<prefix>) and the bridge's NS glue both name it.
//
// The bridge answers through res, the Resolver the gRPC service and the
// HTTP gateway answer through: the authority (whose Self is self), or on
// a recursive node the walker, so DNS walks the hierarchy as they do.
func (n *Node) startDNS(self *idresv1.Delegation, res resolver.Resolver) error {
	if n.cfg.DNSAddr == "" {
		return nil
	}
	zone := n.cfg.DNSZone
	if zone == "" {
		zone = dnsbridge.DefaultZone
	}
	srv, err := dnsbridge.Listen(n.cfg.DNSAddr)
	if err != nil {
		return err
	}
	self.Dns = append(self.Dns, srv.Addr())
	observe, err := n.dnsMetrics()
	if err != nil {
		srv.Shutdown(context.Background())
		return fmt.Errorf("DNS bridge metrics: %w", err)
	}
	var rrl *ratelimit.RRL
	if n.cfg.DNSRateLimit > 0 {
		rrl = ratelimit.NewRRL(n.cfg.DNSRateLimit, n.cfg.DNSSlip)
	}
	h, err := dnsbridge.New(dnsbridge.Config{Zone: zone, Resolver: res, Recursive: n.cfg.Recursive.Enabled(), Logger: n.log, Observe: observe, RateLimit: rrl})
	if err != nil {
		srv.Shutdown(context.Background())
		return fmt.Errorf("DNS bridge: %w", err)
	}
	n.dns = srv
	srv.Serve(h)
	go func() {
		if err := <-srv.Err(); err != nil {
			n.serveErr <- err
		}
	}()
	n.log.Info("DNS bridge serving", "dns", srv.Addr(), "zone", h.Zone())
	return nil
}

// dnsMetrics registers the bridge's collectors in the node's registry:
// idres_dns_queries_total{transport,rcode} and
// idres_dns_request_duration_seconds{transport}.
func (n *Node) dnsMetrics() (func(string, int, time.Duration), error) {
	if n.Metrics == nil {
		return nil, nil
	}
	queries := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "idres", Subsystem: "dns", Name: "queries_total",
		Help: "DNS questions the bridge answered, by transport and rcode.",
	}, []string{"transport", "rcode"})
	took := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "idres", Subsystem: "dns", Name: "request_duration_seconds",
		Help:    "Time from a DNS question's arrival to its answer being ready to send.",
		Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .1},
	}, []string{"transport"})
	for _, c := range []prometheus.Collector{queries, took} {
		if err := n.Metrics.Register(c); err != nil {
			return nil, err
		}
	}
	return func(transport string, rcode int, d time.Duration) {
		queries.WithLabelValues(transport, dns.RcodeToString[rcode]).Inc()
		took.WithLabelValues(transport).Observe(d.Seconds())
	}, nil
}

// DNSAddr is the DNS bridge's bound address, "" when it is not running.
func (n *Node) DNSAddr() string {
	if n.dns == nil {
		return ""
	}
	return n.dns.Addr()
}

func (n *Node) stopDNS(ctx context.Context) error {
	if n.dns == nil {
		return nil
	}
	if err := n.dns.Shutdown(ctx); err != nil {
		return fmt.Errorf("stop DNS bridge: %w", err)
	}
	return nil
}
