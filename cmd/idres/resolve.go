package main

import (
	"context"
	"flag"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/client"
)

func init() {
	register(&command{
		Name:    "resolve",
		Usage:   "ID [--type T]... [--index N]... [--recursive] [--trace] | --stream -f FILE | --handle HOST:PORT [--udp] [--verify [--site FILE]] ID",
		Summary: "resolve an identifier (no credential needed)",
		Run:     runResolve,
	})
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return "" }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

// indexList is a repeatable index flag.
type indexList []uint32

func (l *indexList) String() string { return "" }
func (l *indexList) Set(s string) error {
	n, err := parseIndex(s)
	if err != nil {
		return err
	}
	*l = append(*l, n)
	return nil
}

func runResolve(ctx context.Context, e *env, args []string) int {
	fs := e.flags()
	var types stringList
	var indexes indexList
	fs.Var(&types, "type", "only values of this `type` (repeatable; exact match)")
	fs.Var(&indexes, "index", "only the value at this `index` (repeatable)")
	recursive := fs.Bool("recursive", false, "ask the node to follow referrals")
	sf := bindStreamFlags(fs)
	trace := fs.Bool("trace", false, "walk the referrals from --server yourself and print each step (like dig +trace)")
	handle := fs.String("handle", "", "ask this Handle-protocol server `host:port` (RFC 3652: idresd --handle, CNRI HANDLE.NET) instead of --server; a value matches a --type or an --index")
	udp := fs.Bool("udp", false, "with --handle: ask over UDP (a truncated answer is asked again over TCP)")
	verify := bindHandleVerifyFlags(fs)
	pos, code, ok := e.parseArgs(fs, args, e.cmd.Usage)
	if !ok {
		return code
	}
	if code, ok := verify.check(e, *handle != ""); !ok {
		return code
	}
	if *handle != "" {
		if *sf.on || *trace || *recursive {
			return e.usageError("--handle asks one identifier at a Handle server: not with --stream, --trace or --recursive")
		}
		if len(pos) != 1 {
			return e.usageError("want exactly one identifier, got %d arguments", len(pos))
		}
		return runResolveHandle(ctx, e, *handle, *udp, verify, pos[0], types, indexes)
	}
	if *udp {
		return e.usageError("--udp goes with --handle")
	}
	if *sf.on {
		if len(pos) != 0 {
			return e.usageError("--stream reads identifiers from -f FILE, not arguments")
		}
		return e.runResolveStream(ctx, sf, types, indexes, *recursive)
	}
	if len(pos) != 1 {
		return e.usageError("want exactly one identifier, got %d arguments", len(pos))
	}
	if *trace {
		return runTrace(ctx, e, &idresv1.ResolveRequest{Identifier: pos[0], Types: types, Indexes: indexes})
	}
	return e.withClient(ctx, func(ctx context.Context, c *client.Client) int {
		resp, err := c.Resolve(ctx, &idresv1.ResolveRequest{Identifier: pos[0], Types: types, Indexes: indexes, Recursive: *recursive})
		if err != nil {
			return e.fail(err)
		}
		if e.JSON {
			e.printJSON(resp)
		} else {
			printResolve(e.Stdout, resp)
		}
		return outcomeExit(resp.GetOutcome())
	})
}

// outcomeExit maps a resolution outcome to an exit code. A REFERRAL is an
// answer (where to ask next), so it succeeds.
func outcomeExit(o idresv1.Outcome) int {
	switch o {
	case idresv1.Outcome_OUTCOME_OK, idresv1.Outcome_OUTCOME_REFERRAL:
		return exitOK
	case idresv1.Outcome_OUTCOME_NOT_FOUND, idresv1.Outcome_OUTCOME_VALUES_NOT_FOUND,
		idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND, idresv1.Outcome_OUTCOME_GONE:
		return exitNegative
	case idresv1.Outcome_OUTCOME_INVALID_IDENTIFIER:
		return exitUsage
	}
	return exitServer
}

var (
	_ flag.Value = (*stringList)(nil)
	_ flag.Value = (*indexList)(nil)
)
