package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/client"
)

func init() {
	register(&command{
		Name:    "watch",
		Usage:   "PREFIX [--from REV] [--after-seq N] [--count N] [--no-reconnect]",
		Summary: "follow identifier changes under PREFIX (created, updated, deleted) as they are committed",
		Run:     runWatch,
	})
}

// reconnectDelay is the pause before watching again after the node went
// away (it stopped, or the connection broke).
var reconnectDelay = time.Second

func runWatch(ctx context.Context, e *env, args []string) int {
	fs := e.flags()
	from := fs.String("from", "", "print the changes of revisions after REV first (0: all the node retains); default: only new changes")
	afterSeq := fs.Uint64("after-seq", 0, "resume after this feed sequence (printed in the first column)")
	count := fs.Int("count", 0, "exit after printing this many changes (0: run until interrupted)")
	noReconnect := fs.Bool("no-reconnect", false, "exit when the node goes away instead of resuming where the feed stopped")
	pos, code, ok := e.parseArgs(fs, args, e.cmd.Usage)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return e.usageError("want PREFIX")
	}
	req := &idresv1.WatchRequest{Prefix: pos[0], AfterSequence: *afterSeq}
	if *from != "" {
		rev, err := strconv.ParseUint(*from, 10, 64)
		if err != nil {
			return e.usageError("--from %q is not a revision", *from)
		}
		req.FromRevision = &rev
	}
	return e.withPager(ctx, func(ctx context.Context, c *client.Client) int {
		printed := 0
		for {
			last, err := watchOnce(ctx, e, c, req, &printed, *count)
			if err == nil {
				return exitOK
			}
			if last > 0 {
				req.AfterSequence, req.FromRevision = last, nil
			}
			if st, _ := status.FromError(err); *noReconnect || st.Code() != codes.Unavailable {
				return e.fail(err)
			}
			msg, _ := e.describe(err)
			if m := status.Convert(err).Message(); !strings.HasPrefix(m, "connection error") {
				msg = "Unavailable: " + strings.TrimPrefix(m, "unavailable: ") // the node's own word, e.g. that it is stopping
			}
			fmt.Fprintf(e.Stderr, "idres: %s; watching again after sequence %d in %s\n", msg, req.AfterSequence, reconnectDelay)
			select {
			case <-time.After(reconnectDelay):
			case <-ctx.Done():
				return e.fail(ctx.Err())
			}
		}
	})
}

// watchOnce runs one Watch stream until it fails or count changes are
// printed (nil error), and returns the last feed position it received.
func watchOnce(ctx context.Context, e *env, c *client.Client, req *idresv1.WatchRequest, printed *int, count int) (uint64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.Watch(ctx, req)
	if err != nil {
		return 0, err
	}
	var last uint64
	for first := true; ; first = false {
		resp, err := stream.Recv()
		if err != nil {
			return last, err
		}
		if first && !e.JSON {
			fmt.Fprintf(e.Stdout, ";; watching %q after sequence %d, node at revision %d\n", req.GetPrefix(), resp.GetLastSequence(), resp.GetStartRevision())
		}
		for _, ch := range resp.GetChanges() {
			if e.JSON {
				raw, err := protojson.MarshalOptions{EmitDefaultValues: true}.Marshal(ch)
				if err != nil {
					return last, err
				}
				fmt.Fprintf(e.Stdout, "%s\n", raw)
			} else {
				fmt.Fprintf(e.Stdout, "%d\t%d\t%s\t%s\t%s\n", ch.GetSequence(), ch.GetRevision(), formatTime(ch.GetTime()), changeKind(ch.GetKind()), ch.GetIdentifier())
			}
			last = ch.GetSequence()
			*printed++
			if count > 0 && *printed >= count {
				return last, nil
			}
		}
		last = resp.GetLastSequence()
	}
}

func changeKind(k idresv1.Change_Kind) string {
	switch k {
	case idresv1.Change_CREATED:
		return "created"
	case idresv1.Change_UPDATED:
		return "updated"
	case idresv1.Change_DELETED:
		return "deleted"
	case idresv1.Change_PATTERN_SET:
		return "pattern-set"
	case idresv1.Change_PATTERN_DELETED:
		return "pattern-deleted"
	}
	return k.String()
}
