package main

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/idres/idres/cmd/idresd/node"
	"github.com/idres/idres/resolver/cache"
	"github.com/idres/idres/resolver/recursive"
)

var (
	recursiveOn bool
	rootsFlag   string
	denyFlag    string
	allowFlag   string
)

// DefaultCacheBytes bounds a recursive node's cache at 512 MiB: 100,000
// answers of a few kB fit, and answers with large values cannot exhaust
// memory.
const DefaultCacheBytes = 512 << 20

// recursiveFlags registers --recursive, --root, the cache's bounds, the
// walk's bounds and the dial policy.
func recursiveFlags(fs *flag.FlagSet, rc *node.RecursiveConfig) {
	fs.BoolVar(&recursiveOn, "recursive", false, "run as a recursive resolver that holds no zones (needs --root)")
	fs.StringVar(&rootsFlag, "root", "", "root node gRPC addresses, comma-separated, for --recursive")
	fs.IntVar(&rc.CacheSize, "cache-size", cache.DefaultSize, "recursive cache bound in entries")
	fs.Int64Var(&rc.CacheBytes, "cache-bytes", DefaultCacheBytes, "recursive cache bound in bytes (approximate: encoded answers plus a fixed overhead each); 0 for none")
	fs.DurationVar(&rc.UpstreamTimeout, "upstream-timeout", recursive.DefaultUpstreamTimeout, "per-endpoint timeout of a recursive node's upstream calls")
	fs.BoolVar(&rc.UpstreamTLS, "upstream-tls", false, "recursive node: talk TLS to upstream nodes and followed feeds, verified against the system's roots (or --upstream-ca)")
	fs.StringVar(&rc.UpstreamCA, "upstream-ca", "", "recursive node: PEM CA file that upstream nodes' certificates must chain to (implies --upstream-tls)")
	fs.StringVar(&rc.UpstreamCert, "upstream-cert", "", "recursive node: PEM client certificate for upstream nodes that require one (with --upstream-key)")
	fs.StringVar(&rc.UpstreamKey, "upstream-key", "", "recursive node: PEM key of --upstream-cert")
	fs.DurationVar(&rc.WalkTimeout, "walk-timeout", recursive.DefaultWalkTimeout, "recursive node: bound on one whole walk through the hierarchy (a walk also ends when no caller waits for it)")
	fs.IntVar(&rc.MaxUpstreamQueries, "walk-max-queries", recursive.DefaultMaxUpstreamQueries, "recursive node: most upstream calls one walk may make, failed ones included")
	fs.DurationVar(&rc.FailureTTL, "cache-failure-ttl", recursive.DefaultFailureTTL, "recursive node: how long a walk's SERVER_FAILURE is kept for its identifier (RFC 9520); 0 keeps none")
	rc.MaxTTL, rc.MaxNegativeTTL = recursive.DefaultMaxTTL, recursive.DefaultMaxNegativeTTL
	fs.Var(ttlValue{&rc.MaxTTL}, "cache-max-ttl", "recursive node: most seconds an answer, its values or a referral is cached, whatever TTL the upstream gave")
	fs.Var(ttlValue{&rc.MaxNegativeTTL}, "cache-max-negative-ttl", "recursive node: most seconds a denial (NOT_FOUND, VALUES_NOT_FOUND, PREFIX_NOT_FOUND) is cached")
	fs.StringVar(&denyFlag, "recursive-deny", "default", "recursive node: networks a delegation's endpoints may not be in, checked on the address dialled after name resolution: CIDRs, addresses and "+
		recursive.NetworkGroups+" (default: link-local, cloud metadata, unspecified, multicast; loopback stays allowed for test hierarchies: in production use default,loopback,private as fits); \"\" denies nothing")
	fs.StringVar(&allowFlag, "recursive-allow", "", "recursive node: when set, the only networks a delegation's endpoints may be in (CIDRs, addresses, group names); --recursive-deny still applies")
}

// ttlValue is a TTL flag in seconds, 1 to 2^31-1 (RFC 2181 §8).
type ttlValue struct{ p *uint32 }

func (v ttlValue) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.FormatUint(uint64(*v.p), 10)
}

func (v ttlValue) Set(s string) error {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n < 1 || n > 1<<31-1 {
		return fmt.Errorf("want seconds from 1 to %d", 1<<31-1)
	}
	*v.p = uint32(n)
	return nil
}

// checkRecursive ties --recursive and --root together after parsing.
func checkRecursive(fs *flag.FlagSet, rc *node.RecursiveConfig) error {
	for _, r := range strings.Split(rootsFlag, ",") {
		if r = strings.TrimSpace(r); r != "" {
			rc.Roots = append(rc.Roots, r)
		}
	}
	deny, err := recursive.ParseNetworks(denyFlag)
	if err != nil {
		return fmt.Errorf("--recursive-deny: %w", err)
	}
	allow, err := recursive.ParseNetworks(allowFlag)
	if err != nil {
		return fmt.Errorf("--recursive-allow: %w", err)
	}
	rc.Dial = &recursive.DialPolicy{Allow: allow, Deny: deny}
	switch {
	case recursiveOn && len(rc.Roots) == 0:
		return errors.New("--recursive needs --root ADDR[,ADDR]")
	case !recursiveOn && len(rc.Roots) > 0:
		return errors.New("--root is only for --recursive")
	case rc.CacheSize < 1:
		return errors.New("--cache-size must be at least 1")
	case rc.CacheBytes < 0:
		return errors.New("--cache-bytes must not be negative")
	case rc.UpstreamTimeout <= 0:
		return errors.New("--upstream-timeout must be positive")
	case rc.WalkTimeout <= 0:
		return errors.New("--walk-timeout must be positive")
	case rc.MaxUpstreamQueries < 1:
		return errors.New("--walk-max-queries must be at least 1")
	case rc.FailureTTL < 0:
		return errors.New("--cache-failure-ttl must not be negative")
	case rc.FailureTTL > 5*time.Minute:
		return errors.New("--cache-failure-ttl must be at most 5m (RFC 9520)")
	}
	if rc.FailureTTL == 0 {
		rc.FailureTTL = -1 // keep none; 0 would mean the default
	}
	return nil
}
