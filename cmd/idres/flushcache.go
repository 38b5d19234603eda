package main

import (
	"context"
	"fmt"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/client"
)

func init() {
	register(&command{
		Name:    "flush-cache",
		Usage:   "[PREFIX]",
		Summary: "drop a recursive node's cached answers and referrals (all, or at and under PREFIX)",
		Run:     runFlushCache,
	})
}

func runFlushCache(ctx context.Context, e *env, args []string) int {
	fs := e.flags()
	pos, code, ok := e.parseArgs(fs, args, e.cmd.Usage)
	if !ok {
		return code
	}
	if len(pos) > 1 {
		return e.usageError("want at most one prefix, got %d arguments", len(pos))
	}
	prefix := ""
	if len(pos) == 1 {
		prefix = pos[0]
	}
	return e.withClient(ctx, func(ctx context.Context, c *client.Client) int {
		resp, err := c.FlushCache(ctx, &idresv1.FlushCacheRequest{Prefix: prefix})
		if err != nil {
			return e.fail(err)
		}
		if e.JSON {
			return e.printJSON(resp)
		}
		fmt.Fprintf(e.Stdout, "flushed %d cache entries\n", resp.GetEntriesRemoved())
		return exitOK
	})
}
