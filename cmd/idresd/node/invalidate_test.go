package node_test

import (
	"context"
	"testing"
	"time"

	"github.com/idres/idres/cmd/idresd/node"
	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/client"
)

// TestRecursiveFollowsFeed pins FEED-014: a recursive node that follows the
// authoritative node's change feed drops a cached answer when the
// identifier changes, long before its TTL, and one that does not follow
// keeps serving the cached answer.
func TestRecursiveFollowsFeed(t *testing.T) {
	g := startGRPCNode(t)
	g.mustCreatePrefix(t, &idresv1.Prefix{Prefix: "88.100"})
	ctx := ctxT(t)
	if _, err := g.admin.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: "88.100/x", Values: []*idresv1.Value{val(1, "URL", "https://v1", 86400)}}); err != nil {
		t.Fatal(err)
	}
	start := func(subs []node.FeedSubscription) *client.Client { return startFollower(t, g, subs) }
	resolve := func(c *client.Client) string {
		t.Helper()
		resp, err := c.Resolve(ctx, &idresv1.ResolveRequest{Identifier: "88.100/x", Recursive: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetValues()) == 0 {
			t.Fatalf("no values in %v", resp)
		}
		return string(resp.GetValues()[0].GetData())
	}
	following := start([]node.FeedSubscription{{Addr: g.n.GRPCAddr(), Prefix: "88.100", Token: g.token}})
	plain := start(nil)
	for _, c := range []*client.Client{following, plain} {
		if got := resolve(c); got != "https://v1" {
			t.Fatalf("first answer %q", got)
		}
	}
	if _, err := g.admin.UpdateValues(ctx, &idresv1.UpdateValuesRequest{Identifier: "88.100/x", Replace: []*idresv1.Value{val(1, "URL", "https://v2", 86400)}}); err != nil {
		t.Fatal(err)
	}
	// The drop happens when the change arrives, so wait for it (bounded);
	// the cached TTL is a day.
	deadline := time.Now().Add(10 * time.Second)
	for resolve(following) != "https://v2" {
		if time.Now().After(deadline) {
			t.Fatal("the following recursive node still answers the old value")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := resolve(plain); got != "https://v1" {
		t.Errorf("a recursive node without the feed answered %q, want the cached https://v1 (else this test shows nothing)", got)
	}
	if _, err := node.Start(node.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", Logger: quietLog,
		Recursive: node.RecursiveConfig{Invalidate: []node.FeedSubscription{{Addr: g.n.GRPCAddr(), Prefix: "88.100"}}}}); err == nil {
		t.Error("an authoritative node with feed subscriptions started")
	}
}

func TestParseFeedSubscription(t *testing.T) {
	tests := []struct {
		in      string
		want    node.FeedSubscription
		wantErr bool
	}{
		{"88.100@127.0.0.1:7420", node.FeedSubscription{Prefix: "88.100", Addr: "127.0.0.1:7420"}, false},
		{"@root.example:7420", node.FeedSubscription{Prefix: "", Addr: "root.example:7420"}, false},
		{"88.100", node.FeedSubscription{}, true},
		{"88.100@", node.FeedSubscription{}, true},
		{"88..100@x:1", node.FeedSubscription{}, true},
	}
	for _, tt := range tests {
		got, err := node.ParseFeedSubscription(tt.in, "")
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseFeedSubscription(%q) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func FuzzParseFeedSubscription(f *testing.F) {
	f.Add("88.100@127.0.0.1:7420")
	f.Add("@x")
	f.Add("a@b@c")
	f.Fuzz(func(t *testing.T, s string) {
		sub, err := node.ParseFeedSubscription(s, "tok")
		if err == nil && (sub.Addr == "" || sub.Token != "tok" || sub.Prefix+"@"+sub.Addr != s) {
			t.Fatalf("ParseFeedSubscription(%q) = %+v", s, sub)
		}
	})
}

// TestRecursiveFollowsPatternChanges: a pattern change reaches the feed
// too, and the following recursive node drops the answers derived from
// the old pattern.
func TestRecursiveFollowsPatternChanges(t *testing.T) {
	g := startGRPCNode(t)
	g.mustCreatePrefix(t, &idresv1.Prefix{Prefix: "88.100"})
	ctx := ctxT(t)
	setPattern := func(url string) {
		t.Helper()
		_, err := g.admin.SetPattern(ctx, &idresv1.SetPatternRequest{Pattern: &idresv1.Pattern{Prefix: "88.100", Pattern: "P-{n:000-999}",
			Values: []*idresv1.Value{val(1, "URL", url+"/{n}", 86400)}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	setPattern("https://v1")
	c := startFollower(t, g, []node.FeedSubscription{{Addr: g.n.GRPCAddr(), Prefix: "88.100", Token: g.token}})
	resolve := func() (string, idresv1.Outcome) {
		t.Helper()
		resp, err := c.Resolve(ctx, &idresv1.ResolveRequest{Identifier: "88.100/P-042", Recursive: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetValues()) == 0 {
			return "", resp.GetOutcome()
		}
		return string(resp.GetValues()[0].GetData()), resp.GetOutcome()
	}
	if got, _ := resolve(); got != "https://v1/042" {
		t.Fatalf("first answer %q", got)
	}
	waitAnswer := func(want string, wantOutcome idresv1.Outcome) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			got, outcome := resolve()
			if got == want && outcome == wantOutcome {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("recursive node answers %q (%v), want %q (%v)", got, outcome, want, wantOutcome)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	setPattern("https://v2")
	waitAnswer("https://v2/042", idresv1.Outcome_OUTCOME_OK)
	if _, err := g.admin.DeletePattern(ctx, &idresv1.DeletePatternRequest{Prefix: "88.100", Pattern: "P-{n:000-999}"}); err != nil {
		t.Fatal(err)
	}
	waitAnswer("", idresv1.Outcome_OUTCOME_NOT_FOUND)
}

// startFollower starts a recursive node rooted at g that follows the
// feeds subs, and returns an anonymous client of it.
func startFollower(t *testing.T, g *grpcNode, subs []node.FeedSubscription) *client.Client {
	t.Helper()
	rec, err := node.Start(node.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", Logger: quietLog,
		Recursive: node.RecursiveConfig{Roots: []string{g.n.GRPCAddr()}, Invalidate: subs}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Stop(context.Background()) })
	c, err := client.Dial(rec.GRPCAddr(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
