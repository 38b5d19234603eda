// Package etcdtest starts a real etcd cluster for tests: N member
// processes of the etcd installed on the machine (Debian's etcd-server),
// on 127.0.0.1 with free ports, each in its own temporary directory.
// Tests stop, kill and restart members by PID, the way members fail in
// production, and check what the replicas built on the cluster do.
//
// Real processes rather than go.etcd.io/etcd/server/v3/embed: a member
// killed with SIGKILL dies mid-write as in production, which an embedded
// server sharing the test's process cannot; no etcd server code is linked
// into our test binaries, so they keep building fast and our module
// depends only on etcd's client; and embed (v3.7) would pull in a large
// dependency tree (the server, raft, bbolt forks, grpc-gateway, otel) for
// tests alone.
package etcdtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// startTimeout bounds how long a cluster or a restarted member may take to
// serve; a loaded 2-core CI machine needs seconds, not minutes.
const startTimeout = 60 * time.Second

// Option changes how the cluster's members run.
type Option func(*options)

type options struct {
	maxTxnOps       int
	maxRequestBytes int
	user, password  string
	flags           []string
	tls             bool
}

// MaxTxnOps sets the members' --max-txn-ops (etcd's default is 128).
func MaxTxnOps(n int) Option { return func(o *options) { o.maxTxnOps = n } }

// MaxRequestBytes sets the members' --max-request-bytes (default 1.5 MiB).
func MaxRequestBytes(n int) Option { return func(o *options) { o.maxRequestBytes = n } }

// Auth turns on etcd authentication once the cluster is up: user (with
// password) may read and write every key. The root user gets the same
// password. Cluster.Client logs in as user.
func Auth(user, password string) Option {
	return func(o *options) { o.user, o.password = user, password }
}

// Flags passes extra command-line flags to every member, e.g.
// "--experimental-watch-progress-notify-interval=1s".
func Flags(flags ...string) Option {
	return func(o *options) { o.flags = append(o.flags, flags...) }
}

// Cluster is a running etcd cluster. Its methods are safe to call from
// the test's goroutine; Stop, Kill and Restart take a member's index.
type Cluster struct {
	t       testing.TB
	shared  *mainTB // set by StartShared
	certs   *certs  // set with the TLS option
	bin     string
	opts    options
	members []*member
}

type member struct {
	name      string
	dir       string // data directory
	log       string // the process's stdout and stderr
	clientURL string
	peerURL   string
	args      []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Start runs an n-member cluster and waits until it has a leader and
// serves a linearizable read. Every member is killed when the test ends;
// if the test failed, the tail of each member's log is shown.
func Start(t testing.TB, n int, opts ...Option) *Cluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("etcdtest: %d members", n)
	}
	bin := etcdBinary()
	if bin == "" {
		t.Fatalf("etcd not installed: apt-get install etcd-server")
	}
	c := &Cluster{t: t, bin: bin}
	for _, o := range opts {
		o(&c.opts)
	}
	scheme := "http"
	if c.opts.tls {
		var err error
		if c.certs, err = newCerts(t.TempDir()); err != nil {
			t.Fatalf("etcdtest: certificates: %v", err)
		}
		scheme = "https"
	}
	ports := freePorts(t, 2*n)
	var initial []string
	for i := 0; i < n; i++ {
		m := &member{
			name:      fmt.Sprintf("m%d", i),
			dir:       t.TempDir(),
			clientURL: fmt.Sprintf("%s://127.0.0.1:%d", scheme, ports[2*i]),
			peerURL:   fmt.Sprintf("http://127.0.0.1:%d", ports[2*i+1]),
		}
		m.log = filepath.Join(m.dir, "etcd.log")
		c.members = append(c.members, m)
		initial = append(initial, m.name+"="+m.peerURL)
	}
	// A token unique to this cluster keeps members of clusters that other
	// tests run at the same time from ever joining each other.
	token := fmt.Sprintf("etcdtest-%d-%d", os.Getpid(), ports[0])
	for _, m := range c.members {
		m.args = []string{
			"--name", m.name,
			"--data-dir", filepath.Join(m.dir, "data"),
			"--listen-client-urls", m.clientURL,
			"--advertise-client-urls", m.clientURL,
			"--listen-peer-urls", m.peerURL,
			"--initial-advertise-peer-urls", m.peerURL,
			"--initial-cluster", strings.Join(initial, ","),
			"--initial-cluster-state", "new",
			"--initial-cluster-token", token,
			"--logger", "zap", "--log-outputs", "stderr",
		}
		if c.certs != nil {
			m.args = append(m.args, "--cert-file", c.certs.serverCert, "--key-file", c.certs.serverKey,
				"--trusted-ca-file", c.certs.ca, "--client-cert-auth")
		}
		if c.opts.maxTxnOps > 0 {
			m.args = append(m.args, "--max-txn-ops", strconv.Itoa(c.opts.maxTxnOps))
		}
		if c.opts.maxRequestBytes > 0 {
			m.args = append(m.args, "--max-request-bytes", strconv.Itoa(c.opts.maxRequestBytes))
		}
		m.args = append(m.args, c.opts.flags...)
	}
	// Registered before any member starts, so that a failed start below
	// still kills the members already running.
	t.Cleanup(c.cleanup)
	for i := range c.members {
		if err := c.spawn(i); err != nil {
			t.Fatalf("etcdtest: %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := c.waitQuorum(ctx, false); err != nil {
		t.Fatalf("etcdtest: cluster of %d did not start: %v\n%s", n, err, c.logTails())
	}
	if c.opts.user != "" {
		if err := c.enableAuth(ctx); err != nil {
			t.Fatalf("etcdtest: enable auth: %v", err)
		}
	}
	return c
}

// etcdBinary finds etcd: Debian's /usr/bin/etcd, else etcd on PATH.
func etcdBinary() string {
	if _, err := os.Stat("/usr/bin/etcd"); err == nil {
		return "/usr/bin/etcd"
	}
	if p, err := exec.LookPath("etcd"); err == nil {
		return p
	}
	return ""
}

// freePorts holds n listeners open at once, so the ports differ, then
// frees them for etcd to bind.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("etcdtest: pick a free port: %v", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// Endpoints are the members' client URLs, in member order.
func (c *Cluster) Endpoints() []string {
	eps := make([]string, len(c.members))
	for i, m := range c.members {
		eps[i] = m.clientURL
	}
	return eps
}

// Endpoint is member i's client URL.
func (c *Cluster) Endpoint(i int) string { return c.members[i].clientURL }

// Size is the number of members.
func (c *Cluster) Size() int { return len(c.members) }

// PID is member i's process id, or 0 while it is stopped.
func (c *Cluster) PID(i int) int {
	m := c.members[i]
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return 0
	}
	return m.cmd.Process.Pid
}

// LogPath is the file member i writes its log to.
func (c *Cluster) LogPath(i int) string { return c.members[i].log }

// User and Password are the credentials given to Auth ("" without it).
func (c *Cluster) User() string     { return c.opts.user }
func (c *Cluster) Password() string { return c.opts.password }

// Stop ends member i with SIGTERM, as an operator would, and waits for
// the process to exit (SIGKILL after 10s).
func (c *Cluster) Stop(i int) {
	c.t.Helper()
	c.signal(i, syscall.SIGTERM, 10*time.Second)
}

// Kill ends member i with SIGKILL, as a crash would, and waits for it.
func (c *Cluster) Kill(i int) {
	c.t.Helper()
	c.signal(i, syscall.SIGKILL, 10*time.Second)
}

func (c *Cluster) signal(i int, sig syscall.Signal, grace time.Duration) {
	c.t.Helper()
	m := c.members[i]
	m.mu.Lock()
	cmd, done := m.cmd, m.done
	m.cmd = nil
	m.mu.Unlock()
	if cmd == nil {
		c.t.Fatalf("etcdtest: member %d is not running", i)
	}
	if err := syscall.Kill(cmd.Process.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		c.t.Fatalf("etcdtest: signal member %d (pid %d): %v", i, cmd.Process.Pid, err)
	}
	select {
	case <-done:
	case <-time.After(grace):
		_ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// Restart starts a stopped member i again on its data directory and
// ports, and waits until the process answers on its client port. It does
// not wait for a quorum, which the member may not complete on its own:
// call WaitQuorum for that.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	if c.PID(i) != 0 {
		c.t.Fatalf("etcdtest: restart member %d: still running", i)
	}
	if err := c.spawn(i); err != nil {
		c.t.Fatalf("etcdtest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := c.waitMember(ctx, i); err != nil {
		c.t.Fatalf("etcdtest: member %d did not restart: %v\n%s", i, err, c.logTails())
	}
}

// WaitQuorum waits until the running members have a leader and serve a
// linearizable read through every one of them.
func (c *Cluster) WaitQuorum(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := c.waitQuorum(ctx, c.opts.user != ""); err != nil {
		t.Fatalf("etcdtest: no quorum: %v\n%s", err, c.logTails())
	}
}

// Client returns a client of every member, logged in when Auth was given;
// it is closed when the test ends.
func (c *Cluster) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	cli, err := c.newClient(c.Endpoints(), true)
	if err != nil {
		t.Fatalf("etcdtest: client: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// Compact compacts the cluster's history up to rev and waits until the
// members have dropped it physically, so that a watch from an older
// revision is refused from then on.
func (c *Cluster) Compact(t testing.TB, rev int64) {
	t.Helper()
	cli := c.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cli.Compact(ctx, rev, clientv3.WithCompactPhysical()); err != nil {
		t.Fatalf("etcdtest: compact to revision %d: %v", rev, err)
	}
}

func (c *Cluster) newClient(endpoints []string, login bool) (*clientv3.Client, error) {
	cfg := clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(), // retries against stopped members are the point of these tests
	}
	if login {
		cfg.Username, cfg.Password = c.opts.user, c.opts.password
	}
	if c.certs != nil {
		cfg.TLS = c.certs.client.Clone()
	}
	return clientv3.New(cfg)
}

// spawn starts member i's process, its output going to its log file.
func (c *Cluster) spawn(i int) error {
	m := c.members[i]
	logf, err := os.OpenFile(m.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open member log: %w", err)
	}
	defer logf.Close()
	fmt.Fprintf(logf, "=== etcdtest: start %s %s\n", c.bin, strings.Join(m.args, " "))
	cmd := exec.Command(c.bin, m.args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = memberEnv()
	// If the test binary dies without its cleanups, the kernel kills the
	// members instead of leaving them running.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start member %d: %w", i, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	m.mu.Lock()
	m.cmd, m.done = cmd, done
	m.mu.Unlock()
	return nil
}

// memberEnv is the test's environment without ETCD_* variables, which
// etcd would read as flags.
func memberEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ETCD_") && !strings.HasPrefix(kv, "ETCDCTL_") {
			env = append(env, kv)
		}
	}
	return env
}

// waitMember waits until member i answers Status on its client port; a
// member answers without a leader.
func (c *Cluster) waitMember(ctx context.Context, i int) error {
	m := c.members[i]
	m.mu.Lock()
	done := m.done
	m.mu.Unlock()
	cli, err := c.newClient([]string{m.clientURL}, false)
	if err != nil {
		return err
	}
	defer cli.Close()
	for {
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := cli.Status(sctx, m.clientURL)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("member %d exited", i)
		case <-ctx.Done():
			return fmt.Errorf("member %d: %w (last error: %v)", i, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitQuorum waits until every running member knows a leader and serves a
// linearizable Get.
func (c *Cluster) waitQuorum(ctx context.Context, login bool) error {
	for i, m := range c.members {
		m.mu.Lock()
		running := m.cmd != nil
		m.mu.Unlock()
		if !running {
			continue
		}
		if err := c.waitMember(ctx, i); err != nil {
			return err
		}
		cli, err := c.newClient([]string{m.clientURL}, login)
		if err != nil {
			return err
		}
		for {
			gctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			st, serr := cli.Status(gctx, m.clientURL)
			if serr == nil && st.Leader != 0 {
				_, serr = cli.Get(gctx, "etcdtest-health")
			} else if serr == nil {
				serr = errors.New("no leader")
			}
			cancel()
			if serr == nil {
				break
			}
			select {
			case <-ctx.Done():
				cli.Close()
				return fmt.Errorf("member %d: %w (last error: %v)", i, ctx.Err(), serr)
			case <-time.After(100 * time.Millisecond):
			}
		}
		cli.Close()
	}
	return nil
}

// enableAuth creates root and the Auth user (read and write on every key)
// and turns authentication on.
func (c *Cluster) enableAuth(ctx context.Context) error {
	cli, err := c.newClient(c.Endpoints(), false)
	if err != nil {
		return err
	}
	defer cli.Close()
	user, pw := c.opts.user, c.opts.password
	if _, err := cli.UserAdd(ctx, "root", pw); err != nil {
		return err
	}
	if _, err := cli.UserGrantRole(ctx, "root", "root"); err != nil {
		return err
	}
	if user != "root" {
		if _, err := cli.RoleAdd(ctx, user); err != nil {
			return err
		}
		// Key "\x00" to range end "\x00" is every key (etcdctl --from-key "").
		if _, err := cli.RoleGrantPermission(ctx, user, "\x00", "\x00", clientv3.PermissionType(clientv3.PermReadWrite)); err != nil {
			return err
		}
		if _, err := cli.UserAdd(ctx, user, pw); err != nil {
			return err
		}
		if _, err := cli.UserGrantRole(ctx, user, user); err != nil {
			return err
		}
	}
	_, err = cli.AuthEnable(ctx)
	return err
}

// cleanup kills every member still running and, if the test failed, shows
// the tail of each member's log before the temporary directories go.
func (c *Cluster) cleanup() {
	for _, m := range c.members {
		m.mu.Lock()
		cmd, done := m.cmd, m.done
		m.cmd = nil
		m.mu.Unlock()
		if cmd != nil {
			_ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	if c.t.Failed() {
		c.t.Log(c.logTails())
	}
}

// logTails is the last lines of every member's log.
func (c *Cluster) logTails() string {
	const lines = 40
	var b strings.Builder
	for i, m := range c.members {
		raw, err := os.ReadFile(m.log)
		if err != nil {
			fmt.Fprintf(&b, "--- etcd member %d: %v\n", i, err)
			continue
		}
		all := bytes.Split(bytes.TrimRight(raw, "\n"), []byte("\n"))
		if len(all) > lines {
			all = all[len(all)-lines:]
		}
		fmt.Fprintf(&b, "--- etcd member %d (%s), last %d lines of %s:\n%s\n", i, m.clientURL, len(all), m.log, bytes.Join(all, []byte("\n")))
	}
	return b.String()
}
