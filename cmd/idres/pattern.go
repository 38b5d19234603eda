package main

import (
	"context"
	"fmt"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/client"
)

func init() {
	register(&command{
		Name:    "pattern",
		Usage:   "set|list|delete ...",
		Summary: "manage a prefix's identifier patterns (serial ranges without a record per part)",
		Run: func(ctx context.Context, e *env, args []string) int {
			return runSubcommand(ctx, e, args, patternSubcommands)
		},
	})
	register(&command{
		Name:    "tombstone",
		Usage:   "lift ID",
		Summary: "lift the tombstone of a withdrawn identifier so it may be registered again",
		Run: func(ctx context.Context, e *env, args []string) int {
			return runSubcommand(ctx, e, args, tombstoneSubcommands)
		},
	})
}

var patternSubcommands = []subcommand{
	{"set", "PREFIX PATTERN INDEX:TYPE=TEMPLATE|TYPE=TEMPLATE... [--ttl S] [--private]", patternSet},
	{"list", "PREFIX", patternList},
	{"delete", "PREFIX PATTERN", patternDelete},
}

var tombstoneSubcommands = []subcommand{
	{"lift", "ID", tombstoneLift},
}

func patternSet(ctx context.Context, e *env, args []string, synopsis string) int {
	fs := e.flags()
	ttl, private := valueFlags(fs)
	pos, code, ok := e.parseArgs(fs, args, synopsis)
	if !ok {
		return code
	}
	if len(pos) < 3 {
		return e.usageError("pattern set: want a prefix, a pattern and at least one value template")
	}
	vals, code, ok := e.valueArgs(pos[2:], *ttl, *private, false)
	if !ok {
		return code
	}
	p := &idresv1.Pattern{Prefix: pos[0], Pattern: pos[1], Values: vals}
	return e.withClient(ctx, func(ctx context.Context, c *client.Client) int {
		got, err := c.SetPattern(ctx, &idresv1.SetPatternRequest{Pattern: p})
		if err != nil {
			return e.fail(err)
		}
		if e.JSON {
			return e.printJSON(got)
		}
		fmt.Fprintf(e.Stdout, "set pattern %s under %s: %s\n", got.GetPattern(), got.GetPrefix(), plural(len(got.GetValues()), "value"))
		return exitOK
	})
}

func patternList(ctx context.Context, e *env, args []string, synopsis string) int {
	fs := e.flags()
	pos, code, ok := e.parseArgs(fs, args, synopsis)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return e.usageError("pattern list: want a prefix")
	}
	return e.withClient(ctx, func(ctx context.Context, c *client.Client) int {
		got, err := c.ListPatterns(ctx, &idresv1.ListPatternsRequest{Prefix: pos[0]})
		if err != nil {
			return e.fail(err)
		}
		if e.JSON {
			return e.printJSON(got)
		}
		for _, p := range got.GetPatterns() {
			fmt.Fprintf(e.Stdout, ";; %s/%s: %s, updated %s\n", p.GetPrefix(), p.GetPattern(), plural(len(p.GetValues()), "value"), formatTime(p.GetUpdated()))
			printValues(e.Stdout, p.GetValues())
		}
		return exitOK
	})
}

func patternDelete(ctx context.Context, e *env, args []string, synopsis string) int {
	fs := e.flags()
	pos, code, ok := e.parseArgs(fs, args, synopsis)
	if !ok {
		return code
	}
	if len(pos) != 2 {
		return e.usageError("pattern delete: want a prefix and a pattern")
	}
	return e.withClient(ctx, func(ctx context.Context, c *client.Client) int {
		got, err := c.DeletePattern(ctx, &idresv1.DeletePatternRequest{Prefix: pos[0], Pattern: pos[1]})
		if err != nil {
			return e.fail(err)
		}
		if e.JSON {
			return e.printJSON(got)
		}
		fmt.Fprintf(e.Stdout, "deleted pattern %s under %s\n", pos[1], pos[0])
		return exitOK
	})
}

func tombstoneLift(ctx context.Context, e *env, args []string, synopsis string) int {
	fs := e.flags()
	pos, code, ok := e.parseArgs(fs, args, synopsis)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return e.usageError("tombstone lift: want exactly one identifier")
	}
	return e.withClient(ctx, func(ctx context.Context, c *client.Client) int {
		got, err := c.LiftTombstone(ctx, &idresv1.LiftTombstoneRequest{Identifier: pos[0]})
		if err != nil {
			return e.fail(err)
		}
		if e.JSON {
			return e.printJSON(got)
		}
		fmt.Fprintf(e.Stdout, "lifted the tombstone of %s; it may be registered again\n", got.GetIdentifier())
		return exitOK
	})
}

// deleteTombstone holds delete's tombstone flags.
type deleteTombstone struct {
	on                bool
	reason, successor string
}

func tombstoneFlags(fs interface {
	BoolVar(*bool, string, bool, string)
	StringVar(*string, string, string, string)
}) *deleteTombstone {
	t := &deleteTombstone{}
	fs.BoolVar(&t.on, "tombstone", false, "leave a tombstone: the identifier resolves as GONE and cannot be registered again until a prefix admin lifts it")
	fs.StringVar(&t.reason, "reason", "", "why it was withdrawn (with --tombstone)")
	fs.StringVar(&t.successor, "successor", "", "the identifier that replaces it (with --tombstone)")
	return t
}

func (t *deleteTombstone) options() (*idresv1.TombstoneOptions, error) {
	if !t.on {
		if t.reason != "" || t.successor != "" {
			return nil, fmt.Errorf("--reason and --successor need --tombstone")
		}
		return nil, nil
	}
	return &idresv1.TombstoneOptions{Reason: t.reason, Successor: t.successor}, nil
}

func (t *deleteTombstone) note() string {
	if !t.on {
		return ""
	}
	if t.successor != "" {
		return fmt.Sprintf(", leaving a tombstone (successor %s)", t.successor)
	}
	return ", leaving a tombstone"
}
