package node_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/idres/idres/cmd/idresd/node"
	"github.com/idres/idres/resolver/handlewire"
)

// dialFrom opens a TCP connection from the loopback address src (Linux
// routes all of 127/8 to lo, so 127.0.0.2 and .3 stand for two remote
// hosts), or nil when the node reset it at once.
func dialFrom(t *testing.T, addr, src string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", addr)
	if errors.Is(err, syscall.ECONNRESET) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second)) // a hang, not a speed limit
	return c
}

// grpcHeld reports whether the node serves a new gRPC connection from
// src: a served one gets the server's HTTP/2 SETTINGS, a refused one is
// closed.
func grpcHeld(t *testing.T, addr, src string) bool {
	c := dialFrom(t, addr, src)
	if c == nil {
		return false
	}
	var b [9]byte // a frame header
	_, err := io.ReadFull(c, b[:])
	return err == nil
}

// httpHeld reports whether the node answers /healthz on a new connection
// from src.
func httpHeld(t *testing.T, addr, src string) bool {
	c := dialFrom(t, addr, src)
	if c == nil {
		return false
	}
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return false
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// handleHeld reports whether the node answers a Handle site information
// request on a new TCP connection from src (keeping the connection).
func handleHeld(t *testing.T, addr, src string) bool {
	c := dialFrom(t, addr, src)
	if c == nil {
		return false
	}
	req := handlewire.AppendFrame(nil, &handlewire.Frame{
		Envelope: handlewire.Envelope{Version: handlewire.Latest, RequestID: 1},
		Header:   handlewire.Header{OpCode: handlewire.OpGetSiteInfo, OpFlags: handlewire.FlagKeepAlive, Expiration: uint32(time.Now().Add(time.Hour).Unix())},
		Body:     handlewire.AppendGenericRequest(nil, []byte("/")),
	})
	if _, err := c.Write(req); err != nil {
		return false
	}
	var env [handlewire.EnvelopeSize]byte
	_, err := io.ReadFull(c, env[:])
	return err == nil
}

// TestHandleConnectionsPerSource: the Handle TCP listener holds at most
// MaxConnsPerSource connections from one source, as gRPC and HTTP do.
func TestHandleConnectionsPerSource(t *testing.T) {
	t.Parallel()
	n, err := node.Start(node.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", HandleAddr: "127.0.0.1:0", Logger: quietLog,
		Security: node.SecurityConfig{MaxConnsPerSource: 10}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop(context.Background()) })
	addr := n.Endpoints()["handle"]
	for i := range 10 {
		if !handleHeld(t, addr, "127.0.0.2") {
			t.Fatalf("Handle connection %d from 127.0.0.2 refused within the per-source cap", i+1)
		}
	}
	if handleHeld(t, addr, "127.0.0.2") {
		t.Error("an 11th Handle connection from 127.0.0.2 was served (per-source cap 10)")
	}
	if !handleHeld(t, addr, "127.0.0.3") {
		t.Error("a connection from another source refused")
	}
}

// TestConnectionCaps: the gRPC and HTTP listeners each hold at most
// MaxConns connections and MaxConnsPerSource from one source; the ones
// beyond are closed at once, the held ones go on, and health checks from
// the node's own host (127.0.0.1) still get in when the public side is
// full.
func TestConnectionCaps(t *testing.T) {
	t.Parallel()
	n, err := node.Start(node.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Logger: quietLog,
		Security: node.SecurityConfig{MaxConns: 20, MaxConnsPerSource: 10}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop(context.Background()) })

	for _, l := range []struct {
		name string
		addr string
		held func(*testing.T, string, string) bool
	}{{"gRPC", n.GRPCAddr(), grpcHeld}, {"HTTP", n.HTTPAddr(), httpHeld}} {
		for i := range 10 {
			if !l.held(t, l.addr, "127.0.0.2") {
				t.Fatalf("%s: connection %d from 127.0.0.2 refused within the per-source cap", l.name, i+1)
			}
		}
		if l.held(t, l.addr, "127.0.0.2") {
			t.Errorf("%s: an 11th connection from 127.0.0.2 was served (per-source cap 10)", l.name)
		}
		for i := range 10 {
			if !l.held(t, l.addr, "127.0.0.3") {
				t.Fatalf("%s: connection %d from 127.0.0.3 refused within the caps", l.name, i+1)
			}
		}
		if l.held(t, l.addr, "127.0.0.4") {
			t.Errorf("%s: a 21st connection was served (cap 20)", l.name)
		}
	}

	// Full on both listeners: a local probe still gets an answer.
	if !httpHeld(t, n.HTTPAddr(), "127.0.0.1") {
		t.Error("/healthz from 127.0.0.1 not answered while the HTTP listener is full")
	}
	conn, err := grpc.NewClient("passthrough:///"+n.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if resp, err := healthpb.NewHealthClient(conn).Check(ctxT(t), &healthpb.HealthCheckRequest{}); err != nil || resp.Status != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("gRPC health from 127.0.0.1 while the listener is full: %v %v", resp, err)
	}
}

// TestIdleConnectionsAreClosed: a connection that says nothing, a gRPC
// connection with no call, and an HTTP keep-alive connection between
// requests are closed after the idle timeout.
func TestIdleConnectionsAreClosed(t *testing.T) {
	t.Parallel()
	n, err := node.Start(node.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Logger: quietLog,
		Security: node.SecurityConfig{IdleTimeout: 300 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop(context.Background()) })

	closed := func(c net.Conn) bool {
		_, err := io.Copy(io.Discard, c) // until the node closes it, or the 10 s hang guard
		var ne net.Error
		return !(errors.As(err, &ne) && ne.Timeout())
	}
	if c := dialFrom(t, n.GRPCAddr(), "127.0.0.2"); !closed(c) {
		t.Error("a silent connection to gRPC is still open after 10 s")
	}
	c := dialFrom(t, n.HTTPAddr(), "127.0.0.2")
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if _, err := io.Copy(io.Discard, br); err != nil {
		t.Error("an idle HTTP keep-alive connection is still open after 10 s")
	}

	conn, err := grpc.NewClient("passthrough:///"+n.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := healthpb.NewHealthClient(conn).Check(ctxT(t), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for s := conn.GetState(); s == connectivity.Ready; s = conn.GetState() {
		if !conn.WaitForStateChange(ctx, s) {
			t.Fatal("a gRPC connection with no call is still open after 10 s")
		}
	}
}
