package node

import (
	"context"
	"fmt"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/dnsbridge"
)

// startDNS runs the DNS bridge when Config.DNSAddr is set. The bound
// address joins self.Dns, so the node's service values (TXT at each held
// prefix's name, 0.NA/<prefix>) and the bridge's NS glue both name it.
func (n *Node) startDNS(self *idresv1.Delegation) error {
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
	h, err := dnsbridge.New(dnsbridge.Config{Zone: zone, Store: n.store, Self: self, Logger: n.log})
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
