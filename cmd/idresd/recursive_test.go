package main

import (
	"flag"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/idres/idres/cmd/idresd/node"
	"github.com/idres/idres/resolver/recursive"
)

// TestRecursiveFlags: the walk's bounds, the TTL caps and the dial policy
// as flags, their defaults, and what they refuse.
func TestRecursiveFlags(t *testing.T) {
	parse := func(args ...string) (node.RecursiveConfig, error) {
		recursiveOn, rootsFlag, denyFlag, allowFlag = false, "", "", ""
		fs := flag.NewFlagSet("idresd", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var rc node.RecursiveConfig
		recursiveFlags(fs, &rc)
		if err := fs.Parse(append([]string{"--recursive", "--root", "127.0.0.1:7420"}, args...)); err != nil {
			return rc, err
		}
		return rc, checkRecursive(fs, &rc)
	}
	rc, err := parse()
	if err != nil {
		t.Fatal(err)
	}
	if rc.WalkTimeout != recursive.DefaultWalkTimeout || rc.MaxUpstreamQueries != recursive.DefaultMaxUpstreamQueries ||
		rc.FailureTTL != recursive.DefaultFailureTTL || rc.MaxTTL != 86400 || rc.MaxNegativeTTL != 3600 {
		t.Errorf("defaults: %+v", rc)
	}
	deny := func(rc node.RecursiveConfig, a string) bool { return rc.Dial.Check(netip.MustParseAddr(a)) != nil }
	if rc.Dial == nil || !deny(rc, "169.254.169.254") || deny(rc, "127.0.0.1") {
		t.Errorf("default dial policy %+v: want metadata denied, loopback allowed", rc.Dial)
	}
	rc, err = parse("--recursive-deny", "default,loopback", "--recursive-allow", "192.0.2.0/24,loopback",
		"--walk-timeout", "3s", "--walk-max-queries", "8", "--cache-failure-ttl", "0", "--cache-max-ttl", "600", "--cache-max-negative-ttl", "60")
	if err != nil {
		t.Fatal(err)
	}
	if !deny(rc, "127.0.0.1") || deny(rc, "192.0.2.9") || !deny(rc, "198.51.100.1") {
		t.Errorf("dial policy %+v: want loopback denied (deny wins), 192.0.2.0/24 allowed, the rest denied", rc.Dial)
	}
	if rc.WalkTimeout != 3*time.Second || rc.MaxUpstreamQueries != 8 || rc.FailureTTL >= 0 || rc.MaxTTL != 600 || rc.MaxNegativeTTL != 60 {
		t.Errorf("set: %+v (a failure TTL of 0 must keep none: negative)", rc)
	}
	for _, bad := range [][]string{
		{"--recursive-deny", "169.254.0.0/33"},
		{"--recursive-allow", "example.com"},
		{"--walk-timeout", "0s"},
		{"--walk-max-queries", "0"},
		{"--cache-failure-ttl", "10m"},
		{"--cache-max-ttl", "0"},
		{"--cache-max-negative-ttl", "4294967295"},
	} {
		if _, err := parse(bad...); err == nil {
			t.Errorf("%s accepted", strings.Join(bad, " "))
		}
	}
}
