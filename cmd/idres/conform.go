package main

import (
	"context"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"

	"github.com/idres/idres/conformance"
	"github.com/idres/idres/conformance/runner"
	"github.com/idres/idres/conformance/spawn"
	"github.com/idres/idres/resolver/client"
)

func init() {
	register(&command{
		Name:    "conform",
		Usage:   "[--server ADDR] [--dns ADDR] [--http URL] [--handle ADDR] [--token T] [--prefix P] [--run REGEX] [--junit FILE] [--json] [--by-requirement] [--list] [--coverage] [--spawn]",
		Summary: "run the conformance suite against a node (or a spawned hierarchy)",
		Run:     runConform,
	})
}

func runConform(ctx context.Context, e *env, args []string) int {
	fs := e.flags()
	var t runner.Target
	var server, child, rec, root runner.Node
	fs.StringVar(&server.DNS, "dns", "", "the server's DNS bridge `host:port` (DNS cases skip without it)")
	fs.StringVar(&t.DNSZone, "dns-zone", "id.example.", "the `zone` the server's DNS bridge serves")
	fs.StringVar(&server.HTTP, "http", "", "the server's HTTP gateway base `URL` (HTTP cases skip without it)")
	fs.StringVar(&server.Handle, "handle", "", "the server's Handle-protocol `host:port` (Handle cases skip without it)")
	fs.StringVar(&child.GRPC, "child", "", "a second authoritative node `host:port` the token also manages (delegation-chain cases)")
	fs.StringVar(&child.DNS, "child-dns", "", "the child node's DNS bridge `host:port`")
	fs.StringVar(&child.HTTP, "child-http", "", "the child node's HTTP gateway base `URL`")
	fs.StringVar(&child.Handle, "child-handle", "", "the child node's Handle-protocol `host:port`")
	fs.StringVar(&rec.GRPC, "recursive", "", "a recursive node `host:port` whose roots lead to the server (recursion cases)")
	fs.StringVar(&rec.DNS, "recursive-dns", "", "the recursive node's DNS bridge `host:port`")
	fs.StringVar(&rec.HTTP, "recursive-http", "", "the recursive node's HTTP gateway base `URL`")
	fs.StringVar(&rec.Handle, "recursive-handle", "", "the recursive node's Handle-protocol `host:port`")
	fs.StringVar(&root.GRPC, "root", "", "the root node `host:port` of the server's hierarchy (root referral cases)")
	fs.StringVar(&root.DNS, "root-dns", "", "the root node's DNS bridge `host:port`")
	fs.StringVar(&root.HTTP, "root-http", "", "the root node's HTTP gateway base `URL`")
	fs.StringVar(&root.Handle, "root-handle", "", "the root node's Handle-protocol `host:port`")
	fs.StringVar(&t.Prefix, "prefix", "", "run `prefix` for the cases' setup (default: a random child of the deepest prefix the token manages)")
	runRE := fs.String("run", "", "only cases whose area/name or requirement id matches this `regex`")
	junit := fs.String("junit", "", "also write JUnit XML to this `file`")
	list := fs.Bool("list", false, "list the cases with their requirement ids and exit")
	coverage := fs.Bool("coverage", false, "list every requirement of SPEC.md with its case count and exit (1 if a MUST has none)")
	doSpawn := fs.Bool("spawn", false, "start a throwaway hierarchy of idresd processes on loopback and run every case against it")
	idresd := fs.String("idresd", "", "idresd `binary` for --spawn (default: next to this idres, then $PATH)")
	casesDir := fs.String("cases", "", "read case files from this `directory` instead of the built-in suite")
	keep := fs.Bool("keep", false, "with --spawn, keep the nodes' data directories and logs")
	byReq := fs.Bool("by-requirement", false, "after the cases, print a verdict per requirement of SPEC.md (pass, fail, skip, untested)")
	if _, code, ok := e.parseArgs(fs, args, e.cmd.Usage); !ok {
		return code
	}

	var fsys iofs.FS = conformance.Files
	dir := conformance.CasesDir
	if *casesDir != "" {
		fsys, dir = os.DirFS(*casesDir), "."
	}
	cases, err := runner.LoadFS(fsys, dir)
	if err != nil {
		fmt.Fprintf(e.Stderr, "idres conform: %v\n", err)
		return exitUsage
	}
	if *runRE != "" {
		re, err := regexp.Compile(*runRE)
		if err != nil {
			return e.usageError("--run: %v", err)
		}
		cases = runner.Select(cases, re)
	}
	switch {
	case *coverage:
		return conformCoverage(e, cases)
	case *list:
		runner.WriteList(e.Stdout, cases)
		return exitOK
	}

	if *doSpawn {
		h, code := e.spawnHierarchy(ctx, *idresd, *keep)
		if h == nil {
			return code
		}
		defer h.Stop()
		server = runner.Node{GRPC: h.Enterprise.GRPC, DNS: h.Enterprise.DNS, HTTP: h.Enterprise.HTTP, Handle: h.Enterprise.Handle, Token: h.Enterprise.Token}
		child = runner.Node{GRPC: h.National.GRPC, DNS: h.National.DNS, HTTP: h.National.HTTP, Handle: h.National.Handle, Token: h.National.Token}
		root = runner.Node{GRPC: h.Root.GRPC, DNS: h.Root.DNS, HTTP: h.Root.HTTP, Handle: h.Root.Handle, Token: h.Root.Token}
		if h.Recursive != nil {
			rec = runner.Node{GRPC: h.Recursive.GRPC, DNS: h.Recursive.DNS, HTTP: h.Recursive.HTTP, Handle: h.Recursive.Handle, Token: h.Recursive.Token}
		}
		t.DNSZone = spawn.Zone
		t.Missing = map[string]string{"recursive:GRPC": "this idresd has no --recursive"}
		for _, role := range []string{runner.RoleServer, runner.RoleChild, runner.RoleRecursive, runner.RoleRoot} {
			t.Missing[role+":DNS"] = "this idresd has no --dns"
			t.Missing[role+":HTTP"] = "this idresd has no --http"
		}
	} else {
		tok, err := e.token()
		if err != nil {
			return e.usageError("%v", err)
		}
		server.GRPC, server.Token = e.Server, tok
		child.Token, rec.Token, root.Token = tok, tok, tok
		ca := e.CA
		if ca == "" {
			ca = e.Getenv("IDRES_CA")
		}
		if t.TLS, err = client.LoadTLS(ca, e.Cert, e.Key); err != nil {
			return e.usageError("%v", err)
		}
	}
	t.Nodes = map[string]runner.Node{runner.RoleServer: server}
	if child.GRPC != "" {
		t.Nodes[runner.RoleChild] = child
	}
	if rec.GRPC != "" {
		t.Nodes[runner.RoleRecursive] = rec
	}
	if root.GRPC != "" {
		t.Nodes[runner.RoleRoot] = root
	}
	t.Timeout = e.Timeout

	var results []runner.Result
	sum, err := runner.Run(ctx, t, cases, func(r runner.Result) {
		results = append(results, r)
		if !e.JSON {
			fmt.Fprintln(e.Stdout, runner.Line(r))
		}
	})
	if err != nil {
		fmt.Fprintf(e.Stderr, "idres conform: %v\n", err)
		return exitServer
	}
	if *junit != "" {
		if err := writeJUnitFile(*junit, results); err != nil {
			fmt.Fprintf(e.Stderr, "idres conform: %v\n", err)
			return exitServer
		}
	}
	if e.JSON {
		reqs, err := specRequirements()
		if err != nil {
			fmt.Fprintf(e.Stderr, "idres conform: %v\n", err)
			return exitServer
		}
		if err := runner.WriteJSON(e.Stdout, results, reqs); err != nil {
			fmt.Fprintf(e.Stderr, "idres conform: %v\n", err)
			return exitServer
		}
	} else {
		if *byReq {
			reqs, err := specRequirements()
			if err != nil {
				fmt.Fprintf(e.Stderr, "idres conform: %v\n", err)
				return exitServer
			}
			fmt.Fprintln(e.Stdout)
			runner.WriteVerdicts(e.Stdout, runner.Verdicts(reqs, results))
		}
		fmt.Fprintln(e.Stdout, sum)
	}
	if sum.Failed > 0 {
		return exitNegative
	}
	return exitOK
}

func writeJUnitFile(path string, results []runner.Result) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--junit: %w", err)
	}
	if err := runner.WriteJUnit(f, results); err != nil {
		f.Close()
		return fmt.Errorf("--junit: %w", err)
	}
	return f.Close()
}

// specRequirements parses the built-in SPEC.md.
func specRequirements() ([]runner.Requirement, error) {
	spec, err := conformance.Files.ReadFile(conformance.SpecFile)
	if err != nil {
		return nil, err
	}
	return runner.ParseSpec(spec)
}

func conformCoverage(e *env, cases []*runner.Case) int {
	reqs, err := specRequirements()
	if err != nil {
		fmt.Fprintf(e.Stderr, "idres conform: %v\n", err)
		return exitServer
	}
	rows, unknown := runner.Coverage(reqs, cases)
	runner.WriteCoverage(e.Stdout, rows)
	for _, u := range unknown {
		fmt.Fprintf(e.Stderr, "idres conform: %s\n", u)
	}
	musts := 0
	for _, r := range rows {
		if r.Level == "MUST" {
			musts++
		}
	}
	missing := runner.UncoveredMUSTs(rows)
	fmt.Fprintf(e.Stdout, "%d requirements, %d MUST, %d MUST without a case\n", len(rows), musts, len(missing))
	if len(missing) > 0 || len(unknown) > 0 {
		return exitNegative
	}
	return exitOK
}

// spawnHierarchy starts the throwaway hierarchy; on failure it reports and
// returns a nil hierarchy with the exit code.
func (e *env) spawnHierarchy(ctx context.Context, binary string, keep bool) (*spawnedHierarchy, int) {
	bin, err := findIdresd(binary)
	if err != nil {
		fmt.Fprintf(e.Stderr, "idres conform: --spawn: %v\n", err)
		return nil, exitUsage
	}
	dir, err := os.MkdirTemp("", "idres-conform-")
	if err != nil {
		fmt.Fprintf(e.Stderr, "idres conform: %v\n", err)
		return nil, exitServer
	}
	h, err := spawn.Start(ctx, spawn.Options{Binary: bin, Dir: dir})
	sh := &spawnedHierarchy{Hierarchy: h, dir: dir, keep: keep, e: e}
	if err != nil {
		fmt.Fprintf(e.Stderr, "idres conform: --spawn: %v (logs in %s)\n", err, dir)
		sh.keep = true
		sh.Stop()
		return nil, exitServer
	}
	for _, p := range h.Procs() {
		role := fmt.Sprintf("holds %q", p.Holds)
		if p == h.Recursive {
			role = "recursive, root " + h.Root.GRPC
		}
		fmt.Fprintf(e.Stderr, "spawned %-10s pid %-7d grpc %s dns %s http %s %s\n", p.Name, p.PID(), p.GRPC, orNone(p.DNS), orNone(p.HTTP), role)
	}
	return sh, 0
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

type spawnedHierarchy struct {
	*spawn.Hierarchy
	dir  string
	keep bool
	e    *env
}

func (s *spawnedHierarchy) Stop() {
	if s.Hierarchy != nil {
		s.Hierarchy.Stop()
	}
	if s.keep {
		fmt.Fprintf(s.e.Stderr, "idres conform: spawned nodes' data and logs kept in %s\n", s.dir)
		return
	}
	os.RemoveAll(s.dir)
}

// findIdresd picks the idresd binary: the flag, then the one next to this
// executable, then $PATH.
func findIdresd(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), "idresd")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	p, err := exec.LookPath("idresd")
	if err != nil {
		return "", errors.New("no idresd next to idres or in $PATH; give --idresd PATH")
	}
	return p, nil
}
