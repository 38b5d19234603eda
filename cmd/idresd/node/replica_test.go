package node_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/idres/idres/cmd/idresd/node"
	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/store/etcdkv/etcdtest"
	"github.com/idres/idres/resolver/client"
)

// replica is one idresd node on an etcd store, with clients of it.
type replica struct {
	n     *node.Node
	anon  *client.Client
	admin *client.Client
}

// startReplicas starts len(limits) nodes sharing prefix on cluster c, the
// i-th with etcd stale limit limits[i] (0: the default). The first start
// creates the administrator credential; every replica accepts its token.
func startReplicas(t testing.TB, c *etcdtest.Cluster, prefix string, limits ...time.Duration) []*replica {
	t.Helper()
	var rs []*replica
	token := ""
	for i, limit := range limits {
		n, err := node.Start(node.Config{
			DataDir:  t.TempDir(),
			GRPCAddr: "127.0.0.1:0",
			Logger:   quietLog,
			Store:    node.StoreEtcd,
			Etcd:     node.EtcdConfig{Endpoints: c.Endpoints(), Prefix: prefix, StaleLimit: limit},
		})
		if err != nil {
			t.Fatalf("start replica %d: %v", i, err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := n.Stop(ctx); err != nil {
				t.Errorf("stop replica %d: %v", i, err)
			}
		})
		switch {
		case i == 0 && n.AdminTokenPath == "":
			t.Fatal("first replica created no administrator credential")
		case i > 0 && n.AdminTokenPath != "":
			t.Fatalf("replica %d created a second administrator credential (%s)", i, n.AdminTokenPath)
		}
		if i == 0 {
			raw, err := os.ReadFile(n.AdminTokenPath)
			if err != nil {
				t.Fatal(err)
			}
			token = strings.TrimSpace(string(raw))
		}
		r := &replica{n: n}
		for _, cl := range []struct {
			to    **client.Client
			token string
		}{{&r.anon, ""}, {&r.admin, token}} {
			*cl.to, err = client.Dial(n.GRPCAddr(), client.Options{Token: cl.token})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { (*cl.to).Close() })
		}
		rs = append(rs, r)
	}
	return rs
}

// resolveOK reports whether r resolves id with OUTCOME_OK now.
func (r *replica) resolveOK(ctx context.Context, id string) (bool, error) {
	resp, err := r.anon.Resolve(ctx, &idresv1.ResolveRequest{Identifier: id})
	if err != nil {
		return false, err
	}
	return resp.Outcome == idresv1.Outcome_OUTCOME_OK, nil
}

// waitResolves polls r until it resolves id, for at most 10s, and returns
// how long that took.
func (r *replica) waitResolves(t testing.TB, id string) time.Duration {
	t.Helper()
	ctx := ctxT(t)
	start := time.Now()
	for {
		ok, err := r.resolveOK(ctx, id)
		if ok {
			return time.Since(start)
		}
		if ctx.Err() != nil {
			t.Fatalf("%s never resolved on the other replica (last error %v)", id, err)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

func durationsSummary(ds []time.Duration) string {
	s := slices.Clone(ds)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return fmt.Sprintf("n=%d min=%v median=%v max=%v", len(s), s[0], s[len(s)/2], s[len(s)-1])
}

// TestReplicaSeesOtherReplicasWrites pins STORE-003 and STORE-005: what
// one replica registers, the other resolves and sends on its change feed,
// without a restart; a file backup is refused. The lag from a write's
// answer to its visibility elsewhere is logged.
func TestReplicaSeesOtherReplicasWrites(t *testing.T) {
	c := etcdtest.Start(t, 3)
	rs := startReplicas(t, c, "/idres/test-visible", 0, 0)
	a, b := rs[0], rs[1]
	ctx := ctxT(t)
	if _, err := a.admin.CreatePrefix(ctx, &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: "88.100.1"}}); err != nil {
		t.Fatal(err)
	}

	// B follows its change feed while A writes.
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watch, err := b.admin.Watch(wctx, &idresv1.WatchRequest{Prefix: "88.100.1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := watch.Recv(); err != nil { // the first response says the watch is on
		t.Fatalf("watch on replica B: %v", err)
	}

	const writes = 50
	var lags []time.Duration
	for i := range writes {
		id := fmt.Sprintf("88.100.1/part-%02d", i)
		if _, err := a.admin.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: id, Values: []*idresv1.Value{val(1, "URL", "https://example.com/"+id, 0)}}); err != nil {
			t.Fatalf("create %s on A: %v", id, err)
		}
		lags = append(lags, b.waitResolves(t, id))
	}
	t.Logf("write on A answered -> resolvable on B: %s", durationsSummary(lags))

	// And back: an update on B is what A resolves.
	if _, err := b.admin.UpdateValues(ctx, &idresv1.UpdateValuesRequest{Identifier: "88.100.1/part-00", Replace: []*idresv1.Value{val(1, "URL", "https://example.com/moved", 0)}}); err != nil {
		t.Fatalf("update on B: %v", err)
	}
	for {
		resp, err := a.anon.Resolve(ctx, &idresv1.ResolveRequest{Identifier: "88.100.1/part-00"})
		if err != nil {
			t.Fatal(err)
		}
		if string(resp.GetValues()[0].GetData()) == "https://example.com/moved" {
			break
		}
		time.Sleep(time.Millisecond)
	}

	// A file snapshot of a store that lives in etcd is refused, naming
	// the tool that backs it up.
	snap, err := idresv1.NewBackupClient(a.admin.Conn()).Snapshot(ctx, &idresv1.SnapshotRequest{})
	if err == nil {
		_, err = snap.Recv()
	}
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(status.Convert(err).Message(), "etcdctl snapshot save") {
		t.Errorf("Backup.Snapshot of an etcd store: %v, want FailedPrecondition naming etcdctl snapshot save", err)
	}
	// The replica's metrics say how current its copy is.
	mfs, err := b.n.Metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]float64{}
	for _, mf := range mfs {
		if len(mf.GetMetric()) > 0 {
			seen[mf.GetName()] = mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	if rev, ok := seen["idres_store_etcd_applied_revision"]; !ok || rev < writes {
		t.Errorf("idres_store_etcd_applied_revision = %v (present %v), want at least the %d writes", rev, ok, writes)
	}
	if _, ok := seen["idres_store_etcd_staleness_seconds"]; !ok {
		t.Error("no idres_store_etcd_staleness_seconds metric")
	}
	if _, ok := seen["idres_store_size_bytes"]; ok {
		t.Error("an etcd replica reports idres_store_size_bytes, the size of a bbolt file it does not have")
	}

	var created []string
	for len(created) < writes {
		resp, err := watch.Recv()
		if err != nil {
			t.Fatalf("watch on B after %d changes: %v", len(created), err)
		}
		for _, ch := range resp.Changes {
			if ch.Kind == idresv1.Change_CREATED {
				created = append(created, ch.Identifier)
			}
		}
	}
	for i, id := range created {
		if want := fmt.Sprintf("88.100.1/part-%02d", i); id != want {
			t.Fatalf("B's feed sent creation %d as %s, want %s (all: %v)", i, id, want, created)
		}
	}
}

// TestReplicaConcurrentUpdates pins STORE-003: both replicas add values to
// one identifier at once; every add survives, none overwrites another.
func TestReplicaConcurrentUpdates(t *testing.T) {
	c := etcdtest.Start(t, 3)
	rs := startReplicas(t, c, "/idres/test-concurrent", 0, 0)
	ctx := ctxT(t)
	if _, err := rs[0].admin.CreatePrefix(ctx, &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: "88.100.1"}}); err != nil {
		t.Fatal(err)
	}
	const id, perReplica = "88.100.1/shared", 50
	if _, err := rs[0].admin.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: id, Values: []*idresv1.Value{val(1, "URL", "u", 0)}}); err != nil {
		t.Fatal(err)
	}
	rs[1].waitResolves(t, id)

	var wg sync.WaitGroup
	errs := make(chan error, 2*perReplica)
	for r, rep := range rs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perReplica {
				index := uint32(100*(r+1) + i) // replica 0 adds 100.., replica 1 200..
				_, err := rep.admin.UpdateValues(ctx, &idresv1.UpdateValuesRequest{Identifier: id, Add: []*idresv1.Value{val(index, "note", fmt.Sprintf("replica %d add %d", r, i), 0)}})
				if err != nil {
					errs <- fmt.Errorf("replica %d add index %d: %w", r, index, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	want := []uint32{1}
	for r := range rs {
		for i := range perReplica {
			want = append(want, uint32(100*(r+1)+i))
		}
	}
	for r, rep := range rs {
		// Both replicas end with every value, once their caches agree.
		var got []uint32
		for {
			ident, err := rep.admin.GetIdentifier(ctx, &idresv1.GetIdentifierRequest{Identifier: id})
			if err != nil {
				t.Fatalf("replica %d: %v", r, err)
			}
			got = indexesOf(ident.Values)
			if len(got) >= len(want) || ctx.Err() != nil {
				break
			}
			time.Sleep(time.Millisecond)
		}
		if !slices.Equal(got, want) {
			t.Errorf("replica %d holds indexes %v,\nwant %v", r, got, want)
		}
	}
}

// TestReplicaQuorumLoss pins STORE-004: replicas go on through the loss
// of one etcd member of three (a write during a leader election may fail
// once); without a quorum they answer reads from their copy until the
// stale limit, then report NOT_SERVING and refuse reads, and refuse writes
// as Unavailable; once the members are back, writes resume on the same
// idresd processes.
func TestReplicaQuorumLoss(t *testing.T) {
	c := etcdtest.Start(t, 3)
	// A serves stale reads for a minute (the default); B for 2s only.
	rs := startReplicas(t, c, "/idres/test-quorum", 0, 2*time.Second)
	a, b := rs[0], rs[1]
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	create := func(r *replica, id string) error {
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		_, err := r.admin.CreateIdentifier(cctx, &idresv1.CreateIdentifierRequest{Identifier: id, Values: []*idresv1.Value{val(1, "URL", "https://example.com/"+id, 0)}})
		return err
	}
	if _, err := a.admin.CreatePrefix(ctx, &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: "88.100.1"}}); err != nil {
		t.Fatal(err)
	}
	if err := create(a, "88.100.1/before"); err != nil {
		t.Fatal(err)
	}
	b.waitResolves(t, "88.100.1/before")

	// One member of three stopped, a follower: nothing changes for
	// clients.
	leader := leaderOf(t, c)
	follower := (leader + 1) % 3
	c.Stop(follower)
	for i, r := range rs {
		id := fmt.Sprintf("88.100.1/follower-down-%d", i)
		if err := create(r, id); err != nil {
			t.Fatalf("replica %d: write with a follower stopped: %v", i, err)
		}
		rs[1-i].waitResolves(t, id)
	}
	c.Restart(follower)
	c.WaitQuorum(t)

	// The leader killed: a write in flight while the others elect a new
	// one may answer Unavailable (and may still have committed, so a
	// retried create may find it); then writes go on.
	c.Kill(leader)
	began, attempts := time.Now(), 0
	for {
		attempts++
		err := create(a, "88.100.1/leader-killed")
		if err == nil || (attempts > 1 && status.Code(err) == codes.AlreadyExists) {
			break
		}
		if status.Code(err) != codes.Unavailable || ctx.Err() != nil {
			t.Fatalf("write after the leader was killed: %v", err)
		}
	}
	t.Logf("leader killed: first write acknowledged after %v, %d attempt(s)", time.Since(began).Round(time.Millisecond), attempts)
	for i, r := range rs {
		id := fmt.Sprintf("88.100.1/leader-down-%d", i)
		if err := create(r, id); err != nil {
			t.Fatalf("replica %d: write with 2 of 3 members and a new leader: %v", i, err)
		}
		rs[1-i].waitResolves(t, id)
	}
	down := []int{leader}

	// Two down: no quorum.
	down = append(down, (leader+2)%3)
	c.Stop(down[1])
	err := create(a, "88.100.1/no-quorum")
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("write without quorum: %v, want code Unavailable", err)
	}
	if ok, err := a.resolveOK(ctx, "88.100.1/before"); !ok {
		t.Fatalf("replica A, stale limit 1m: read without quorum: ok=%v, err=%v", ok, err)
	}
	// B's copy goes past its 2s stale limit: its reads are refused too,
	// and its health says so, for balancers.
	for {
		_, err := b.resolveOK(ctx, "88.100.1/before")
		if status.Code(err) == codes.Unavailable {
			break
		}
		if err != nil && status.Code(err) != codes.Unavailable {
			t.Fatalf("replica B past its stale limit: %v, want Unavailable", err)
		}
		if ctx.Err() != nil {
			t.Fatal("replica B never refused reads past its stale limit")
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitHealth(t, ctx, b, healthpb.HealthCheckResponse_NOT_SERVING)
	if got := health(t, ctx, a); got != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("replica A, within its stale limit: health %v, want SERVING", got)
	}

	// Members back: the same idresd processes write and read again. The
	// write refused above may still commit (etcd kept the proposal), so
	// the test does not look for it.
	for _, i := range down {
		c.Restart(i)
	}
	c.WaitQuorum(t)
	for i, r := range rs {
		id := fmt.Sprintf("88.100.1/after-%d", i)
		attempts := 0
		for {
			attempts++
			err := create(r, id)
			if err == nil {
				break
			}
			if status.Code(err) != codes.Unavailable || ctx.Err() != nil {
				t.Fatalf("replica %d: write after quorum returned: %v", i, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("replica %d: first write after the quorum returned took %d attempt(s)", i, attempts)
		rs[1-i].waitResolves(t, id)
	}
	if ok, err := b.resolveOK(ctx, "88.100.1/leader-down-0"); !ok {
		t.Errorf("replica B after recovery: ok=%v, err=%v", ok, err)
	}
	waitHealth(t, ctx, b, healthpb.HealthCheckResponse_SERVING)
}

func health(t *testing.T, ctx context.Context, r *replica) healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	resp, err := healthpb.NewHealthClient(r.anon.Conn()).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatalf("health check: %v", err)
	}
	return resp.Status
}

// waitHealth polls r's gRPC health and /readyz's source until it is want.
func waitHealth(t *testing.T, ctx context.Context, r *replica, want healthpb.HealthCheckResponse_ServingStatus) {
	t.Helper()
	for {
		got := health(t, ctx, r)
		if got == want && r.n.Ready() == (want == healthpb.HealthCheckResponse_SERVING) {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("health stayed %v (ready %v), want %v", got, r.n.Ready(), want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// leaderOf is the index of the cluster's current leader.
func leaderOf(t *testing.T, c *etcdtest.Cluster) int {
	t.Helper()
	cli := c.Client(t)
	for i, ep := range c.Endpoints() {
		st, err := cli.Status(ctxT(t), ep)
		if err != nil {
			t.Fatal(err)
		}
		if st.Leader == st.Header.MemberId {
			return i
		}
	}
	t.Fatal("cluster has no leader")
	return -1
}

// TestReplicaEtcdTLS: a replica reaches a TLS cluster that requires
// client certificates with the CA, certificate and key its flags name.
func TestReplicaEtcdTLS(t *testing.T) {
	c := etcdtest.Start(t, 1, etcdtest.TLS())
	ca, cert, key := c.CertFiles()
	n, err := node.Start(node.Config{
		DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", Logger: quietLog, Store: node.StoreEtcd,
		Etcd: node.EtcdConfig{Endpoints: c.Endpoints(), Prefix: "/idres/test-tls", CACert: ca, Cert: cert, Key: key},
	})
	if err != nil {
		t.Fatalf("start on a TLS cluster: %v", err)
	}
	defer n.Stop(context.Background())
	if n.AdminTokenPath == "" {
		t.Error("the replica created no administrator credential in etcd")
	}
}

// TestReplicaEtcdAuth: a replica logs in to etcd with the password from
// its file; a wrong password stops it at start.
func TestReplicaEtcdAuth(t *testing.T) {
	c := etcdtest.Start(t, 1, etcdtest.Auth("idres", "s3cret"))
	dir := t.TempDir()
	pwFile := dir + "/etcd.password"
	for _, tc := range []struct {
		password string
		ok       bool
	}{{"wrong\n", false}, {"s3cret\n", true}} {
		if err := os.WriteFile(pwFile, []byte(tc.password), 0o600); err != nil {
			t.Fatal(err)
		}
		n, err := node.Start(node.Config{
			DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", Logger: quietLog, Store: node.StoreEtcd,
			Etcd: node.EtcdConfig{Endpoints: c.Endpoints(), Prefix: "/idres/test-auth", User: "idres", PasswordFile: pwFile},
		})
		if (err == nil) != tc.ok {
			t.Fatalf("start with password %q: %v", tc.password, err)
		}
		if err != nil {
			t.Logf("wrong password: %v", err)
			continue
		}
		defer n.Stop(context.Background())
		if n.AdminTokenPath == "" {
			t.Error("the replica created no administrator credential in etcd")
		}
	}
}

// TestReplicasStartTogether pins STORE-003: replicas started at once on an
// empty prefix create one administrator credential between them, and only
// the replica whose credential committed reports a token file.
func TestReplicasStartTogether(t *testing.T) {
	c := etcdtest.Start(t, 1)
	const starts = 4
	nodes := make([]*node.Node, starts)
	errs := make([]error, starts)
	var wg sync.WaitGroup
	for i := range starts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nodes[i], errs[i] = node.Start(node.Config{
				DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", Logger: quietLog, Store: node.StoreEtcd,
				Etcd: node.EtcdConfig{Endpoints: c.Endpoints(), Prefix: "/idres/test-together"},
			})
		}()
	}
	wg.Wait()
	var tokens []string
	for i, n := range nodes {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		defer n.Stop(context.Background())
		if n.AdminTokenPath != "" {
			raw, err := os.ReadFile(n.AdminTokenPath)
			if err != nil {
				t.Fatal(err)
			}
			tokens = append(tokens, strings.TrimSpace(string(raw)))
		}
	}
	if len(tokens) != 1 {
		t.Fatalf("%d replicas report an administrator token file, want 1", len(tokens))
	}
	for i, n := range nodes {
		cl, err := client.Dial(n.GRPCAddr(), client.Options{Token: tokens[0]})
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		resp, err := cl.ListCredentials(ctxT(t), &idresv1.ListCredentialsRequest{})
		if err != nil {
			t.Fatalf("replica %d with the token: %v", i, err)
		}
		if len(resp.Credentials) != 1 {
			t.Errorf("replica %d lists %d credentials, want the one administrator", i, len(resp.Credentials))
		}
	}
}

// TestDefaultEtcdPrefix: without --etcd-prefix, replicas whose data
// directories have the same base name share a store, and the prefix is
// always one etcdkv accepts.
func TestDefaultEtcdPrefix(t *testing.T) {
	for _, tc := range []struct{ dir, want string }{
		{"/var/lib/idres", "/idres/idres"},
		{"/srv/88.100.1/", "/idres/88.100.1"},
		{"/", "/idres/default"},
	} {
		if got := node.DefaultEtcdPrefix(tc.dir); got != tc.want {
			t.Errorf("DefaultEtcdPrefix(%q) = %q, want %q", tc.dir, got, tc.want)
		}
	}
	if got := node.DefaultEtcdPrefix("idres-data"); got != "/idres/idres-data" {
		t.Errorf("DefaultEtcdPrefix(relative idres-data) = %q", got)
	}
}
