package main

import (
	"errors"
	"flag"
	"strings"

	"github.com/idres/idres/cmd/idresd/node"
	"github.com/idres/idres/resolver/cache"
	"github.com/idres/idres/resolver/recursive"
)

var (
	recursiveOn bool
	rootsFlag   string
)

// DefaultCacheBytes bounds a recursive node's cache at 512 MiB: 100,000
// answers of a few kB fit, and answers with large values cannot exhaust
// memory.
const DefaultCacheBytes = 512 << 20

// recursiveFlags registers --recursive, --root, --cache-size and
// --upstream-timeout.
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
}

// checkRecursive ties --recursive and --root together after parsing.
func checkRecursive(fs *flag.FlagSet, rc *node.RecursiveConfig) error {
	for _, r := range strings.Split(rootsFlag, ",") {
		if r = strings.TrimSpace(r); r != "" {
			rc.Roots = append(rc.Roots, r)
		}
	}
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
	}
	return nil
}
