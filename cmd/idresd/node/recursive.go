package node

import (
	"fmt"
	"time"

	"github.com/idres/idres/resolver"
	"github.com/idres/idres/resolver/cache"
	"github.com/idres/idres/resolver/recursive"
)

// RecursiveConfig configures a recursive node. The zero value means the
// node is authoritative only.
type RecursiveConfig struct {
	// Roots are the root node's gRPC addresses; non-empty makes the node
	// recursive.
	Roots []string
	// CacheSize bounds the cache in entries; 0 means cache.DefaultSize.
	CacheSize int
	// UpstreamTimeout bounds each call to one upstream endpoint; 0 means
	// recursive.DefaultUpstreamTimeout.
	UpstreamTimeout time.Duration
}

// Enabled reports whether the node recurses.
func (c RecursiveConfig) Enabled() bool { return len(c.Roots) > 0 }

// resolverFor returns what answers Resolve on this node: the authority, or
// on a recursive node a walker with its own cache. A recursive node holds
// no zones (REC-002): it never answers from its store.
func (n *Node) resolverFor(authority *resolver.Authority) (resolver.Resolver, error) {
	rc := n.cfg.Recursive
	if !rc.Enabled() {
		return authority, nil
	}
	w, err := recursive.New(recursive.Config{
		Roots:           rc.Roots,
		Cache:           cache.New(rc.CacheSize, n.cfg.Now),
		UpstreamTimeout: rc.UpstreamTimeout,
	})
	if err != nil {
		return nil, fmt.Errorf("recursive resolver: %w", err)
	}
	n.walker = w
	n.log.Info("recursive resolver", "roots", rc.Roots, "cache_entries", rc.CacheSize, "upstream_timeout", rc.UpstreamTimeout)
	return w, nil
}

// walkerCache is the recursive node's cache, nil on an authoritative node.
func (n *Node) walkerCache() *cache.Cache {
	if n.walker == nil {
		return nil
	}
	return n.walker.Cache()
}

// Walker is the recursive resolver, nil on an authoritative node.
func (n *Node) Walker() *recursive.Walker { return n.walker }
