package recursive

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
)

// ErrDialDenied is why the walker did not dial an endpoint: its address
// is outside what the DialPolicy lets the node reach.
var ErrDialDenied = errors.New("denied by the dial policy")

// DialPolicy says which networks a walker may dial for the endpoints that
// delegations name. Any subtree's administrator writes those addresses, so
// without a policy a recursive node would connect wherever it is told: to
// its own host's services, the cloud metadata service, the operator's
// private network (REC-012).
//
// The policy is enforced at dial time on the address actually connected
// to, after name resolution: a host name that resolves to a denied address
// is denied. The root hints, which the operator configures, are dialled
// whatever the policy says.
type DialPolicy struct {
	// Allow, when not empty, lists the only networks that may be dialled.
	Allow []netip.Prefix
	// Deny lists networks that may not be dialled, even when Allow covers
	// them.
	Deny []netip.Prefix
}

// Named groups of networks for ParseNetworks (and so for the
// --recursive-deny and --recursive-allow flags).
var networkGroups = map[string][]string{
	// default is what a recursive node denies unless told otherwise:
	// addresses that are never an idres node's and that reach things a
	// stranger should not (the host's link, cloud metadata services).
	"default": {
		"0.0.0.0/8",          // "this network", 0.0.0.0 reaches the host itself
		"169.254.0.0/16",     // link-local, with 169.254.169.254: the metadata service of AWS, GCP, Azure, OCI, OpenStack
		"100.100.100.200/32", // Alibaba Cloud's metadata service
		"168.63.129.16/32",   // Azure's WireServer
		"192.0.0.192/32",     // Oracle Cloud's legacy metadata address
		"224.0.0.0/4",        // multicast
		"240.0.0.0/4",        // reserved, with the broadcast address
		"::/128",             // unspecified
		"fe80::/10",          // link-local
		"fd00:ec2::254/128",  // AWS's metadata service over IPv6
		"ff00::/8",           // multicast
	},
	// loopback is the node's own host. Every test hierarchy and the demo
	// run there, so it is not denied by default; production nodes should
	// deny it.
	"loopback": {"127.0.0.0/8", "::1/128"},
	// private is the operator's own networks (RFC 1918, shared address
	// space, unique local addresses).
	"private": {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"},
}

// NetworkGroups names the groups ParseNetworks knows, for help texts.
const NetworkGroups = "default, loopback, private"

// DefaultDialPolicy denies the "default" group and allows the rest,
// loopback included.
func DefaultDialPolicy() *DialPolicy {
	p, err := ParseNetworks("default")
	if err != nil {
		panic(err)
	}
	return &DialPolicy{Deny: p}
}

// ParseNetworks reads a comma-separated list of CIDR prefixes, single
// addresses and group names (default, loopback, private). An empty list
// gives an empty, non-nil slice.
func ParseNetworks(s string) ([]netip.Prefix, error) {
	out := []netip.Prefix{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if g, ok := networkGroups[strings.ToLower(item)]; ok {
			for _, n := range g {
				out = append(out, netip.MustParsePrefix(n))
			}
			continue
		}
		if strings.Contains(item, "/") {
			p, err := netip.ParsePrefix(item)
			if err != nil {
				return nil, fmt.Errorf("network %q: %v", item, err)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("network %q is not a CIDR prefix, an address or one of %s", item, NetworkGroups)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// nat64 is the well-known NAT64 prefix (RFC 6052): on a network that
// translates it, 64:ff9b::a9fe:a9fe reaches 169.254.169.254.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// Check returns nil when a may be dialled, else an error wrapping
// ErrDialDenied. IPv4-mapped and NAT64 addresses are judged by the IPv4
// address they carry as well.
func (p *DialPolicy) Check(a netip.Addr) error {
	a = a.WithZone("").Unmap()
	forms := []netip.Addr{a}
	if a.Is6() && nat64.Contains(a) {
		b := a.As16()
		forms = append(forms, netip.AddrFrom4([4]byte(b[12:])))
	}
	for _, f := range forms {
		if len(p.Allow) > 0 && !contains(p.Allow, f) {
			return fmt.Errorf("%w: %s is outside the allowed networks", ErrDialDenied, a)
		}
		for _, n := range p.Deny {
			if n.Contains(f) {
				return fmt.Errorf("%w: %s is in denied network %s", ErrDialDenied, a, n)
			}
		}
	}
	return nil
}

func contains(nets []netip.Prefix, a netip.Addr) bool {
	for _, n := range nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// checkEndpoint refuses before any dial what is wrong with a delegation's
// host:port on its face: no port, port 0, or an address literal the policy
// denies. Host names are checked when they are resolved (dialer).
func (p *DialPolicy) checkEndpoint(hostport string) error {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("%w: %q is not host:port", ErrDialDenied, hostport)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%w: port %q is not 1 to 65535", ErrDialDenied, port)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return p.Check(a)
	}
	return nil
}

// dialer connects to addr over TCP after the policy has passed the
// address the name resolved to: net.Dialer calls Control with the IP
// address of each attempt, before connect(2).
func (p *DialPolicy) dialer() func(context.Context, string) (net.Conn, error) {
	d := &net.Dialer{Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: cannot read the address %q", ErrDialDenied, address)
		}
		return p.Check(ap.Addr())
	}}
	return func(ctx context.Context, addr string) (net.Conn, error) {
		return d.DialContext(ctx, "tcp", addr)
	}
}
