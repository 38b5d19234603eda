package main

import (
	"context"
	"fmt"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/client"
)

func init() {
	register(&command{
		Name:    "search",
		Usage:   "PREFIX TYPE=VALUE [--prefix-match] [--limit N] [--all]",
		Summary: "find the identifiers under PREFIX with a TYPE value equal to (or starting with) VALUE",
		Run:     runSearch,
	})
}

func runSearch(ctx context.Context, e *env, args []string) int {
	fs := e.flags()
	prefixMatch := fs.Bool("prefix-match", false, "match values that start with VALUE")
	limit := fs.Uint("limit", 0, "hits per page (0: the node's default, 100)")
	token := fs.String("page-token", "", "continue from this token")
	all := fs.Bool("all", false, "fetch every page")
	pos, code, ok := e.parseArgs(fs, args, e.cmd.Usage)
	if !ok {
		return code
	}
	if len(pos) != 2 {
		return e.usageError("want PREFIX TYPE=VALUE")
	}
	v, err := parseValueArg(pos[1])
	if err != nil {
		return e.usageError("%v", err)
	}
	if v.Index != 0 {
		return e.usageError("a search value has no index: give TYPE=VALUE")
	}
	if *limit > 1<<32-1 {
		return e.usageError("--limit %d is too large", *limit)
	}
	req := &idresv1.SearchRequest{Prefix: pos[0], Type: v.Type, Value: v.Data, PrefixMatch: *prefixMatch,
		PageSize: uint32(*limit), PageToken: *token}
	return e.withPager(ctx, func(ctx context.Context, c *client.Client) int {
		out := &idresv1.SearchResponse{}
		next, err := e.pages(ctx, req.PageToken, *all, func(ctx context.Context, tok string) (string, error) {
			req.PageToken = tok
			resp, err := c.Search(ctx, req)
			out.Hits = append(out.Hits, resp.GetHits()...)
			return resp.GetNextPageToken(), err
		})
		if err != nil {
			return e.fail(err)
		}
		out.NextPageToken = next
		if e.JSON {
			return e.printJSON(out)
		}
		tw := e.table("identifier\tindex\ttype\tdata")
		for _, h := range out.Hits {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", h.GetIdentifier(), h.GetValue().GetIndex(), h.GetValue().GetType(), formatData(h.GetValue().GetData()))
		}
		tw.Flush()
		fmt.Fprintf(e.Stdout, ";; %s\n", plural(len(out.Hits), "hit"))
		printNextPage(e, out.NextPageToken)
		return exitOK
	})
}
