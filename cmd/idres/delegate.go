package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/client"
	"github.com/idres/idres/resolver/handlewire"
)

func init() {
	register(&command{
		Name:    "delegate",
		Usage:   "PREFIX --grpc ADDR[,ADDR] [--dns ADDR[,ADDR]] [--http URL[,URL]] [--handle IP:PORT[,IP:PORT] [--handle-key PUBFILE]] [--ttl S]",
		Summary: "hand a child prefix of a zone held by the node to other nodes (creates or replaces)",
		Run:     runDelegate,
	})
	register(&command{
		Name:    "undelegate",
		Usage:   "PREFIX",
		Summary: "remove the delegation of a child prefix",
		Run:     runUndelegate,
	})
	register(&command{
		Name:    "delegations",
		Usage:   "[ZONE]",
		Summary: "list the node's delegations (under ZONE when given)",
		Run:     runDelegations,
	})
}

// addrList is a repeatable flag whose values may also be comma-separated;
// order is preference order.
type addrList []string

func (l *addrList) String() string { return strings.Join(*l, ",") }
func (l *addrList) Set(s string) error {
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			*l = append(*l, a)
		}
	}
	return nil
}

func runDelegate(ctx context.Context, e *env, args []string) int {
	fs := e.flags()
	var grpcs, dnss, https, handles addrList
	fs.Var(&grpcs, "grpc", "gRPC `host:port` of the child's nodes, most preferred first (comma-separated or repeated; required)")
	fs.Var(&dnss, "dns", "DNS bridge `host[:port]` of the child's nodes")
	fs.Var(&https, "http", "HTTP gateway base `URL` of the child's nodes")
	fs.Var(&handles, "handle", "Handle-protocol `ip:port` of the child's nodes (each becomes an HS_SITE of the prefix handle)")
	handleKey := fs.String("handle-key", "", "the child's Handle public key `file` (PEM PUBLIC KEY, or a HANDLE.NET pubkey.bin), published in each HS_SITE so Handle clients verify the child's signed answers")
	ttl := fs.Uint("ttl", 0, "seconds resolvers may cache the referral (0: the node's default, 86400)")
	pos, code, ok := e.parseArgs(fs, args, e.cmd.Usage)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return e.usageError("want exactly one prefix, got %d arguments", len(pos))
	}
	if len(grpcs) == 0 {
		return e.usageError("--grpc is required")
	}
	d := &idresv1.Delegation{Prefix: pos[0], Grpc: grpcs, Dns: dnss, Http: https, Handle: handles}
	if *ttl > 0 {
		if *ttl > 1<<31-1 {
			return e.usageError("--ttl %d is too large", *ttl)
		}
		d.Ttl = proto.Uint32(uint32(*ttl))
	}
	if *handleKey != "" {
		raw, err := os.ReadFile(*handleKey)
		if err != nil {
			return e.usageError("--handle-key: %v", err)
		}
		if d.HandlePublicKey, err = handlewire.ParsePublicKeyFile(raw); err != nil {
			return e.usageError("--handle-key %s: %v", *handleKey, err)
		}
	}
	return e.withClient(ctx, func(ctx context.Context, c *client.Client) int {
		got, err := c.SetDelegation(ctx, &idresv1.SetDelegationRequest{Delegation: d})
		if err != nil {
			return e.fail(err)
		}
		if e.JSON {
			return e.printJSON(got)
		}
		fmt.Fprintf(e.Stdout, "delegated %s to %s (ttl %d)\n", got.GetPrefix(), strings.Join(got.GetGrpc(), ", "), got.GetTtl())
		return exitOK
	})
}

func runUndelegate(ctx context.Context, e *env, args []string) int {
	fs := e.flags()
	pos, code, ok := e.parseArgs(fs, args, e.cmd.Usage)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return e.usageError("want exactly one prefix, got %d arguments", len(pos))
	}
	return e.withClient(ctx, func(ctx context.Context, c *client.Client) int {
		resp, err := c.RemoveDelegation(ctx, &idresv1.RemoveDelegationRequest{Prefix: pos[0]})
		if err != nil {
			return e.fail(err)
		}
		if e.JSON {
			return e.printJSON(resp)
		}
		fmt.Fprintf(e.Stdout, "removed the delegation of %s\n", pos[0])
		return exitOK
	})
}

func runDelegations(ctx context.Context, e *env, args []string) int {
	fs := e.flags()
	pos, code, ok := e.parseArgs(fs, args, e.cmd.Usage)
	if !ok {
		return code
	}
	if len(pos) > 1 {
		return e.usageError("want at most one zone, got %d arguments", len(pos))
	}
	zone := ""
	if len(pos) == 1 {
		zone = pos[0]
	}
	return e.withPager(ctx, func(ctx context.Context, c *client.Client) int {
		out := &idresv1.ListDelegationsResponse{}
		req := &idresv1.ListDelegationsRequest{Zone: zone}
		for {
			cctx, cancel := e.call(ctx)
			resp, err := c.ListDelegations(cctx, req)
			cancel()
			if err != nil {
				return e.fail(err)
			}
			out.Delegations = append(out.Delegations, resp.GetDelegations()...)
			if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
				break
			}
		}
		if e.JSON {
			return e.printJSON(out)
		}
		tw := e.table("prefix\tttl\tgrpc\tdns\thttp\thandle")
		for _, d := range out.Delegations {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", d.GetPrefix(), d.GetTtl(),
				orDash(d.GetGrpc()), orDash(d.GetDns()), orDash(d.GetHttp()), orDash(d.GetHandle()))
		}
		tw.Flush()
		return exitOK
	})
}

func orDash(l []string) string {
	if len(l) == 0 {
		return "-"
	}
	return strings.Join(l, ",")
}
