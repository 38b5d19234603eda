// Command idres is the command-line client of an idres node: it resolves
// identifiers and manages what a node holds, over the node's gRPC API.
//
// Each command group lives in its own file and registers its commands in an
// init function (see register), so new commands never need an edit here.
// Exit codes are part of the interface (see exitOK ... exitServer and
// README.md): scripts rely on them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Exit codes.
const (
	// exitOK: the command did what was asked; a REFERRAL answer counts.
	exitOK = 0
	// exitNegative: a negative answer (NOT_FOUND, VALUES_NOT_FOUND,
	// PREFIX_NOT_FOUND, GONE) or a refusal because of the node's state
	// (gRPC NotFound, AlreadyExists, FailedPrecondition).
	exitNegative = 1
	// exitUsage: bad command line or invalid input (INVALID_IDENTIFIER,
	// gRPC InvalidArgument).
	exitUsage = 2
	// exitServer: the node could not be reached, refused the credential,
	// or failed (SERVER_FAILURE, Unauthenticated, Unavailable, Internal...).
	exitServer = 3
)

// defaultServer is where idresd listens by default.
const defaultServer = "127.0.0.1:7420"

// defaultTokenFile is where idresd run from the same directory with its
// default --data writes the administrator token.
const defaultTokenFile = "idres-data/admin.token"

// command is one top-level idres command.
type command struct {
	// Name is the word after idres, e.g. "resolve".
	Name string
	// Usage is the one-line synopsis after the name, e.g. "ID [--type T]...".
	Usage string
	// Summary says in a few words what the command does (for `idres help`).
	Summary string
	// Run executes the command with its arguments (after Name) and returns
	// the exit code. ctx is cancelled on SIGINT/SIGTERM but has no deadline:
	// wrap each call with e.call(ctx) to apply --timeout.
	Run func(ctx context.Context, e *env, args []string) int
}

var commands = map[string]*command{}

// register adds a command; command files call it from init.
func register(c *command) {
	if _, dup := commands[c.Name]; dup {
		panic("idres: command registered twice: " + c.Name)
	}
	commands[c.Name] = c
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run is main without the process: tests call it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	e := newEnv(stdout, stderr, getenv)
	fs := flag.NewFlagSet("idres", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	e.bindGlobals(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			e.usage(e.Stdout)
			return exitOK
		}
		return e.usageError("%v", err)
	}
	e.noteServerFlag(fs)
	rest := fs.Args()
	if len(rest) == 0 {
		e.usage(e.Stderr)
		return exitUsage
	}
	name, rest := rest[0], rest[1:]
	if name == "help" {
		if len(rest) > 0 {
			if c := commands[rest[0]]; c != nil {
				e.cmd = c
				return c.Run(ctx, e, []string{"-h"})
			}
			return e.usageError("unknown command %q (see idres help)", rest[0])
		}
		e.usage(e.Stdout)
		return exitOK
	}
	c := commands[name]
	if c == nil {
		return e.usageError("unknown command %q (see idres help)", name)
	}
	e.cmd = c
	return c.Run(ctx, e, rest)
}

// usage prints the global synopsis and the command list.
func (e *env) usage(w io.Writer) {
	fmt.Fprintln(w, "usage: idres [global flags] COMMAND [args]")
	fmt.Fprintln(w, "\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		c := commands[n]
		fmt.Fprintf(w, "  %s\n      %s\n", strings.TrimSpace(c.Name+" "+c.Usage), c.Summary)
	}
	fmt.Fprintln(w, "\nGlobal flags (also accepted after the command):")
	fs := flag.NewFlagSet("idres", flag.ContinueOnError)
	e.bindGlobals(fs)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprintln(w, "\nExit codes: 0 success, 1 not found / negative answer, 2 usage or invalid input, 3 server or connection error.")
	fmt.Fprintln(w, "Run 'idres help COMMAND' or 'idres COMMAND -h' for a command's flags.")
}

// globals are the flags every command accepts.
type globals struct {
	Server    string
	Token     string
	TokenFile string
	JSON      bool
	Timeout   time.Duration
	// TLS (used by dial): CA bundle of the node's certificate, and the client
	// key pair for mutual TLS. All empty: plaintext.
	CA, Cert, Key string
}

func (e *env) bindGlobals(fs *flag.FlagSet) {
	// Bind with the documented defaults (so -h never echoes a token given
	// earlier on the command line), then restore what was already parsed.
	saved := e.globals
	def := defaultGlobals(e.Getenv)
	fs.StringVar(&e.Server, "server", def.Server, "node gRPC address host:port (env IDRES_SERVER)")
	fs.StringVar(&e.Token, "token", "", "registry credential (else --token-file, $IDRES_TOKEN, ./"+defaultTokenFile+")")
	fs.StringVar(&e.TokenFile, "token-file", "", "file holding the registry credential")
	fs.BoolVar(&e.JSON, "json", false, "print answers as JSON (see README.md for the shape)")
	fs.DurationVar(&e.Timeout, "timeout", def.Timeout, "deadline for each call to the node")
	fs.StringVar(&e.CA, "ca", "", "PEM CA bundle that signed the node's certificate: use TLS (env IDRES_CA)")
	fs.StringVar(&e.Cert, "cert", "", "PEM client certificate for mutual TLS (with --key)")
	fs.StringVar(&e.Key, "key", "", "PEM client private key for mutual TLS (with --cert)")
	e.globals = saved
}

func defaultGlobals(getenv func(string) string) globals {
	g := globals{Server: getenv("IDRES_SERVER"), Timeout: 10 * time.Second}
	if g.Server == "" {
		g.Server = defaultServer
	}
	return g
}
