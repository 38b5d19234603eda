package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/idres/idres/resolver/client"
)

// env is what every command gets: the parsed global flags, the output
// streams, and helpers to dial, parse flags, print and fail consistently.
type env struct {
	globals
	Stdout, Stderr io.Writer
	Getenv         func(string) string

	cmd *command // the command being run, for usage messages
	// serverSet: --server was on the command line (not its default or
	// $IDRES_SERVER), which the Handle commands require, since the
	// default names a gRPC port.
	serverSet bool
}

// noteServerFlag records whether fs parsed --server.
func (e *env) noteServerFlag(fs *flag.FlagSet) {
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "server" {
			e.serverSet = true
		}
	})
}

func newEnv(stdout, stderr io.Writer, getenv func(string) string) *env {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	return &env{globals: defaultGlobals(getenv), Stdout: stdout, Stderr: stderr, Getenv: getenv}
}

// flags returns a flag set for the current command with the global flags
// already bound, so `idres resolve X --json` works like `idres --json
// resolve X`.
func (e *env) flags() *flag.FlagSet {
	name := "idres"
	if e.cmd != nil {
		name += " " + e.cmd.Name
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	e.bindGlobals(fs)
	return fs
}

// errUsagePrinted reports that -h was asked for and usage was printed.
var errUsagePrinted = errors.New("usage printed")

// parse parses args with flags and positional arguments in any order ("--"
// ends flags). It returns the positional arguments. On -h it prints the
// command's usage to stdout and returns errUsagePrinted; on a bad flag it
// returns the error (the caller reports it with usageError).
func (e *env) parse(fs *flag.FlagSet, args []string, synopsis string) ([]string, error) {
	var pos []string
	for len(args) > 0 {
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				e.commandUsage(e.Stdout, fs, synopsis)
				return nil, errUsagePrinted
			}
			return nil, err
		}
		e.noteServerFlag(fs)
		consumed := len(args) - len(fs.Args())
		if consumed > 0 && args[consumed-1] == "--" && (consumed < 2 || !needsValue(fs, args[consumed-2])) {
			pos = append(pos, fs.Args()...)
			break
		}
		args = fs.Args()
		if len(args) > 0 {
			pos = append(pos, args[0])
			args = args[1:]
		}
	}
	return pos, nil
}

// needsValue reports whether arg is a flag that takes the next argument as
// its value (so a following "--" is that value, not the end of flags).
func needsValue(fs *flag.FlagSet, arg string) bool {
	if !strings.HasPrefix(arg, "-") || strings.Contains(arg, "=") {
		return false
	}
	f := fs.Lookup(strings.TrimLeft(arg, "-"))
	if f == nil {
		return false
	}
	bf, ok := f.Value.(interface{ IsBoolFlag() bool })
	return !ok || !bf.IsBoolFlag()
}

// parseArgs is parse plus the usual reporting: it returns the positional
// arguments, or ok=false with the exit code to return.
func (e *env) parseArgs(fs *flag.FlagSet, args []string, synopsis string) (pos []string, code int, ok bool) {
	pos, err := e.parse(fs, args, synopsis)
	switch {
	case errors.Is(err, errUsagePrinted):
		return nil, exitOK, false
	case err != nil:
		return nil, e.usageError("%v", err), false
	}
	return pos, 0, true
}

func (e *env) commandUsage(w io.Writer, fs *flag.FlagSet, synopsis string) {
	name := fs.Name()
	if e.cmd != nil {
		// Tolerate a synopsis that repeats the command's name.
		synopsis = strings.TrimPrefix(synopsis, e.cmd.Name+" ")
	}
	fmt.Fprintf(w, "usage: %s %s\n", name, synopsis)
	if e.cmd != nil && e.cmd.Summary != "" && synopsis == e.cmd.Usage {
		fmt.Fprintf(w, "\n%s.\n", e.cmd.Summary)
	}
	fmt.Fprintln(w, "\nFlags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// usageError prints a one-line usage error and returns exitUsage.
func (e *env) usageError(format string, args ...any) int {
	msg := fmt.Sprintf(format, args...)
	if e.cmd != nil {
		fmt.Fprintf(e.Stderr, "idres %s: %s (see idres %s -h)\n", e.cmd.Name, msg, e.cmd.Name)
	} else {
		fmt.Fprintf(e.Stderr, "idres: %s\n", msg)
	}
	return exitUsage
}

// token finds the registry credential: --token, --token-file, $IDRES_TOKEN,
// then ./idres-data/admin.token if it exists. "" means none (fine for
// resolve; registry calls then fail with Unauthenticated).
func (e *env) token() (string, error) {
	if e.Token != "" {
		return e.Token, nil
	}
	if e.TokenFile != "" {
		b, err := os.ReadFile(e.TokenFile)
		if err != nil {
			return "", fmt.Errorf("--token-file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if t := e.Getenv("IDRES_TOKEN"); t != "" {
		return t, nil
	}
	if b, err := os.ReadFile(defaultTokenFile); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	return "", nil
}

// dial connects to --server with the credential. The connection is lazy:
// an unreachable node shows up as an error of the first call. Errors are
// already reported; return the code.
func (e *env) dial() (*client.Client, int, bool) {
	tok, err := e.token()
	if err != nil {
		return nil, e.usageError("%v", err), false
	}
	ca := e.CA
	if ca == "" {
		ca = e.Getenv("IDRES_CA")
	}
	if (e.Cert == "") != (e.Key == "") {
		return nil, e.usageError("a client certificate needs both --cert and --key"), false
	}
	tlsCfg, err := client.LoadTLS(ca, e.Cert, e.Key)
	if err != nil {
		return nil, e.usageError("%v", err), false
	}
	c, err := client.Dial(e.Server, client.Options{Token: tok, TLS: tlsCfg})
	if err != nil {
		fmt.Fprintf(e.Stderr, "idres: %v\n", err)
		return nil, exitServer, false
	}
	return c, 0, true
}

// call derives the context for one call to the node, bounded by --timeout.
func (e *env) call(ctx context.Context) (context.Context, context.CancelFunc) {
	if e.Timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, e.Timeout)
}

// fail reports err in one line on stderr and returns its exit code.
func (e *env) fail(err error) int {
	msg, code := e.describe(err)
	fmt.Fprintf(e.Stderr, "idres: %s\n", msg)
	return code
}

// describe turns an error into one line without gRPC transport noise, and
// picks the exit code.
func (e *env) describe(err error) (string, int) {
	st, ok := status.FromError(err)
	if !ok {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Sprintf("no answer from %s within %s", e.Server, e.Timeout), exitServer
		}
		if errors.Is(err, context.Canceled) {
			return "interrupted", exitServer
		}
		return err.Error(), exitServer
	}
	msg := st.Message()
	switch st.Code() {
	case codes.Unavailable:
		if !transportError(msg) {
			// The node answered: it cannot serve the call now (stopping, or
			// its etcd store has no quorum).
			return fmt.Sprintf("Unavailable: %s answered: %s", e.Server, msg), exitServer
		}
		// "connection error: desc = \"transport: Error while dialing: dial tcp ...: connect: connection refused\""
		if i := strings.Index(msg, "desc = "); i >= 0 {
			msg = strings.Trim(msg[i+len("desc = "):], `"`)
		}
		msg = strings.TrimPrefix(msg, "transport: ")
		msg = strings.TrimPrefix(msg, "Error while dialing: ")
		return fmt.Sprintf("Unavailable: cannot reach %s: %s", e.Server, msg), exitServer
	case codes.DeadlineExceeded:
		return fmt.Sprintf("DeadlineExceeded: no answer from %s within %s", e.Server, e.Timeout), exitServer
	case codes.Canceled:
		return "Canceled: interrupted", exitServer
	}
	return fmt.Sprintf("%s: %s", st.Code(), msg), codeExit(st.Code())
}

// transportError tells a gRPC client's own Unavailable (no connection)
// from one a node sent.
func transportError(msg string) bool {
	for _, s := range []string{"connection error", "transport:", "connection closed", "name resolver", "error reading from server"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// codeExit maps a gRPC status code to an exit code.
func codeExit(c codes.Code) int {
	switch c {
	case codes.OK:
		return exitOK
	case codes.NotFound, codes.AlreadyExists, codes.FailedPrecondition:
		return exitNegative
	case codes.InvalidArgument, codes.OutOfRange:
		return exitUsage
	}
	return exitServer
}

// withClient dials --server, runs f with a context bounded by --timeout
// (for commands that make one call), and closes the connection.
func (e *env) withClient(ctx context.Context, f func(ctx context.Context, c *client.Client) int) int {
	c, code, ok := e.dial()
	if !ok {
		return code
	}
	defer c.Close()
	cctx, cancel := e.call(ctx)
	defer cancel()
	return f(cctx, c)
}

// pages fetches the page at token and, with all, every page after it,
// each call bounded by --timeout; fetch returns the next page's token. It
// returns the token after the last page fetched ("" at the end).
func (e *env) pages(ctx context.Context, token string, all bool, fetch func(ctx context.Context, token string) (string, error)) (string, error) {
	for {
		cctx, cancel := e.call(ctx)
		next, err := fetch(cctx, token)
		cancel()
		if err != nil || !all || next == "" {
			return next, err
		}
		token = next
	}
}

// withPager is withClient for commands that make many calls (paging,
// streams): ctx carries only cancellation, and f bounds each call itself
// with e.call.
func (e *env) withPager(ctx context.Context, f func(ctx context.Context, c *client.Client) int) int {
	c, code, ok := e.dial()
	if !ok {
		return code
	}
	defer c.Close()
	return f(ctx, c)
}
