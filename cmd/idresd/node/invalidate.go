package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/resolver/cache"
	"github.com/idres/idres/resolver/client"
)

// FeedSubscription is an authoritative node's change feed a recursive node
// follows to drop cached answers as soon as they change (FEED-014).
type FeedSubscription struct {
	// Addr is the authoritative node's gRPC address.
	Addr string
	// Prefix is the subtree watched; Token a credential with read on it.
	Prefix string
	Token  string
}

// ParseFeedSubscription parses PREFIX@ADDR.
func ParseFeedSubscription(s, token string) (FeedSubscription, error) {
	prefix, addr, ok := strings.Cut(s, "@")
	if !ok || addr == "" {
		return FeedSubscription{}, fmt.Errorf("feed subscription %q: want PREFIX@ADDR", s)
	}
	if _, err := ident.ParsePrefix(prefix); err != nil {
		return FeedSubscription{}, fmt.Errorf("feed subscription %q: %w", s, err)
	}
	return FeedSubscription{Addr: addr, Prefix: prefix, Token: token}, nil
}

// feedRetry is the pause before following a feed again after it broke.
const feedRetry = time.Second

// startInvalidation follows the configured feeds until Stop; each change
// drops the changed identifier's cached answer.
func (n *Node) startInvalidation() error {
	subs := n.cfg.Recursive.Invalidate
	if len(subs) == 0 {
		return nil
	}
	c := n.walkerCache()
	if c == nil {
		return errors.New("feed subscriptions need a recursive node (--root)")
	}
	token := ""
	if f := n.cfg.Recursive.InvalidateTokenFile; f != "" {
		raw, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("feed subscriptions: %w", err)
		}
		token = strings.TrimSpace(string(raw))
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.stopInvalidation = cancel
	var ready []chan struct{}
	for _, sub := range subs {
		if sub.Token == "" {
			sub.Token = token
		}
		cl, err := client.Dial(sub.Addr, client.Options{Token: sub.Token, TLS: n.upstreamTLS})
		if err != nil {
			cancel()
			return fmt.Errorf("feed of %s: %w", sub.Addr, err)
		}
		r := make(chan struct{})
		ready = append(ready, r)
		go func() {
			defer cl.Close()
			n.followFeed(ctx, cl, sub, c, r)
		}()
	}
	// Answers cached from now on are dropped when they change: wait (a
	// little) until each reachable feed is followed. One that is not yet
	// reachable is followed once it is; the cache starts empty meanwhile.
	deadline := time.After(feedStartWait)
	for _, r := range ready {
		select {
		case <-r:
		case <-deadline:
			n.log.Warn("a change feed is not followed yet; cached answers from its node may stay stale until it is")
			return nil
		}
	}
	return nil
}

// feedStartWait bounds how long Start waits for the feeds.
const feedStartWait = 3 * time.Second

// followFeed watches one feed until ctx ends, resuming after the last
// sequence it saw. When it cannot know what it missed (the position is no
// longer retained), it drops everything cached under the prefix.
func (n *Node) followFeed(ctx context.Context, cl *client.Client, sub FeedSubscription, c *cache.Cache, ready chan struct{}) {
	log := n.log.With("feed", sub.Prefix+"@"+sub.Addr)
	var last uint64
	started := false
	for ctx.Err() == nil {
		err := watchFeed(ctx, cl, sub.Prefix, &last, &started, ready, func(ch *idresv1.Change) {
			switch ch.GetKind() {
			case idresv1.Change_PATTERN_SET, idresv1.Change_PATTERN_DELETED:
				// Every identifier the pattern covers may answer
				// differently now: drop the prefix's answers.
				prefix, _, _ := strings.Cut(ch.GetIdentifier(), "/")
				c.Flush(ident.Fold(prefix))
			default:
				if id, err := ident.Parse(ch.GetIdentifier()); err == nil {
					c.Delete(cache.Key{Kind: cache.Answer, Name: id.Key()})
				}
			}
		})
		if ctx.Err() != nil {
			return
		}
		if status.Code(err) == codes.OutOfRange {
			log.Warn("feed position lost; dropping the cached answers of the prefix", "err", err)
			c.Flush(ident.Fold(sub.Prefix))
			last, started = 0, false
		} else {
			log.Warn("feed broke; following it again", "err", err, "after_sequence", last)
		}
		select {
		case <-time.After(feedRetry):
		case <-ctx.Done():
		}
	}
}

// watchFeed runs one Watch stream: from now the first time, else after
// *last (from the feed's start when it was 0: the node had no changes
// yet); it keeps *last at the position received.
func watchFeed(ctx context.Context, cl *client.Client, prefix string, last *uint64, started *bool, ready chan struct{}, changed func(*idresv1.Change)) error {
	req := &idresv1.WatchRequest{Prefix: prefix, AfterSequence: *last}
	if *started && *last == 0 {
		req.FromRevision = new(uint64)
	}
	st, err := cl.Watch(ctx, req)
	if err != nil {
		return err
	}
	for {
		resp, err := st.Recv()
		if err != nil {
			return err
		}
		if !*started {
			*started = true
			select {
			case <-ready:
			default:
				close(ready)
			}
		}
		for _, ch := range resp.GetChanges() {
			changed(ch)
		}
		*last = resp.GetLastSequence()
	}
}
