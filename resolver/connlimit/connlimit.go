// Package connlimit caps the connections a TCP listener holds, in total
// and per source network, so that idle or slow connections cannot use up
// the process's file descriptors and take every front end down with them.
//
// A connection beyond a cap is closed as soon as it is accepted (with a
// reset, so it leaves no TIME_WAIT behind): the accept loop never
// blocks, the kernel's backlog keeps draining, and the connections already
// held go on being served. Connections from 127.0.0.1 or ::1 may exceed
// the total by a small reserve, so a local health probe or operator gets
// in while the public side is full.
//
// It knows nothing of the protocol: the node wraps its gRPC and HTTP
// listeners (cmd/idresd/node); time limits on idle connections belong to
// each server (gRPC keepalive, http.Server.IdleTimeout).
package connlimit

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// Limits of one listener. A zero field is no limit.
type Limits struct {
	// Max is how many connections the listener holds at once.
	Max int
	// PerSource is how many of them one source network may hold: an IPv4
	// address, or the /64 of an IPv6 one (one host may hold a whole /64).
	PerSource int
	// Reserve is how many connections from 127.0.0.1 or ::1 are admitted
	// beyond Max.
	Reserve int
}

// Listener is a net.Listener that enforces Limits. Its Accept returns only
// connections within them.
type Listener struct {
	net.Listener
	lim Limits

	mu       sync.Mutex
	total    int
	bySource map[netip.Prefix]int

	refused atomic.Uint64
}

// Wrap caps the connections of l.
func Wrap(l net.Listener, lim Limits) *Listener {
	return &Listener{Listener: l, lim: lim, bySource: map[netip.Prefix]int{}}
}

// Accept waits for the next connection within the limits; connections
// beyond them are closed at once and counted (Refused).
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		src, ok := l.admit(c.RemoteAddr())
		if ok {
			return &conn{Conn: c, l: l, src: src}, nil
		}
		l.refused.Add(1)
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.Close()
	}
}

// Held is the number of connections held now.
func (l *Listener) Held() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// Refused is the number of connections closed at accept so far.
func (l *Listener) Refused() uint64 { return l.refused.Load() }

func (l *Listener) admit(addr net.Addr) (netip.Prefix, bool) {
	ip := addrIP(addr)
	src := sourceNetwork(ip)
	l.mu.Lock()
	defer l.mu.Unlock()
	max := l.lim.Max
	if max > 0 && (ip == localhost4 || ip == netip.IPv6Loopback()) {
		max += l.lim.Reserve
	}
	if max > 0 && l.total >= max || l.lim.PerSource > 0 && l.bySource[src] >= l.lim.PerSource {
		return src, false
	}
	l.total++
	l.bySource[src]++
	return src, true
}

func (l *Listener) release(src netip.Prefix) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.bySource[src]--; l.bySource[src] <= 0 {
		delete(l.bySource, src)
	}
}

var localhost4 = netip.AddrFrom4([4]byte{127, 0, 0, 1})

// addrIP is the IP address of a connection's remote address; the zero
// Addr when it has none (not TCP).
func addrIP(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap()
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// sourceNetwork is the per-source key: the IPv4 address, or the /64 of
// an IPv6 one. Addresses it cannot tell apart share one key.
func sourceNetwork(ip netip.Addr) netip.Prefix {
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.WithZone("").Prefix(bits)
	return p
}

// conn gives its place back once, on the first Close.
type conn struct {
	net.Conn
	l    *Listener
	src  netip.Prefix
	once sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.src) })
	return err
}
