package handleclient

import (
	"net/netip"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/handlewire"
)

// Outcome is the idres outcome a Handle response code stands for, so
// Handle answers compare with those of the other front ends:
//
//	SUCCESS                      OK
//	HANDLE_NOT_FOUND             NOT_FOUND
//	VALUES_NOT_FOUND             VALUES_NOT_FOUND
//	INVALID_HANDLE               INVALID_IDENTIFIER
//	SERVICE_/PREFIX_REFERRAL     REFERRAL
//	SERVER_NOT_RESP              PREFIX_NOT_FOUND
//	anything else                SERVER_FAILURE
//
// RC_SERVER_NOT_RESP is how HANDLE.NET (and idres) say that no prefix
// they hold or delegate covers the handle: idres's PREFIX_NOT_FOUND.
func Outcome(rc uint32) idresv1.Outcome {
	switch rc {
	case handlewire.RCSuccess:
		return idresv1.Outcome_OUTCOME_OK
	case handlewire.RCHandleNotFound:
		return idresv1.Outcome_OUTCOME_NOT_FOUND
	case handlewire.RCValuesNotFound:
		return idresv1.Outcome_OUTCOME_VALUES_NOT_FOUND
	case handlewire.RCInvalidHandle:
		return idresv1.Outcome_OUTCOME_INVALID_IDENTIFIER
	case handlewire.RCServiceReferral, handlewire.RCPrefixReferral:
		return idresv1.Outcome_OUTCOME_REFERRAL
	case handlewire.RCServerNotResponsible:
		return idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND
	}
	return idresv1.Outcome_OUTCOME_SERVER_FAILURE
}

// Response is the answer in the shape of the idres API's ResolveResponse:
// its outcome, values and, for a referral, the delegation its HS_SITE
// and IDRES_* values describe. Message carries the response code and the
// server's text, since the API has no field for a response code.
func (a *Answer) Response() *idresv1.ResolveResponse {
	r := &idresv1.ResolveResponse{Outcome: Outcome(a.RC), Identifier: a.Handle, Authoritative: a.OpFlags&handlewire.FlagAuthoritative != 0}
	if a.asked != "" && r.Outcome == idresv1.Outcome_OUTCOME_REFERRAL {
		r.Identifier = a.asked // as idres answers a referral: the identifier asked
	}
	if a.RC != handlewire.RCSuccess {
		r.Message = "Handle response " + handlewire.RCName(a.RC)
		if a.Message != "" {
			r.Message += ": " + a.Message
		}
	}
	now := time.Now()
	for i := range a.Values {
		v := Value(&a.Values[i], now)
		if i == 0 || v.GetTtl() < r.Ttl {
			r.Ttl = v.GetTtl()
		}
		r.Values = append(r.Values, v)
	}
	if r.Outcome == idresv1.Outcome_OUTCOME_REFERRAL {
		r.Referral = referral(a)
		r.Values = nil
	}
	return r
}

// Value is v as an idres value. A Handle value's TTL may be an absolute
// expiry time; it becomes the seconds left at now. References have no
// place in idres and are left out.
func Value(v *handlewire.Value, now time.Time) *idresv1.Value {
	ttl := v.TTL
	if v.TTLType == 1 {
		ttl = 0
		if left := int64(v.TTL) - now.Unix(); left > 0 {
			ttl = uint32(min(left, 1<<32-1))
		}
	}
	pub := v.Permissions&handlewire.PermPublicRead != 0
	out := &idresv1.Value{Index: v.Index, Type: string(v.Type), Data: v.Data, Ttl: &ttl, PublicRead: &pub}
	if v.Timestamp != 0 {
		out.Timestamp = timestamppb.New(time.Unix(int64(v.Timestamp), 0))
	}
	return out
}

// The value types of a referral that name endpoints (resolver/records.go
// writes them; the client layer cannot import it).
const (
	typeGRPC   = "IDRES_GRPC"
	typeDNS    = "IDRES_DNS"
	typeHTTP   = "IDRES_HTTP"
	typeHandle = "IDRES_HANDLE"
	typeSite   = "HS_SITE"
)

// referral reads a referral's values: idres's IDRES_* endpoints, and the
// TCP resolution interfaces of each HS_SITE as Handle addresses.
func referral(a *Answer) *idresv1.Delegation {
	d := &idresv1.Delegation{Prefix: strings.TrimPrefix(a.Handle, "0.NA/")}
	seen := map[string]bool{}
	addHandle := func(s string) {
		if !seen[s] {
			seen[s] = true
			d.Handle = append(d.Handle, s)
		}
	}
	for i := range a.Values {
		v := &a.Values[i]
		if d.Ttl == nil || v.TTL < *d.Ttl {
			ttl := v.TTL
			d.Ttl = &ttl
		}
		switch strings.ToUpper(string(v.Type)) {
		case typeGRPC:
			d.Grpc = append(d.Grpc, string(v.Data))
		case typeDNS:
			d.Dns = append(d.Dns, string(v.Data))
		case typeHTTP:
			d.Http = append(d.Http, string(v.Data))
		case typeHandle:
			addHandle(string(v.Data))
		case typeSite:
			s, err := handlewire.DecodeSiteInfo(v.Data)
			if err != nil {
				continue
			}
			for _, addr := range SiteAddrs(&s, handlewire.TransportTCP) {
				addHandle(addr.String())
			}
			for _, srv := range s.Servers {
				if len(d.HandlePublicKey) == 0 && len(srv.PublicKey) > 0 {
					d.HandlePublicKey = srv.PublicKey
				}
			}
		}
	}
	return d
}

// SiteAddrs are the addresses where s's servers answer resolutions over
// transport (handlewire.TransportTCP or TransportUDP).
func SiteAddrs(s *handlewire.SiteInfo, transport uint8) []netip.AddrPort {
	var out []netip.AddrPort
	for _, srv := range s.Servers {
		for _, in := range srv.Interfaces {
			if in.Transport == transport && in.Service&handlewire.ServiceResolution != 0 && in.Port <= 0xffff {
				out = append(out, netip.AddrPortFrom(srv.Address, uint16(in.Port)))
			}
		}
	}
	return out
}
