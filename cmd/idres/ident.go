package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/client"
)

func init() {
	register(&command{Name: "create", Usage: "ID INDEX:TYPE=DATA|TYPE=DATA... [--ttl S] [--private]",
		Summary: "register an identifier with its values", Run: runCreate})
	register(&command{Name: "get", Usage: "ID",
		Summary: "show an identifier's record, private values included", Run: runGet})
	register(&command{Name: "set", Usage: "ID INDEX:TYPE=DATA... [--ttl S] [--private]",
		Summary: "set values at their indexes (replacing or adding)", Run: runSet})
	register(&command{Name: "rm-value", Usage: "ID INDEX...",
		Summary: "remove values by index", Run: runRmValue})
	register(&command{Name: "delete", Usage: "ID [--tombstone [--reason R] [--successor ID]]",
		Summary: "delete an identifier, optionally leaving a tombstone", Run: runDelete})
	register(&command{Name: "list", Usage: "PREFIX [--page-size N] [--page-token T] [--all]",
		Summary: "list the identifiers under a prefix", Run: runList})
}

// valueFlags binds the per-command value options.
func valueFlags(fs *flag.FlagSet) (ttl *uint, private *bool) {
	ttl = fs.Uint("ttl", 0, "TTL in seconds for the values given (0: the node's default, 86400)")
	private = fs.Bool("private", false, "make the values given visible only to authorised callers")
	return ttl, private
}

func (e *env) valueArgs(args []string, ttl uint, private, requireIndex bool) ([]*idresv1.Value, int, bool) {
	if ttl > 1<<32-1 {
		return nil, e.usageError("--ttl %d is too large", ttl), false
	}
	vals, err := parseValueArgs(args, valueOptions{TTL: uint32(ttl), Private: private, RequireIndex: requireIndex})
	if err != nil {
		return nil, e.usageError("%v", err), false
	}
	return vals, 0, true
}

// printRecord prints an identifier as the human or JSON form.
func (e *env) printRecord(id *idresv1.Identifier) int {
	if e.JSON {
		return e.printJSON(id)
	}
	printIdentifier(e.Stdout, id)
	return exitOK
}

func runCreate(ctx context.Context, e *env, args []string) int {
	return e.writeValues(ctx, args, false, "want an identifier and at least one value",
		func(ctx context.Context, c *client.Client, id string, vals []*idresv1.Value) (*idresv1.Identifier, error) {
			return c.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: id, Values: vals})
		})
}

// writeValues is create and set: an identifier, value arguments (with
// explicit indexes when requireIndex), one call, the record printed.
func (e *env) writeValues(ctx context.Context, args []string, requireIndex bool, want string,
	call func(ctx context.Context, c *client.Client, id string, vals []*idresv1.Value) (*idresv1.Identifier, error)) int {
	fs := e.flags()
	ttl, private := valueFlags(fs)
	pos, code, ok := e.parseArgs(fs, args, e.cmd.Usage)
	if !ok {
		return code
	}
	if len(pos) < 2 {
		return e.usageError("%s", want)
	}
	vals, code, ok := e.valueArgs(pos[1:], *ttl, *private, requireIndex)
	if !ok {
		return code
	}
	return e.withClient(ctx, func(ctx context.Context, c *client.Client) int {
		got, err := call(ctx, c, pos[0], vals)
		if err != nil {
			return e.fail(err)
		}
		return e.printRecord(got)
	})
}

func runGet(ctx context.Context, e *env, args []string) int {
	fs := e.flags()
	pos, code, ok := e.parseArgs(fs, args, e.cmd.Usage)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return e.usageError("want exactly one identifier")
	}
	return e.withClient(ctx, func(ctx context.Context, c *client.Client) int {
		got, err := c.GetIdentifier(ctx, &idresv1.GetIdentifierRequest{Identifier: pos[0]})
		if err != nil {
			return e.fail(err)
		}
		return e.printRecord(got)
	})
}

func runSet(ctx context.Context, e *env, args []string) int {
	return e.writeValues(ctx, args, true, "want an identifier and at least one INDEX:TYPE=DATA",
		func(ctx context.Context, c *client.Client, id string, vals []*idresv1.Value) (*idresv1.Identifier, error) {
			return c.UpdateValues(ctx, &idresv1.UpdateValuesRequest{Identifier: id, Replace: vals})
		})
}

func runRmValue(ctx context.Context, e *env, args []string) int {
	fs := e.flags()
	pos, code, ok := e.parseArgs(fs, args, e.cmd.Usage)
	if !ok {
		return code
	}
	if len(pos) < 2 {
		return e.usageError("want an identifier and at least one index")
	}
	var idx []uint32
	for _, s := range pos[1:] {
		n, err := parseIndex(s)
		if err != nil {
			return e.usageError("%v", err)
		}
		idx = append(idx, n)
	}
	return e.withClient(ctx, func(ctx context.Context, c *client.Client) int {
		got, err := c.UpdateValues(ctx, &idresv1.UpdateValuesRequest{Identifier: pos[0], Remove: idx})
		if err != nil {
			return e.fail(err)
		}
		return e.printRecord(got)
	})
}

func runDelete(ctx context.Context, e *env, args []string) int {
	fs := e.flags()
	tomb := tombstoneFlags(fs)
	pos, code, ok := e.parseArgs(fs, args, e.cmd.Usage)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return e.usageError("want exactly one identifier")
	}
	opts, err := tomb.options()
	if err != nil {
		return e.usageError("%v", err)
	}
	return e.withClient(ctx, func(ctx context.Context, c *client.Client) int {
		resp, err := c.DeleteIdentifier(ctx, &idresv1.DeleteIdentifierRequest{Identifier: pos[0], Tombstone: opts})
		if err != nil {
			return e.fail(err)
		}
		if e.JSON {
			return e.printJSON(resp)
		}
		fmt.Fprintf(e.Stdout, "deleted %s%s\n", pos[0], tomb.note())
		return exitOK
	})
}

func runList(ctx context.Context, e *env, args []string) int {
	fs := e.flags()
	size := fs.Uint("page-size", 0, "identifiers per page, 1..1000 (0: the node's default, 100)")
	token := fs.String("page-token", "", "continue a listing from this token")
	all := fs.Bool("all", false, "fetch every page")
	pos, code, ok := e.parseArgs(fs, args, e.cmd.Usage)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return e.usageError("want exactly one prefix")
	}
	if *size > 1<<32-1 {
		return e.usageError("--page-size %d is too large", *size)
	}
	return e.withPager(ctx, func(ctx context.Context, c *client.Client) int {
		out := &idresv1.ListIdentifiersResponse{}
		printed := false
		next, err := e.pages(ctx, *token, *all, func(ctx context.Context, tok string) (string, error) {
			resp, err := c.ListIdentifiers(ctx, &idresv1.ListIdentifiersRequest{Prefix: pos[0], PageSize: uint32(*size), PageToken: tok})
			if err != nil {
				return "", err
			}
			if e.JSON {
				out.Identifiers = append(out.Identifiers, resp.GetIdentifiers()...)
			} else {
				// Stream pages as they come: --all over a large prefix
				// should not hold everything in memory.
				printIdentifierList(e, resp.GetIdentifiers(), !printed)
				printed = true
			}
			return resp.GetNextPageToken(), nil
		})
		if err != nil {
			return e.fail(err)
		}
		out.NextPageToken = next
		if e.JSON {
			return e.printJSON(out)
		}
		printNextPage(e, out.NextPageToken)
		return exitOK
	})
}

// printIdentifierList writes one line per identifier: the identifier and
// its value count.
func printIdentifierList(e *env, ids []*idresv1.Identifier, header bool) {
	tw := tabwriter.NewWriter(e.Stdout, 0, 0, 2, ' ', 0)
	if header {
		fmt.Fprintln(tw, ";; identifier\tvalues\tupdated")
	}
	for _, id := range ids {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", id.GetIdentifier(), len(id.GetValues()), formatTime(id.GetUpdated()))
	}
	tw.Flush()
}
