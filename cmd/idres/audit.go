package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/client"
)

func init() {
	register(&command{
		Name:    "audit",
		Usage:   "[--prefix P] [--since T] [--limit N] [--all]",
		Summary: "show the audit log of registry changes in your subtree (admin)",
		Run:     runAudit,
	})
}

func runAudit(ctx context.Context, e *env, args []string) int {
	fs := e.flags()
	prefix := fs.String("prefix", "", "only changes under this subtree (default: your credential's)")
	since := fs.String("since", "", "only changes at or after this RFC 3339 time, or this long ago (24h)")
	limit := fs.Uint("limit", 0, "records per page (0: the node's default, 100)")
	token := fs.String("page-token", "", "continue from this token")
	all := fs.Bool("all", false, "fetch every page")
	pos, code, ok := e.parseArgs(fs, args, e.cmd.Usage)
	if !ok {
		return code
	}
	if len(pos) != 0 {
		return e.usageError("unexpected argument %q", pos[0])
	}
	if *limit > 1<<32-1 {
		return e.usageError("--limit %d is too large", *limit)
	}
	req := &idresv1.ListAuditRequest{Prefix: *prefix, Limit: uint32(*limit), PageToken: *token}
	if *since != "" {
		t, err := parseWhen(*since, time.Now(), false)
		if err != nil {
			return e.usageError("--since %v", err)
		}
		req.Since = timestamppb.New(t)
	}
	return e.withPager(ctx, func(ctx context.Context, c *client.Client) int {
		out := &idresv1.ListAuditResponse{}
		next, err := e.pages(ctx, req.PageToken, *all, func(ctx context.Context, tok string) (string, error) {
			req.PageToken = tok
			resp, err := c.ListAudit(ctx, req)
			out.Records = append(out.Records, resp.GetRecords()...)
			return resp.GetNextPageToken(), err
		})
		if err != nil {
			return e.fail(err)
		}
		out.NextPageToken = next
		if e.JSON {
			return e.printJSON(out)
		}
		tw := e.table("seq\ttime\tcredential\tcall\ttarget\tbefore\tafter")
		for _, r := range out.Records {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.GetSeq(), formatTime(r.GetTime()), dash(r.GetCredentialId()),
				r.GetCall(), r.GetTarget(), shortDigest(r.GetBeforeSha256()), shortDigest(r.GetAfterSha256()))
		}
		tw.Flush()
		printNextPage(e, out.NextPageToken)
		return exitOK
	})
}

// shortDigest shows the first 12 hex digits of a SHA-256 (--json has all).
func shortDigest(d []byte) string {
	if len(d) == 0 {
		return "-"
	}
	return hex.EncodeToString(d)[:12]
}
