package main

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/client"
)

func init() {
	register(&command{
		Name:    "prefix",
		Usage:   "create|get|list|delete ...",
		Summary: "manage the prefixes (zones) a node holds",
		Run:     runPrefix,
	})
}

// subcommand is one word after a command group such as "prefix".
type subcommand struct {
	name, usage string
	run         func(ctx context.Context, e *env, args []string, synopsis string) int
}

var prefixSubcommands = []subcommand{
	{"create", "PREFIX [--negative-ttl S]", prefixCreate},
	{"get", "PREFIX", prefixGet},
	{"list", "[--page-size N] [--page-token T] [--all]", prefixList},
	{"delete", "PREFIX [--force]", prefixDelete},
}

func runPrefix(ctx context.Context, e *env, args []string) int {
	return runSubcommand(ctx, e, args, prefixSubcommands)
}

// runSubcommand dispatches args[0] among subs; "-h" or no word prints them.
func runSubcommand(ctx context.Context, e *env, args []string, subs []subcommand) int {
	usage := func() {
		fmt.Fprintf(e.Stdout, "usage:\n")
		for _, s := range subs {
			fmt.Fprintf(e.Stdout, "  idres %s %s %s\n", e.cmd.Name, s.name, s.usage)
		}
		fmt.Fprintf(e.Stdout, "\nRun 'idres %s SUBCOMMAND -h' for its flags.\n", e.cmd.Name)
	}
	if len(args) == 0 {
		return e.usageError("missing subcommand")
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "-help" || args[0] == "help" {
		usage()
		return exitOK
	}
	for _, s := range subs {
		if s.name == args[0] {
			return s.run(ctx, e, args[1:], s.name+" "+s.usage)
		}
	}
	return e.usageError("unknown subcommand %q", args[0])
}

func prefixCreate(ctx context.Context, e *env, args []string, synopsis string) int {
	fs := e.flags()
	negTTL := fs.Uint("negative-ttl", 0, "seconds resolvers may cache a negative answer under the prefix (0: the node's default, 3600)")
	pos, code, ok := e.parseArgs(fs, args, synopsis)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return e.usageError("prefix create: want exactly one prefix")
	}
	p := &idresv1.Prefix{Prefix: pos[0]}
	if *negTTL > 0 {
		if *negTTL > 1<<32-1 {
			return e.usageError("--negative-ttl %d is too large", *negTTL)
		}
		p.NegativeTtl = proto.Uint32(uint32(*negTTL))
	}
	return e.withClient(ctx, func(ctx context.Context, c *client.Client) int {
		got, err := c.CreatePrefix(ctx, &idresv1.CreatePrefixRequest{Prefix: p})
		if err != nil {
			return e.fail(err)
		}
		if e.JSON {
			return e.printJSON(got)
		}
		fmt.Fprintf(e.Stdout, "created prefix %s (negative ttl %d)\n", got.GetPrefix(), got.GetNegativeTtl())
		return exitOK
	})
}

func prefixGet(ctx context.Context, e *env, args []string, synopsis string) int {
	fs := e.flags()
	pos, code, ok := e.parseArgs(fs, args, synopsis)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return e.usageError("prefix get: want exactly one prefix")
	}
	return e.withClient(ctx, func(ctx context.Context, c *client.Client) int {
		got, err := c.GetPrefix(ctx, &idresv1.GetPrefixRequest{Prefix: pos[0]})
		if err != nil {
			return e.fail(err)
		}
		if e.JSON {
			return e.printJSON(got)
		}
		printPrefixes(e, []*idresv1.Prefix{got})
		return exitOK
	})
}

func prefixList(ctx context.Context, e *env, args []string, synopsis string) int {
	fs := e.flags()
	size := fs.Uint("page-size", 0, "prefixes per page, 1..1000 (0: the node's default, 100)")
	token := fs.String("page-token", "", "continue a listing from this token")
	all := fs.Bool("all", false, "fetch every page")
	pos, code, ok := e.parseArgs(fs, args, synopsis)
	if !ok {
		return code
	}
	if len(pos) != 0 {
		return e.usageError("prefix list: unexpected argument %q", pos[0])
	}
	if *size > 1<<32-1 {
		return e.usageError("--page-size %d is too large", *size)
	}
	return e.withPager(ctx, func(ctx context.Context, c *client.Client) int {
		out := &idresv1.ListPrefixesResponse{}
		next, err := e.pages(ctx, *token, *all, func(ctx context.Context, tok string) (string, error) {
			resp, err := c.ListPrefixes(ctx, &idresv1.ListPrefixesRequest{PageSize: uint32(*size), PageToken: tok})
			out.Prefixes = append(out.Prefixes, resp.GetPrefixes()...)
			return resp.GetNextPageToken(), err
		})
		if err != nil {
			return e.fail(err)
		}
		out.NextPageToken = next
		if e.JSON {
			return e.printJSON(out)
		}
		printPrefixes(e, out.Prefixes)
		printNextPage(e, out.NextPageToken)
		return exitOK
	})
}

func prefixDelete(ctx context.Context, e *env, args []string, synopsis string) int {
	fs := e.flags()
	force := fs.Bool("force", false, "also delete the identifiers under the prefix")
	pos, code, ok := e.parseArgs(fs, args, synopsis)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return e.usageError("prefix delete: want exactly one prefix")
	}
	return e.withClient(ctx, func(ctx context.Context, c *client.Client) int {
		resp, err := c.DeletePrefix(ctx, &idresv1.DeletePrefixRequest{Prefix: pos[0], Force: *force})
		if err != nil {
			return e.fail(err)
		}
		if e.JSON {
			return e.printJSON(resp)
		}
		fmt.Fprintf(e.Stdout, "deleted prefix %s (%s)\n", pos[0], plural(int(resp.GetIdentifiersDeleted()), "identifier"))
		return exitOK
	})
}

// printPrefixes writes one line per prefix with a header line.
func printPrefixes(e *env, ps []*idresv1.Prefix) {
	tw := e.table("prefix\tidentifiers\tnegative-ttl\tcreated")
	for _, p := range ps {
		name := p.GetPrefix()
		if name == "" {
			name = "(root)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", name, p.GetIdentifierCount(), p.GetNegativeTtl(), formatTime(p.GetCreated()))
	}
	tw.Flush()
}

// printNextPage tells how to continue a listing that has more pages.
func printNextPage(e *env, token string) {
	if token != "" {
		fmt.Fprintf(e.Stdout, ";; more: --page-token %s (or --all)\n", token)
	}
}
