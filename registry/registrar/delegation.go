package registrar

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/credential"
	"github.com/idres/idres/registry/fault"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/registry/value"
	"github.com/idres/idres/resolver/handlewire"
)

// Delegation limits (HIER-005).
const (
	// MaxEndpoints bounds each endpoint list of a delegation.
	MaxEndpoints = 16
	// MaxDelegationTTL is the largest TTL, as for DNS (RFC 2181 §8).
	MaxDelegationTTL = 1<<31 - 1
	maxEndpointLen   = 2048
)

// SetDelegation creates or replaces the delegation of a child prefix. The
// child must lie strictly under a zone held here, with no other delegation
// in between (a deeper delegation there would shadow nothing it could
// reach) and must not be held here itself.
func (s *Service) SetDelegation(ctx context.Context, req *idresv1.SetDelegationRequest) (*idresv1.Delegation, error) {
	d := req.GetDelegation()
	if d == nil {
		return nil, fmt.Errorf("%w: delegation is required", fault.ErrInvalidArgument)
	}
	child, err := parseChild(d.Prefix)
	if err != nil {
		return nil, err
	}
	if _, err := credential.Authorize(ctx, child, credential.RoleAdmin); err != nil {
		return nil, err
	}
	rec, err := checkDelegation(d)
	if err != nil {
		return nil, err
	}
	err = s.update(ctx, "SetDelegation", func(tx *store.Tx, ch *change) error {
		if err := delegable(tx, child, d.Prefix); err != nil {
			return err
		}
		if old, err := tx.Delegation(child); err == nil {
			ch.before = old
		}
		ch.target, ch.prefix, ch.after = rec.Prefix, child, rec
		return tx.PutDelegation(rec)
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// GetDelegation returns the delegation of one child prefix.
func (s *Service) GetDelegation(ctx context.Context, req *idresv1.GetDelegationRequest) (*idresv1.Delegation, error) {
	child, err := parseChild(req.GetPrefix())
	if err != nil {
		return nil, err
	}
	if _, err := credential.Authorize(ctx, child, credential.RoleRead); err != nil {
		return nil, err
	}
	var d *idresv1.Delegation
	err = s.store.View(func(tx *store.Tx) (err error) { d, err = tx.Delegation(child); return err })
	if err != nil {
		return nil, err
	}
	return d, nil
}

// ListDelegations lists the delegations under a zone that the caller's
// credential covers, in key order, paged like the other List calls.
func (s *Service) ListDelegations(ctx context.Context, req *idresv1.ListDelegationsRequest) (*idresv1.ListDelegationsResponse, error) {
	c, err := credential.Caller(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := ident.ParsePrefix(req.GetZone()); err != nil {
		return nil, err
	}
	zone := ident.Fold(req.GetZone())
	size, err := s.pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	// Tokens are tagged with the listing and its zone (REG-005), so a token
	// of another listing or zone is refused rather than misread.
	tag := "deleg:" + zone + "\x00"
	after, err := decodeToken(req.GetPageToken(), tag)
	if err != nil {
		return nil, err
	}
	after = strings.TrimPrefix(after, tag)
	var all []*idresv1.Delegation
	err = s.store.View(func(tx *store.Tx) (err error) { all, err = tx.ListDelegations(zone); return err })
	if err != nil {
		return nil, err
	}
	sort.Slice(all, func(i, j int) bool { return ident.Fold(all[i].Prefix) < ident.Fold(all[j].Prefix) })
	resp := &idresv1.ListDelegationsResponse{}
	for i, d := range all {
		key := ident.Fold(d.Prefix)
		if key <= after || !credential.Visible(c, key, credential.RoleRead) {
			continue
		}
		resp.Delegations = append(resp.Delegations, d)
		if len(resp.Delegations) == size {
			if i < len(all)-1 {
				resp.NextPageToken = encodeToken(tag + key)
			}
			break
		}
	}
	return resp, nil
}

// RemoveDelegation removes the delegation of one child prefix.
func (s *Service) RemoveDelegation(ctx context.Context, req *idresv1.RemoveDelegationRequest) (*idresv1.RemoveDelegationResponse, error) {
	child, err := parseChild(req.GetPrefix())
	if err != nil {
		return nil, err
	}
	if _, err := credential.Authorize(ctx, child, credential.RoleAdmin); err != nil {
		return nil, err
	}
	err = s.update(ctx, "RemoveDelegation", func(tx *store.Tx, ch *change) error {
		old, err := tx.Delegation(child)
		if err != nil {
			return err
		}
		ch.target, ch.prefix, ch.before = old.Prefix, child, old
		return tx.DeleteDelegation(child)
	})
	if err != nil {
		return nil, err
	}
	return &idresv1.RemoveDelegationResponse{}, nil
}

// parseChild checks a delegated prefix and returns it folded. The root
// cannot be delegated: it has no parent zone to cut from.
func parseChild(p string) (string, error) {
	if _, err := ident.ParsePrefix(p); err != nil {
		return "", err
	}
	if p == "" {
		return "", fmt.Errorf("%w: prefix is required (the root cannot be delegated)", fault.ErrInvalidArgument)
	}
	return ident.Fold(p), nil
}

// delegable enforces HIER-004: the deepest held-or-delegated proper
// ancestor of child must be a zone held here.
func delegable(tx *store.Tx, child, spelled string) error {
	if tx.HasPrefix(child) {
		return fmt.Errorf("%w: prefix %q is held by this node; delete it before delegating it", fault.ErrFailedPrecondition, spelled)
	}
	for _, p := range ident.Ancestors(child)[1:] {
		if tx.HasPrefix(p) {
			return nil
		}
		if _, err := tx.Delegation(p); err == nil {
			return fmt.Errorf("%w: prefix %q lies under %q, which this node delegates; set the delegation at the node holding %q", fault.ErrFailedPrecondition, spelled, p, p)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return fmt.Errorf("%w: prefix %q lies under no zone held by this node", fault.ErrFailedPrecondition, spelled)
}

// checkDelegation validates the endpoints and returns the record to
// store: a copy with the TTL defaulted and the server-set times cleared.
func checkDelegation(d *idresv1.Delegation) (*idresv1.Delegation, error) {
	if len(d.Grpc) == 0 {
		return nil, fmt.Errorf("%w: delegation of %q needs at least one grpc endpoint (host:port)", fault.ErrInvalidArgument, d.Prefix)
	}
	lists := []struct {
		name  string
		addrs []string
		check func(string) error
	}{
		{"grpc", d.Grpc, checkHostPort},
		{"dns", d.Dns, checkDNSAddr},
		{"http", d.Http, checkHTTPURL},
		{"handle", d.Handle, checkHandleAddr},
	}
	for _, l := range lists {
		if len(l.addrs) > MaxEndpoints {
			return nil, fmt.Errorf("%w: %d %s endpoints, at most %d", fault.ErrInvalidArgument, len(l.addrs), l.name, MaxEndpoints)
		}
		seen := map[string]bool{}
		for i, a := range l.addrs {
			if len(a) > maxEndpointLen {
				return nil, fmt.Errorf("%w: %s endpoint %d is longer than %d bytes", fault.ErrInvalidArgument, l.name, i+1, maxEndpointLen)
			}
			if err := l.check(a); err != nil {
				return nil, fmt.Errorf("%w: %s endpoint %d %q: %v", fault.ErrInvalidArgument, l.name, i+1, a, err)
			}
			if seen[a] {
				return nil, fmt.Errorf("%w: %s endpoint %q is listed twice", fault.ErrInvalidArgument, l.name, a)
			}
			seen[a] = true
		}
	}
	if len(d.HandlePublicKey) > 0 {
		if len(d.Handle) == 0 {
			return nil, fmt.Errorf("%w: delegation of %q has a handle public key but no handle endpoint to publish it with", fault.ErrInvalidArgument, d.Prefix)
		}
		if _, err := handlewire.DecodePublicKey(d.HandlePublicKey); err != nil {
			return nil, fmt.Errorf("%w: handle public key: %v", fault.ErrInvalidArgument, err)
		}
	}
	rec := &idresv1.Delegation{
		Prefix: d.Prefix,
		Grpc:   append([]string(nil), d.Grpc...),
		Dns:    append([]string(nil), d.Dns...),
		Http:   append([]string(nil), d.Http...),
		Handle: append([]string(nil), d.Handle...),
		Ttl:    d.Ttl,

		HandlePublicKey: bytes.Clone(d.HandlePublicKey),
	}
	if rec.Ttl == nil {
		rec.Ttl = proto.Uint32(value.DefaultTTL)
	}
	if *rec.Ttl > MaxDelegationTTL {
		return nil, fmt.Errorf("%w: ttl %d is more than %d", fault.ErrInvalidArgument, *rec.Ttl, MaxDelegationTTL)
	}
	return rec, nil
}

// checkHandleAddr accepts ip:port: an HS_SITE names its servers by
// address, not by host name (RFC 3651 §3.2.2).
func checkHandleAddr(a string) error {
	ap, err := netip.ParseAddrPort(a)
	if err != nil {
		return errors.New("want ip:port (an HS_SITE carries addresses, not names)")
	}
	if ap.Port() == 0 || !ap.Addr().IsValid() || ap.Addr().IsUnspecified() {
		return errors.New("want a specific address and a port from 1 to 65535")
	}
	return nil
}

// checkHostPort accepts host:port with a non-empty host and a port from 1
// to 65535 (IPv6 hosts in brackets).
func checkHostPort(a string) error {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return errors.New("want host:port")
	}
	if err := checkHost(host); err != nil {
		return err
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q is not 1 to 65535", port)
	}
	return nil
}

// checkDNSAddr accepts a host (port 53 implied) or host:port.
func checkDNSAddr(a string) error {
	if _, _, err := net.SplitHostPort(a); err == nil {
		return checkHostPort(a)
	}
	return checkHost(a)
}

func checkHost(h string) error {
	if h == "" {
		return errors.New("empty host")
	}
	if ip := net.ParseIP(h); ip != nil {
		// No node listens on these: unspecified reaches the dialler's own
		// host, multicast and broadcast a group (REC-012).
		if ip.IsUnspecified() || ip.IsMulticast() || ip.Equal(net.IPv4bcast) {
			return fmt.Errorf("host %s is not the address of one node (unspecified, multicast or broadcast)", h)
		}
		return nil
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("host %q is not an IP address or a host name", h)
		}
		for _, c := range []byte(label) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("host %q is not an IP address or a host name", h)
			}
		}
	}
	return nil
}

// checkHTTPURL accepts an absolute http or https URL with a host.
func checkHTTPURL(a string) error {
	u, err := url.Parse(a)
	if err != nil {
		return errors.New("not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("want an absolute http:// or https:// URL")
	}
	if u.Host == "" || u.Hostname() == "" {
		return errors.New("URL has no host")
	}
	if u.User != nil {
		return errors.New("URL must not carry user information")
	}
	return nil
}
