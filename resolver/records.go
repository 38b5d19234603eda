package resolver

import (
	"fmt"
	"net/netip"
	"strings"

	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/value"
	"github.com/idres/idres/resolver/handlewire"
)

// Value types of a prefix's service record (the prefix handle 0.NA/<prefix>).
const (
	TypeGRPC = "IDRES_GRPC"
	TypeDNS  = "IDRES_DNS"
	TypeHTTP = "IDRES_HTTP"
	// TypeHandle values are Handle-protocol addresses (ip:port).
	TypeHandle = "IDRES_HANDLE"
	// TypeSite is Handle's site information type (RFC 3651 §3.2.2):
	// each Handle address also appears as an HS_SITE value, which is
	// what stock Handle clients look for at a prefix handle.
	TypeSite = "HS_SITE"
)

// ServiceValues renders a delegation's endpoints as the values of its
// prefix handle: IDRES_GRPC, then IDRES_DNS, IDRES_HTTP and IDRES_HANDLE,
// each in preference order, then one HS_SITE per Handle address that is
// an ip:port, carrying the delegation's Handle public key (with which
// the child signs certified answers); indexes from 1.
func ServiceValues(d *idresv1.Delegation) []*idresv1.Value {
	ttl := d.GetTtl()
	if d.Ttl == nil {
		ttl = value.DefaultTTL
	}
	var out []*idresv1.Value
	add := func(typ string, addrs []string) {
		for _, a := range addrs {
			out = append(out, &idresv1.Value{
				Index: uint32(len(out) + 1), Type: typ, Data: []byte(a),
				Ttl: proto.Uint32(ttl), PublicRead: proto.Bool(true), Timestamp: d.Updated,
			})
		}
	}
	add(TypeGRPC, d.Grpc)
	add(TypeDNS, d.Dns)
	add(TypeHTTP, d.Http)
	add(TypeHandle, d.Handle)
	for _, a := range d.Handle {
		ap, err := netip.ParseAddrPort(a)
		if err != nil {
			continue // not a site address: the IDRES_HANDLE value says it
		}
		site := handlewire.ResolutionSite(ap, 1, d.HandlePublicKey, "")
		out = append(out, &idresv1.Value{
			Index: uint32(len(out) + 1), Type: TypeSite, Data: handlewire.AppendSiteInfo(nil, &site),
			Ttl: proto.Uint32(ttl), PublicRead: proto.Bool(true), Timestamp: d.Updated,
		})
	}
	return out
}

// GoneMessage says what a tombstone says, for messages and DNS TXT.
func GoneMessage(t *idresv1.Tombstone) string {
	var b strings.Builder
	fmt.Fprintf(&b, "identifier %q was withdrawn", t.GetIdentifier())
	if t.GetDeleted() != nil {
		fmt.Fprintf(&b, " on %s", t.GetDeleted().AsTime().UTC().Format("2006-01-02T15:04:05Z"))
	}
	if t.GetReason() != "" {
		fmt.Fprintf(&b, ": %s", t.GetReason())
	}
	if t.GetSuccessor() != "" {
		fmt.Fprintf(&b, "; successor %s", t.GetSuccessor())
	}
	return b.String()
}
