package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/bulkfile"
	"github.com/idres/idres/resolver/handleclient"
	"github.com/idres/idres/resolver/handlewire"
)

func init() {
	register(&command{
		Name:    "handle",
		Usage:   "fetch|root-info|siteinfo --server HOST:PORT ...",
		Summary: "talk to any Handle-protocol server (RFC 3652; idresd --handle or CNRI HANDLE.NET): fetch identifiers for idres import, write hdllib's root_info or a site file (siteinfo.bin)",
		Run:     runHandle,
	})
}

var handleSubcommands = []subcommand{
	{"fetch", "--server HOST:PORT [--udp] [-o FILE] ID... | -", handleFetch},
	{"root-info", "--server HOST:PORT [--udp] [-o FILE]", handleRootInfo},
}

func runHandle(ctx context.Context, e *env, args []string) int {
	return runSubcommand(ctx, e, args, handleSubcommands)
}

// handleServer is the Handle server of a handle subcommand: --server,
// which must be given, since its default is a node's gRPC address.
func (e *env) handleServer() (string, bool) {
	if !e.serverSet {
		return "", false
	}
	return e.Server, true
}

// handleClient is a client of addr bounded by --timeout per call.
func (e *env) handleClient(addr string, udp bool) *handleclient.Client {
	return &handleclient.Client{Addr: addr, UDP: udp, Timeout: e.Timeout, KeepAlive: true}
}

// handleFail reports a failure to get an answer from a Handle server.
func (e *env) handleFail(addr string, err error) int {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		fmt.Fprintf(e.Stderr, "idres: no answer from Handle server %s within %s\n", addr, e.Timeout)
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(e.Stderr, "idres: interrupted")
	default:
		fmt.Fprintf(e.Stderr, "idres: %v\n", err)
	}
	return exitServer
}

// runResolveHandle is `idres resolve --handle ADDR`: the answer printed
// as idres resolve prints one, with the same exit codes.
func runResolveHandle(ctx context.Context, e *env, addr string, udp bool, verify handleVerify, id string, types []string, indexes []uint32) int {
	c := e.handleClient(addr, udp)
	defer c.Close()
	var key []byte
	var keyFrom string
	if *verify.on {
		// Every request asks for a signed answer (the certify flag).
		c.Certify = true
		var err error
		if key, keyFrom, err = verify.key(ctx, e, c); err != nil {
			return e.handleFail(addr, err)
		}
	}
	cctx, cancel := e.call(ctx)
	defer cancel()
	a, err := c.Resolve(cctx, id, types, indexes)
	if err != nil {
		return e.handleFail(addr, err)
	}
	note := ""
	if *verify.on {
		var code int
		var ok bool
		if note, code, ok = verify.verified(e, addr, a, key, keyFrom); !ok {
			return code
		}
	}
	resp := a.Response()
	if e.JSON {
		if note != "" {
			fmt.Fprintln(e.Stderr, note)
		}
		e.printJSON(resp)
	} else {
		if note != "" {
			fmt.Fprintln(e.Stdout, note)
		}
		printHandleAnswer(e.Stdout, a, resp, udp)
	}
	return outcomeExit(resp.GetOutcome())
}

// printHandleAnswer is printResolve for a Handle answer: the header says
// the response code, the protocol version and the transport.
func printHandleAnswer(w io.Writer, a *handleclient.Answer, r *idresv1.ResolveResponse, udp bool) {
	transport := "tcp"
	switch {
	case a.ViaTCP:
		transport = "udp, truncated, then tcp"
	case udp:
		transport = "udp"
	}
	parts := []string{outcomeName(r.GetOutcome()), "Handle " + handlewire.RCName(a.RC), fmt.Sprintf("protocol %s over %s", a.Version, transport)}
	if len(r.GetValues()) > 0 {
		parts = append(parts, fmt.Sprintf("ttl %d", r.GetTtl()), plural(len(r.GetValues()), "value"))
	}
	fmt.Fprintf(w, ";; %s: %s\n", r.GetIdentifier(), strings.Join(parts, ", "))
	if a.Message != "" {
		fmt.Fprintf(w, ";; %s\n", a.Message)
	}
	if d := r.GetReferral(); d != nil {
		printDelegation(w, d)
	}
	printValues(w, r.GetValues())
}

// handleFetch writes identifiers' values, as a Handle server gives them,
// in the JSON lines `idres import` reads: the path from a HANDLE.NET
// server to idres.
func handleFetch(ctx context.Context, e *env, args []string, synopsis string) int {
	fs := e.flags()
	udp := fs.Bool("udp", false, "ask over UDP (a truncated answer is asked again over TCP)")
	out := fs.String("o", "-", "write the JSON lines to this `file`")
	pos, code, ok := e.parseArgs(fs, args, synopsis)
	if !ok {
		return code
	}
	addr, ok := e.handleServer()
	if !ok {
		return e.usageError("fetch: --server HOST:PORT of the Handle server is required")
	}
	if len(pos) == 0 {
		return e.usageError("fetch: want identifiers, or '-' to read them from stdin, one a line")
	}
	next := func() (string, bool) {
		if len(pos) == 0 {
			return "", false
		}
		id := pos[0]
		pos = pos[1:]
		return id, true
	}
	if len(pos) == 1 && pos[0] == "-" {
		s := bufio.NewScanner(os.Stdin)
		next = func() (string, bool) {
			for s.Scan() {
				if id := strings.TrimSpace(s.Text()); id != "" && !strings.HasPrefix(id, "#") {
					return id, true
				}
			}
			return "", false
		}
	}
	w, closeOut, err := e.output(*out)
	if err != nil {
		return e.usageError("%v", err)
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	c := e.handleClient(addr, *udp)
	defer c.Close()
	var fetched, values, skipped, failed int
	worst := exitOK
	note := func(format string, args ...any) {
		fmt.Fprintf(e.Stderr, "idres handle fetch: "+format+"\n", args...)
	}
	var buf []byte
	for id, ok := next(); ok; id, ok = next() {
		cctx, cancel := e.call(ctx)
		a, err := c.Resolve(cctx, id, nil, nil)
		cancel()
		if err != nil {
			// The server cannot answer: the rest would fail alike.
			bw.Flush()
			closeOut()
			note("%s: stopping", id)
			return e.handleFail(addr, err)
		}
		if a.RC != handlewire.RCSuccess {
			failed++
			msg := handlewire.RCName(a.RC)
			if a.Message != "" {
				msg += ": " + a.Message
			}
			note("%s: %s", id, msg)
			worst = max(worst, outcomeExit(handleclient.Outcome(a.RC)), exitNegative)
			continue
		}
		item, notes := importable(a)
		for _, n := range notes {
			note("%s: %s", a.Handle, n)
		}
		skipped += len(a.Values) - len(item.Values)
		if len(item.Values) == 0 {
			failed++
			note("%s: no value idres can hold; not written", a.Handle)
			worst = max(worst, exitNegative)
			continue
		}
		if buf, err = bulkfile.AppendJSONL(buf[:0], item); err != nil {
			return e.fail(err)
		}
		bw.Write(buf)
		fetched++
		values += len(item.Values)
	}
	if err := bw.Flush(); err != nil {
		return e.fail(fmt.Errorf("write %s: %w", *out, err))
	}
	if err := closeOut(); err != nil {
		return e.fail(fmt.Errorf("write %s: %w", *out, err))
	}
	fmt.Fprintf(e.Stderr, "idres handle fetch: %s written (%s), %s skipped, %d not fetched\n",
		plural(fetched, "identifier"), plural(values, "value"), plural(skipped, "value"), failed)
	return worst
}

// importable is what idres can hold of a Handle answer, and a note for
// each value it leaves out. idres reserves the HS_ and IDRES_ types
// (VAL-003: a Handle server's HS_ADMIN, HS_SITE, HS_VLIST... are its own
// administration), has no index 0, keeps types as UTF-8 text and has no
// references. Data that is not text is written as the import format
// writes it (base64:).
func importable(a *handleclient.Answer) (*idresv1.Identifier, []string) {
	item := &idresv1.Identifier{Identifier: a.Handle}
	var notes []string
	now := time.Now()
	for i := range a.Values {
		v := &a.Values[i]
		t := string(v.Type)
		up := strings.ToUpper(t)
		switch {
		case strings.HasPrefix(up, "HS_") || strings.HasPrefix(up, "IDRES_"):
			notes = append(notes, fmt.Sprintf("index %d: type %s is reserved in idres (VAL-003); skipped", v.Index, t))
			continue
		case v.Index == 0:
			notes = append(notes, fmt.Sprintf("index 0 (type %s): idres indexes start at 1; skipped", bulkfile.EncodeData(v.Type)))
			continue
		case !utf8.Valid(v.Type) || t == "":
			notes = append(notes, fmt.Sprintf("index %d: type %q is not UTF-8 text; skipped", v.Index, v.Type))
			continue
		}
		if n := len(v.References); n > 0 {
			notes = append(notes, fmt.Sprintf("index %d: %s dropped (idres values have none)", v.Index, plural(n, "reference")))
		}
		pv := handleclient.Value(v, now)
		pv.Timestamp = nil // the importing node stamps its writes
		if pv.GetPublicRead() {
			pv.PublicRead = nil // the import default
		}
		item.Values = append(item.Values, pv)
	}
	return item, notes
}

// binaryFileArgs parses the arguments of a command that asks one Handle
// server (--server, no positional argument) and writes a binary file,
// refusing a terminal as its output.
func (e *env) binaryFileArgs(fs *flag.FlagSet, args []string, synopsis, name string, toStdout bool) (addr string, code int, ok bool) {
	pos, code, ok := e.parseArgs(fs, args, synopsis)
	if !ok {
		return "", code, false
	}
	if addr, ok = e.handleServer(); !ok {
		return "", e.usageError("%s: --server HOST:PORT of the Handle server is required", name), false
	}
	if len(pos) > 0 {
		return "", e.usageError("%s: unexpected argument %q", name, pos[0]), false
	}
	if toStdout && isTerminal(e.Stdout) {
		return "", e.usageError("%s: the file is binary: give -o FILE or redirect stdout", name), false
	}
	return addr, 0, true
}

// handleRootInfo writes the root_info file hdllib reads from
// ~/.handle/root_info: the values of the root prefix handle 0.NA/0.NA,
// here one HS_SITE, the site the server says it is.
func handleRootInfo(ctx context.Context, e *env, args []string, synopsis string) int {
	fs := e.flags()
	udp := fs.Bool("udp", false, "ask over UDP")
	out := fs.String("o", "-", "write the root_info file here (binary; stdout only when not a terminal)")
	addr, code, ok := e.binaryFileArgs(fs, args, synopsis, "root-info", *out == "-")
	if !ok {
		return code
	}
	c := e.handleClient(addr, *udp)
	defer c.Close()
	cctx, cancel := e.call(ctx)
	defer cancel()
	site, err := c.SiteInfo(cctx)
	if err != nil {
		return e.handleFail(addr, err)
	}
	if len(handleclient.SiteAddrs(&site, handlewire.TransportTCP))+len(handleclient.SiteAddrs(&site, handlewire.TransportUDP)) == 0 {
		return e.fail(fmt.Errorf("site of %s has no resolution interface: a root_info of it would lead nowhere", addr))
	}
	raw := handlewire.AppendGlobalValues(nil, []handlewire.Value{rootSiteValue(&site, time.Now())})
	w, closeOut, err := e.output(*out)
	if err != nil {
		return e.usageError("%v", err)
	}
	if _, err := w.Write(raw); err != nil {
		closeOut()
		return e.fail(fmt.Errorf("write %s: %w", *out, err))
	}
	if err := closeOut(); err != nil {
		return e.fail(fmt.Errorf("write %s: %w", *out, err))
	}
	fmt.Fprintf(e.Stderr, "idres handle root-info: site serial %d, protocol %s, %s\n", site.SerialNumber, site.Version, describeSite(&site))
	return exitOK
}

// rootSiteValue is the HS_SITE value of a root_info file: index 1,
// public read, a day's TTL, as HANDLE.NET's own root_info has it.
func rootSiteValue(site *handlewire.SiteInfo, now time.Time) handlewire.Value {
	return handlewire.Value{Index: 1, Timestamp: uint32(now.Unix()), TTL: 86400,
		Permissions: handlewire.PermAdminRead | handlewire.PermAdminWrite | handlewire.PermPublicRead,
		Type:        []byte("HS_SITE"), Data: handlewire.AppendSiteInfo(nil, site)}
}

func describeSite(s *handlewire.SiteInfo) string {
	var parts []string
	for _, srv := range s.Servers {
		var ins []string
		for _, in := range srv.Interfaces {
			name := map[uint8]string{handlewire.TransportUDP: "udp", handlewire.TransportTCP: "tcp", handlewire.TransportHTTP: "http", handlewire.TransportHTTPS: "https"}[in.Transport]
			if name == "" {
				name = fmt.Sprintf("transport %d", in.Transport)
			}
			ins = append(ins, fmt.Sprintf("%s %d", name, in.Port))
		}
		parts = append(parts, fmt.Sprintf("server %d %s (%s)", srv.ID, srv.Address, strings.Join(ins, ", ")))
	}
	return strings.Join(parts, "; ")
}

// output opens name for writing ("-": stdout); close flushes and closes
// it.
func (e *env) output(name string) (io.Writer, func() error, error) {
	if name == "-" {
		return e.Stdout, func() error { return nil }, nil
	}
	f, err := os.Create(name)
	if err != nil {
		return nil, nil, err
	}
	return f, f.Close, nil
}
