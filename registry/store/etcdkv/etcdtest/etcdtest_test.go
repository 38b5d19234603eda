package etcdtest

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// TestClusterSurvivesOneMember: of three members, one stopped by PID
// leaves a quorum that still takes writes; restarted, it catches up.
func TestClusterSurvivesOneMember(t *testing.T) {
	c := Start(t, 3)
	cli := c.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, "k", "before"); err != nil {
		t.Fatal(err)
	}

	pid := c.PID(2)
	c.Stop(2)
	if c.PID(2) != 0 {
		t.Fatalf("member 2 still has a pid after Stop")
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("process %d of member 2 still exists after Stop (kill 0: %v)", pid, err)
	}
	if _, err := cli.Put(ctx, "d", "during"); err != nil {
		t.Fatalf("write with 2 of 3 members: %v", err)
	}

	c.Kill(1)
	// The write times out, but is not refused: the leader may commit it
	// once the quorum is back, so it goes to a key of its own.
	short, cancelShort := context.WithTimeout(ctx, 3*time.Second)
	_, err := cli.Put(short, "q", "no quorum")
	cancelShort()
	if err == nil {
		t.Fatalf("write with 1 of 3 members succeeded")
	}

	c.Restart(1)
	c.Restart(2)
	c.WaitQuorum(t)
	// The restarted member serves the write it missed.
	one, err := clientv3.New(clientv3.Config{Endpoints: []string{c.Endpoint(2)}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	resp, err := one.Get(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "during" {
		t.Fatalf("member 2 after restart: d = %v, want \"during\"", resp.Kvs)
	}
}

// TestOptions: the limits and the credentials reach the members.
func TestOptions(t *testing.T) {
	c := Start(t, 1, MaxTxnOps(4), Auth("idres", "s3cret"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	anon, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	if _, err := anon.Put(ctx, "k", "v"); err == nil {
		t.Fatalf("write without credentials succeeded with auth on")
	}

	cli := c.Client(t)
	var ops []clientv3.Op
	for i := 0; i < 5; i++ {
		ops = append(ops, clientv3.OpPut(fmt.Sprintf("/p/%d", i), "v"))
	}
	if _, err := cli.Txn(ctx).Then(ops[:4]...).Commit(); err != nil {
		t.Fatalf("txn of 4 ops with --max-txn-ops 4: %v", err)
	}
	if _, err := cli.Txn(ctx).Then(ops...).Commit(); !errors.Is(err, rpctypes.ErrTooManyOps) {
		t.Fatalf("txn of 5 ops with --max-txn-ops 4: err = %v, want %v", err, rpctypes.ErrTooManyOps)
	}

	resp, err := cli.Put(ctx, "/p/0", "w")
	if err != nil {
		t.Fatal(err)
	}
	c.Compact(t, resp.Header.Revision)
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	wr := <-cli.Watch(wctx, "/p/", clientv3.WithPrefix(), clientv3.WithRev(1))
	if wr.CompactRevision != resp.Header.Revision {
		t.Fatalf("watch from revision 1 after compaction: compact revision %d, want %d (err %v)", wr.CompactRevision, resp.Header.Revision, wr.Err())
	}
}
