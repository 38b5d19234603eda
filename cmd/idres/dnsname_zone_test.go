package main

import (
	"testing"

	"github.com/idres/idres/resolver/dnsbridge"
)

// TestDefaultDNSZone keeps idres's default --zone the zone a node serves
// when none is configured; a test may import the bridge, the binary does
// not.
func TestDefaultDNSZone(t *testing.T) {
	if defaultDNSZone != dnsbridge.DefaultZone {
		t.Fatalf("idres dnsname defaults to zone %q, the DNS bridge to %q", defaultDNSZone, dnsbridge.DefaultZone)
	}
}
