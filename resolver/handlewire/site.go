package handlewire

import (
	"encoding/binary"
	"net/netip"
)

// SiteInfo is the data of an HS_SITE value (RFC 3651 §3.2.2): one
// service site, its servers and their interfaces. A site's servers split
// the handles between them by hash; idres gives each site one server.
type SiteInfo struct {
	// DataFormatVersion is 1.
	DataFormatVersion uint16
	Version           Version
	SerialNumber      uint16
	Primary           bool
	MultiPrimary      bool
	HashOption        uint8
	HashFilter        []byte
	Attributes        []Attribute
	Servers           []ServerInfo
}

// Attribute is a site's name/value pair (e.g. "desc").
type Attribute struct{ Name, Value []byte }

// ServerInfo is one server of a site.
type ServerInfo struct {
	ID      uint32
	Address netip.Addr
	// PublicKey is the server's key in Handle's public key encoding, or
	// empty.
	PublicKey  []byte
	Interfaces []Interface
}

// Interface is a port a server answers on.
type Interface struct {
	Service   uint8 // ServiceResolution, ...
	Transport uint8 // TransportTCP, ...
	Port      uint32
}

const (
	sitePrimary      = 0x80
	siteMultiPrimary = 0x40
)

// AppendSiteInfo writes s as HS_SITE data.
func AppendSiteInfo(b []byte, s *SiteInfo) []byte {
	b = binary.BigEndian.AppendUint16(b, s.DataFormatVersion)
	var mask uint8
	if s.Primary {
		mask |= sitePrimary
	}
	if s.MultiPrimary {
		mask |= siteMultiPrimary
	}
	b = append(b, s.Version.Major, s.Version.Minor)
	b = binary.BigEndian.AppendUint16(b, s.SerialNumber)
	b = append(b, mask, s.HashOption)
	b = appendBytes(b, s.HashFilter)
	b = binary.BigEndian.AppendUint32(b, uint32(len(s.Attributes)))
	for _, a := range s.Attributes {
		b = appendBytes(b, a.Name)
		b = appendBytes(b, a.Value)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(s.Servers)))
	for _, srv := range s.Servers {
		b = binary.BigEndian.AppendUint32(b, srv.ID)
		// Addresses are 16 bytes; IPv4 is written in the last four, with
		// zeros before it, as hdllib writes and reads it.
		var addr [16]byte
		if srv.Address.Is4() {
			a4 := srv.Address.As4()
			copy(addr[12:], a4[:])
		} else if srv.Address.IsValid() {
			addr = srv.Address.As16()
		}
		b = append(b, addr[:]...)
		b = appendBytes(b, srv.PublicKey)
		b = binary.BigEndian.AppendUint32(b, uint32(len(srv.Interfaces)))
		for _, in := range srv.Interfaces {
			b = append(b, in.Service, in.Transport)
			b = binary.BigEndian.AppendUint32(b, in.Port)
		}
	}
	return b
}

// DecodeSiteInfo reads HS_SITE data (all of b).
func DecodeSiteInfo(b []byte) (SiteInfo, error) {
	r := reader{b: b}
	var s SiteInfo
	s.DataFormatVersion = r.u16("site data format")
	s.Version = Version{r.u8("site major version"), r.u8("site minor version")}
	s.SerialNumber = r.u16("site serial")
	mask := r.u8("site primary mask")
	s.Primary, s.MultiPrimary = mask&sitePrimary != 0, mask&siteMultiPrimary != 0
	s.HashOption = r.u8("hash option")
	s.HashFilter = r.bytes("hash filter")
	n := r.count("site attributes", 8)
	for i := 0; i < n && r.err == nil; i++ {
		s.Attributes = append(s.Attributes, Attribute{Name: r.bytes("attribute name"), Value: r.bytes("attribute value")})
	}
	n = r.count("servers", 28)
	for i := 0; i < n && r.err == nil; i++ {
		var srv ServerInfo
		srv.ID = r.u32("server id")
		if r.need(16, "server address") {
			var a [16]byte
			copy(a[:], r.b[:16])
			r.b = r.b[16:]
			srv.Address = netip.AddrFrom16(a)
			if isZeroPrefixedV4(a) {
				srv.Address = netip.AddrFrom4([4]byte(a[12:]))
			} else {
				srv.Address = srv.Address.Unmap()
			}
		}
		srv.PublicKey = r.bytes("server public key")
		m := r.count("interfaces", 6)
		for j := 0; j < m && r.err == nil; j++ {
			srv.Interfaces = append(srv.Interfaces, Interface{Service: r.u8("interface type"), Transport: r.u8("interface transport"), Port: r.u32("interface port")})
		}
		s.Servers = append(s.Servers, srv)
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = formatErr("%d bytes after the site", len(r.b))
	}
	return s, r.err
}

// isZeroPrefixedV4 reports whether a is an IPv4 address written as
// hdllib writes one: twelve zero bytes, then the address (not ::).
func isZeroPrefixedV4(a [16]byte) bool {
	for _, x := range a[:12] {
		if x != 0 {
			return false
		}
	}
	return a[12]|a[13]|a[14]|a[15] != 0
}

// ResolutionSite is the HS_SITE of one server answering resolutions over
// TCP and UDP on addr's port, with an optional public key.
func ResolutionSite(addr netip.AddrPort, serial uint16, publicKey []byte, desc string) SiteInfo {
	s := SiteInfo{
		DataFormatVersion: 1, Version: Latest, SerialNumber: serial, Primary: true,
		Servers: []ServerInfo{{
			ID: 1, Address: addr.Addr(), PublicKey: publicKey,
			Interfaces: []Interface{
				{Service: ServiceResolution, Transport: TransportTCP, Port: uint32(addr.Port())},
				{Service: ServiceResolution, Transport: TransportUDP, Port: uint32(addr.Port())},
			},
		}},
	}
	if desc != "" {
		s.Attributes = []Attribute{{Name: []byte("desc"), Value: []byte(desc)}}
	}
	return s
}
