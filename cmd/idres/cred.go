package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/client"
)

func init() {
	register(&command{
		Name:    "cred",
		Usage:   "issue|list|revoke ...",
		Summary: "manage registrar credentials (prefix-scoped tokens)",
		Run: func(ctx context.Context, e *env, args []string) int {
			return runSubcommand(ctx, e, args, credSubcommands)
		},
	})
}

var credSubcommands = []subcommand{
	{"issue", "PREFIX --role admin|write|read [--expires D] [--note TEXT] [--token-out FILE]", credIssue},
	{"list", "[--prefix P] [--revoked] [--all]", credList},
	{"revoke", "ID", credRevoke},
}

// parseWhen reads a point in time as RFC 3339 or as a duration from now
// (e.g. 720h); forward is the direction of a duration.
func parseWhen(s string, now time.Time, forward bool) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("%q: give a positive duration", s)
		}
		if !forward {
			d = -d
		}
		return now.Add(d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a duration (720h) nor an RFC 3339 time (2027-01-01T00:00:00Z)", s)
	}
	return t, nil
}

func credIssue(ctx context.Context, e *env, args []string, synopsis string) int {
	fs := e.flags()
	role := fs.String("role", "", "admin (manage the subtree, issue credentials), write (identifiers) or read (private values)")
	expires := fs.String("expires", "", "expiry: a duration from now (720h) or an RFC 3339 time; default never (capped at your own credential's)")
	note := fs.String("note", "", "free text kept with the credential, e.g. who holds it")
	out := fs.String("token-out", "", "write the token to this new file (mode 0600) instead of printing it")
	pos, code, ok := e.parseArgs(fs, args, synopsis)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return e.usageError("cred issue: want exactly one prefix (\"\" for the root)")
	}
	if *role == "" {
		return e.usageError("cred issue: --role is required")
	}
	req := &idresv1.IssueCredentialRequest{Prefix: pos[0], Role: *role, Note: *note}
	if *expires != "" {
		t, err := parseWhen(*expires, time.Now(), true)
		if err != nil {
			return e.usageError("--expires %v", err)
		}
		req.Expires = timestamppb.New(t)
	}
	return e.withClient(ctx, func(ctx context.Context, c *client.Client) int {
		resp, err := c.IssueCredential(ctx, req)
		if err != nil {
			return e.fail(err)
		}
		if e.JSON {
			return e.printJSON(resp)
		}
		cr := resp.GetCredential()
		fmt.Fprintf(e.Stdout, "issued credential %s: role %s on %s, expires %s\n", cr.GetId(), cr.GetRole(), subtreeName(cr.GetPrefix()), expiry(cr.GetExpires()))
		if *out != "" {
			// O_EXCL: never overwrite another credential's token file.
			f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err == nil {
				_, err = fmt.Fprintln(f, resp.GetToken())
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
			if err != nil {
				// The credential exists but its token is lost: say so, and how to undo it.
				fmt.Fprintf(e.Stderr, "idres: write --token-out: %v; revoke the unusable credential with: idres cred revoke %s\n", err, cr.GetId())
				return exitServer
			}
			fmt.Fprintf(e.Stdout, "token written to %s (mode 0600)\n", *out)
			return exitOK
		}
		fmt.Fprintf(e.Stdout, "token: %s\n", resp.GetToken())
		fmt.Fprintln(e.Stderr, "idres: the token is shown only this once; the node keeps only a hash of it")
		return exitOK
	})
}

func credList(ctx context.Context, e *env, args []string, synopsis string) int {
	fs := e.flags()
	prefix := fs.String("prefix", "", "only credentials within this subtree (default: your own)")
	revoked := fs.Bool("revoked", false, "include revoked credentials")
	size := fs.Uint("page-size", 0, "credentials per page (0: the node's default, 100)")
	token := fs.String("page-token", "", "continue a listing from this token")
	all := fs.Bool("all", false, "fetch every page")
	pos, code, ok := e.parseArgs(fs, args, synopsis)
	if !ok {
		return code
	}
	if len(pos) != 0 {
		return e.usageError("cred list: unexpected argument %q", pos[0])
	}
	if *size > 1<<32-1 {
		return e.usageError("--page-size %d is too large", *size)
	}
	return e.withPager(ctx, func(ctx context.Context, c *client.Client) int {
		out := &idresv1.ListCredentialsResponse{}
		req := &idresv1.ListCredentialsRequest{Prefix: *prefix, IncludeRevoked: *revoked, PageSize: uint32(*size)}
		next, err := e.pages(ctx, *token, *all, func(ctx context.Context, tok string) (string, error) {
			req.PageToken = tok
			resp, err := c.ListCredentials(ctx, req)
			out.Credentials = append(out.Credentials, resp.GetCredentials()...)
			return resp.GetNextPageToken(), err
		})
		if err != nil {
			return e.fail(err)
		}
		out.NextPageToken = next
		if e.JSON {
			return e.printJSON(out)
		}
		tw := e.table("id\tprefix\trole\tcreated\texpires\tstate\tissued-by\tnote")
		for _, cr := range out.Credentials {
			state := "active"
			switch {
			case cr.GetRevoked() != nil:
				state = "revoked " + formatTime(cr.GetRevoked())
			case cr.GetExpires() != nil && !cr.GetExpires().AsTime().After(time.Now()):
				state = "expired"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cr.GetId(), subtreeName(cr.GetPrefix()), cr.GetRole(),
				formatTime(cr.GetCreated()), expiry(cr.GetExpires()), state, dash(cr.GetIssuedBy()), strings.ReplaceAll(cr.GetNote(), "\t", " "))
		}
		tw.Flush()
		printNextPage(e, out.NextPageToken)
		return exitOK
	})
}

func credRevoke(ctx context.Context, e *env, args []string, synopsis string) int {
	fs := e.flags()
	pos, code, ok := e.parseArgs(fs, args, synopsis)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return e.usageError("cred revoke: want exactly one credential id")
	}
	// A whole token is accepted too: its id is the part before the dot.
	id, _, _ := strings.Cut(pos[0], ".")
	return e.withClient(ctx, func(ctx context.Context, c *client.Client) int {
		cr, err := c.RevokeCredential(ctx, &idresv1.RevokeCredentialRequest{Id: id})
		if err != nil {
			return e.fail(err)
		}
		if e.JSON {
			return e.printJSON(cr)
		}
		fmt.Fprintf(e.Stdout, "revoked credential %s (%s on %s) at %s\n", cr.GetId(), cr.GetRole(), subtreeName(cr.GetPrefix()), formatTime(cr.GetRevoked()))
		return exitOK
	})
}

func subtreeName(prefix string) string {
	if prefix == "" {
		return "(root)"
	}
	return prefix
}

func expiry(t *timestamppb.Timestamp) string {
	if t == nil {
		return "never"
	}
	return formatTime(t)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
