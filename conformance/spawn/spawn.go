// Package spawn starts a throwaway idres hierarchy of idresd processes on
// loopback for the conformance suite: a root holding "", a national node
// holding 88, a secondary holding 88.100, an enterprise node holding
// 88.100.1, and a recursive node whose root is the root node. Each
// delegation is registered through the Registry API. It owns only those
// processes: it starts them from a given binary, learns their addresses
// from --ready-file, and stops them by PID.
package spawn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/client"
)

// Zone is the DNS zone every spawned bridge serves.
const Zone = "id.example."

// Options configure Start.
type Options struct {
	// Binary is the idresd executable.
	Binary string
	// Dir holds the nodes' data directories and logs; it must exist.
	Dir string
	// StartTimeout bounds the wait for each node to be ready; 0 is 20 s.
	StartTimeout time.Duration
}

// Proc is one running idresd.
type Proc struct {
	Name    string
	Holds   string // the prefix it holds; "" for root, none for recursive
	DataDir string
	LogFile string
	GRPC    string
	DNS     string
	HTTP    string // base URL
	Handle  string // Handle-protocol address (TCP and UDP), when idresd has --handle
	Token   string // its administrator token
	dnsAddr string // where its bridge listens; "" means 127.0.0.1:0
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
}

// Hierarchy is the set of spawned nodes.
type Hierarchy struct {
	Root, National, Secondary, Enterprise, Recursive *Proc
	// Flags are the idresd flags found, e.g. "dns", "http", "handle", "recursive".
	Flags map[string]bool
	procs []*Proc
}

// Start launches the hierarchy and registers its delegations. On error,
// whatever was started is stopped again. A start that lost a port race
// (a port picked free was taken before a node bound it) is retried with
// fresh ports and data directories, up to three times.
func Start(ctx context.Context, opts Options) (*Hierarchy, error) {
	var h *Hierarchy
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		o := opts
		o.Dir = filepath.Join(opts.Dir, fmt.Sprintf("try%d", attempt))
		if err := os.MkdirAll(o.Dir, 0o700); err != nil {
			return nil, err
		}
		h, err = startOnce(ctx, o)
		if err == nil || !strings.Contains(err.Error(), "address already in use") {
			return h, err
		}
	}
	return h, err
}

func startOnce(ctx context.Context, opts Options) (h *Hierarchy, err error) {
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 20 * time.Second
	}
	flags, err := Flags(ctx, opts.Binary)
	if err != nil {
		return nil, err
	}
	if !flags["ready-file"] {
		return nil, fmt.Errorf("%s has no --ready-file flag: cannot learn the bound ports", opts.Binary)
	}
	h = &Hierarchy{Flags: flags}
	defer func() {
		if err != nil {
			h.Stop()
		}
	}()
	auth := []struct {
		p    **Proc
		name string
		hold string
	}{
		{&h.Root, "root", ""},
		{&h.National, "national", "88"},
		{&h.Secondary, "secondary", "88.100"},
		{&h.Enterprise, "enterprise", "88.100.1"},
	}
	// Each bridge on its own loopback address, all on one port, so that a
	// DNS walk can follow glue (which has no port) down the hierarchy.
	dnsAddrs := make([]string, len(auth)+1)
	if flags["dns"] {
		if addrs, err := commonPortAddrs(len(dnsAddrs)); err == nil {
			dnsAddrs = addrs
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(auth))
	for i, a := range auth {
		p := &Proc{Name: a.name, Holds: a.hold, dnsAddr: dnsAddrs[i]}
		*a.p = p
		h.procs = append(h.procs, p)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = start(ctx, opts, flags, p, nil)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return h, err
	}
	// Hold each zone and delegate the next one down, parents first.
	for i, a := range auth {
		p := *a.p
		var child *Proc
		if i+1 < len(auth) {
			child = *auth[i+1].p
		}
		if err := register(ctx, p, child); err != nil {
			return h, fmt.Errorf("register %s: %w", p.Name, err)
		}
	}
	if flags["recursive"] && flags["root"] {
		h.Recursive = &Proc{Name: "recursive", dnsAddr: dnsAddrs[len(auth)]}
		h.procs = append(h.procs, h.Recursive)
		if err := start(ctx, opts, flags, h.Recursive, []string{"--recursive", "--root", h.Root.GRPC}); err != nil {
			return h, err
		}
	}
	return h, nil
}

var flagName = regexp.MustCompile(`(?m)^\s+-{1,2}([a-z0-9][a-z0-9-]*)`)

// Flags lists the flags the binary's -h output shows.
func Flags(ctx context.Context, binary string) (map[string]bool, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, binary, "-h")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil && out.Len() == 0 {
		return nil, fmt.Errorf("run %s -h: %w", binary, err)
	}
	flags := map[string]bool{}
	for _, m := range flagName.FindAllStringSubmatch(out.String(), -1) {
		flags[m[1]] = true
	}
	if !flags["grpc"] {
		return nil, fmt.Errorf("%s -h shows no --grpc flag; is it idresd?", binary)
	}
	return flags, nil
}

// start runs one idresd on loopback port 0 and waits for its ready file.
func start(ctx context.Context, opts Options, flags map[string]bool, p *Proc, extra []string) error {
	p.DataDir = filepath.Join(opts.Dir, p.Name)
	if err := os.MkdirAll(p.DataDir, 0o700); err != nil {
		return err
	}
	ready := filepath.Join(opts.Dir, p.Name+".ready.json")
	p.LogFile = filepath.Join(opts.Dir, p.Name+".log")
	args := []string{"--data", p.DataDir, "--grpc", "127.0.0.1:0", "--ready-file", ready}
	if flags["log-level"] {
		args = append(args, "--log-level", "warn")
	}
	if flags["dns"] {
		addr := p.dnsAddr
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		args = append(args, "--dns", addr)
		if flags["dns-zone"] {
			args = append(args, "--dns-zone", Zone)
		}
	}
	if flags["http"] {
		args = append(args, "--http", "127.0.0.1:0")
	}
	if flags["handle"] {
		args = append(args, "--handle", "127.0.0.1:0")
	}
	args = append(args, extra...)
	logf, err := os.Create(p.LogFile)
	if err != nil {
		return err
	}
	// Not CommandContext: the processes outlive Start and are stopped by
	// Stop, by PID.
	p.cmd = exec.Command(opts.Binary, args...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	bindToParent(p.cmd)
	// The tester's IDRESD_* settings must not reshape the throwaway nodes.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "IDRESD_") {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	p.done = make(chan struct{})
	go func() {
		p.waitErr = p.cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	deadline := time.NewTimer(opts.StartTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.done:
			return fmt.Errorf("%s exited before it was ready (%v): %s", p.Name, p.waitErr, tail(p.LogFile))
		case <-deadline.C:
			return fmt.Errorf("%s not ready within %s: %s", p.Name, opts.StartTimeout, tail(p.LogFile))
		case <-tick.C:
		}
		raw, err := os.ReadFile(ready)
		if err != nil {
			continue
		}
		var eps map[string]string
		if err := json.Unmarshal(raw, &eps); err != nil {
			return fmt.Errorf("%s: ready file %s: %w", p.Name, ready, err)
		}
		p.GRPC, p.DNS, p.HTTP, p.Handle = eps["grpc"], eps["dns"], eps["http"], eps["handle"]
		if p.HTTP != "" && !strings.Contains(p.HTTP, "://") {
			p.HTTP = "http://" + p.HTTP
		}
		tok, err := os.ReadFile(filepath.Join(p.DataDir, "admin.token"))
		if err != nil {
			return fmt.Errorf("%s: read admin token: %w", p.Name, err)
		}
		p.Token = strings.TrimSpace(string(tok))
		return nil
	}
}

// register makes p hold its prefix and delegate child's prefix to child.
func register(ctx context.Context, p, child *Proc) error {
	c, err := client.Dial(p.GRPC, client.Options{Token: p.Token})
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := c.CreatePrefix(ctx, &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: p.Holds}}); err != nil {
		return fmt.Errorf("create prefix %q: %w", p.Holds, err)
	}
	if child == nil {
		return nil
	}
	d := &idresv1.Delegation{Prefix: child.Holds, Grpc: []string{child.GRPC}}
	if child.DNS != "" {
		d.Dns = []string{child.DNS}
	}
	if child.HTTP != "" {
		d.Http = []string{child.HTTP}
	}
	if child.Handle != "" {
		d.Handle = []string{child.Handle}
	}
	if _, err := c.SetDelegation(ctx, &idresv1.SetDelegationRequest{Delegation: d}); err != nil {
		return fmt.Errorf("delegate %s: %w", child.Holds, err)
	}
	return nil
}

// Stop ends every process by its PID: SIGTERM, then SIGKILL after 5 s.
// It is nil-safe.
func (h *Hierarchy) Stop() {
	if h == nil {
		return
	}
	for _, p := range h.procs {
		if p.cmd != nil && p.cmd.Process != nil && p.done != nil {
			p.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, p := range h.procs {
		if p.done == nil {
			continue
		}
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
	}
}

// PID is the process id, or 0 before it started.
func (p *Proc) PID() int {
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Procs lists the started processes; nil-safe.
func (h *Hierarchy) Procs() []*Proc {
	if h == nil {
		return nil
	}
	return h.procs
}

// firstDNSHost is the first of the loopback addresses the bridges get
// (127.0.0.101, .102, ...), clear of the 127.0.0.1x range that the DNS
// chain tests use on port 53.
const firstDNSHost = 101

// commonPortAddrs finds a port free on n loopback addresses for both UDP
// and TCP, and returns the n host:port addresses. The port is released
// again before the nodes bind it; another process could take it in
// between, in which case that node fails to start and says so.
func commonPortAddrs(n int) ([]string, error) {
	for try := 0; try < 20; try++ {
		probe, err := net.Listen("tcp", fmt.Sprintf("127.0.0.%d:0", firstDNSHost))
		if err != nil {
			return nil, err
		}
		port := probe.Addr().(*net.TCPAddr).Port
		probe.Close()
		var closers []io.Closer
		var addrs []string
		ok := true
		for i := 0; i < n && ok; i++ {
			addr := fmt.Sprintf("127.0.0.%d:%d", firstDNSHost+i, port)
			t, err := net.Listen("tcp", addr)
			if err != nil {
				ok = false
				break
			}
			closers = append(closers, t)
			u, err := net.ListenPacket("udp", addr)
			if err != nil {
				ok = false
				break
			}
			closers = append(closers, u)
			addrs = append(addrs, addr)
		}
		for _, c := range closers {
			c.Close()
		}
		if ok {
			return addrs, nil
		}
	}
	return nil, errors.New("no port free on every bridge address")
}

// tail returns the end of a log file for error messages.
func tail(path string) string {
	raw, _ := os.ReadFile(path)
	if len(raw) > 2000 {
		raw = raw[len(raw)-2000:]
	}
	return strings.TrimSpace(string(raw))
}
