package handleserver

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/idres/idres/resolver/handlewire"
	"github.com/idres/idres/resolver/ratelimit"
)

func dial(t *testing.T, network, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// readFrame reads one response from a TCP connection.
func readFrame(t *testing.T, c net.Conn) response {
	t.Helper()
	env := make([]byte, handlewire.EnvelopeSize)
	if _, err := io.ReadFull(c, env); err != nil {
		t.Fatalf("read envelope: %v", err)
	}
	n := binary.BigEndian.Uint32(env[16:])
	raw := make([]byte, handlewire.EnvelopeSize+int(n))
	copy(raw, env)
	if _, err := io.ReadFull(c, raw[handlewire.EnvelopeSize:]); err != nil {
		t.Fatalf("read message: %v", err)
	}
	return decodeResponse(t, raw)
}

// expectEOF checks that the server closed the connection.
func expectEOF(t *testing.T, c net.Conn) {
	t.Helper()
	var b [1]byte
	if n, err := c.Read(b[:]); !errors.Is(err, io.EOF) {
		t.Fatalf("read %d bytes, %v; want the server to close the connection", n, err)
	}
}

func TestTCPKeepsTheConnectionWhenAsked(t *testing.T) {
	h := newHandler(t, Config{Now: time.Now, Limits: Limits{RequestsPerConn: 3}})
	srv := startServer(t, h)
	c := dial(t, "tcp", srv.Addr())
	for i := uint32(1); i <= 3; i++ {
		if _, err := c.Write(request{flags: handlewire.FlagKeepAlive, requestID: i, body: resolution("88.100/PUMP-0042", nil)}.encode()); err != nil {
			t.Fatal(err)
		}
		r := readFrame(t, c)
		if r.env.RequestID != i || r.msg.ResponseCode != handlewire.RCSuccess {
			t.Fatalf("request %d: id %d rc %d", i, r.env.RequestID, r.msg.ResponseCode)
		}
	}
	// Three requests is this server's cap per connection.
	expectEOF(t, c)

	c = dial(t, "tcp", srv.Addr())
	c.Write(request{requestID: 4, body: resolution("88.100/PUMP-0042", nil)}.encode())
	if r := readFrame(t, c); r.env.RequestID != 4 {
		t.Fatalf("id %d", r.env.RequestID)
	}
	expectEOF(t, c) // no keep-alive flag
}

// TestTCPAnswersEveryReadableEnvelope: once the envelope is in, the client
// gets an answer, however the rest goes wrong; less than an envelope
// gets none.
func TestTCPAnswersEveryReadableEnvelope(t *testing.T) {
	h := newHandler(t, Config{Now: time.Now})
	srv := startServer(t, h)
	good := request{requestID: 5, body: resolution("88.100/PUMP-0042", nil)}.encode()

	c := dial(t, "tcp", srv.Addr())
	c.Write(good[:len(good)-5])
	c.(*net.TCPConn).CloseWrite()
	if r := readFrame(t, c); r.env.RequestID != 5 || r.msg.ResponseCode != handlewire.RCProtocolError {
		t.Errorf("message cut short: id %d rc %d", r.env.RequestID, r.msg.ResponseCode)
	}
	expectEOF(t, c)

	huge := append([]byte(nil), good[:handlewire.EnvelopeSize]...)
	binary.BigEndian.PutUint32(huge[16:], handlewire.MaxMessageLength+1)
	c = dial(t, "tcp", srv.Addr())
	c.Write(huge)
	if r := readFrame(t, c); r.env.RequestID != 5 || r.msg.ResponseCode != handlewire.RCProtocolError {
		t.Errorf("message over the limit: id %d rc %d", r.env.RequestID, r.msg.ResponseCode)
	}
	expectEOF(t, c)

	c = dial(t, "tcp", srv.Addr())
	c.Write(good[:handlewire.EnvelopeSize-1])
	c.(*net.TCPConn).CloseWrite()
	expectEOF(t, c)
}

func TestUDP(t *testing.T) {
	var mu sync.Mutex
	var seen []uint32
	h := newHandler(t, Config{Now: time.Now, Observe: func(transport string, rc uint32, _ time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if transport == "udp" {
			seen = append(seen, rc)
		}
	}})
	srv := startServer(t, h)
	c := dial(t, "udp", srv.Addr())
	buf := make([]byte, 1<<16)
	ask := func(raw []byte) []byte {
		t.Helper()
		if _, err := c.Write(raw); err != nil {
			t.Fatal(err)
		}
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		return buf[:n]
	}

	r := decodeResponse(t, ask(request{requestID: 1, body: resolution("88.100/PUMP-0042", nil)}.encode()))
	if r.env.RequestID != 1 || r.msg.ResponseCode != handlewire.RCSuccess || r.env.Flags&handlewire.EnvTruncated != 0 {
		t.Fatalf("id %d rc %d flags %#x", r.env.RequestID, r.msg.ResponseCode, r.env.Flags)
	}

	full, _ := h.Answer(context.Background(), request{requestID: 2, body: resolution("88.100/big", nil)}.encode())
	if len(full) <= handlewire.MaxUDPPacket {
		t.Fatalf("the big answer has %d bytes, which fits a datagram", len(full))
	}
	out := ask(request{requestID: 2, body: resolution("88.100/big", nil)}.encode())
	env, err := handlewire.DecodeEnvelope(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != handlewire.EnvelopeSize+handlewire.HeaderSize || env.Flags&handlewire.EnvTruncated == 0 || env.RequestID != 2 ||
		int(env.MessageLength) != handlewire.HeaderSize || binary.BigEndian.Uint32(out[handlewire.EnvelopeSize+4:]) != handlewire.RCSuccess {
		t.Fatalf("truncated answer %x (envelope %+v), want envelope and header, flag set", out, env)
	}

	multi := request{requestID: 3, body: resolution("88.100/PUMP-0042", nil)}.encode()
	multi[2] |= handlewire.EnvTruncated
	if r := decodeResponse(t, ask(multi)); r.env.RequestID != 3 || r.msg.ResponseCode != handlewire.RCProtocolError {
		t.Errorf("multi-packet request: id %d rc %d", r.env.RequestID, r.msg.ResponseCode)
	}

	mu.Lock()
	defer mu.Unlock()
	if want := []uint32{handlewire.RCSuccess, handlewire.RCSuccess, handlewire.RCProtocolError}; len(seen) != 3 || seen[0] != want[0] || seen[1] != want[1] || seen[2] != want[2] {
		t.Errorf("observed %v, want %v", seen, want)
	}
}

// TestRateLimits: over the limit, UDP answers are dropped except every
// Slip-th, sent truncated; TCP answers RC_SERVER_TOO_BUSY.
func TestRateLimits(t *testing.T) {
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now } // frozen: no refill
	udp, tcp := ratelimit.NewRRL(1, 2), ratelimit.NewRRL(1, 0)
	udp.Now, tcp.Now = clock, clock
	h := newHandler(t, Config{Now: time.Now, RateLimit: udp, TCPRateLimit: tcp})
	srv := startServer(t, h)

	c := dial(t, "udp", srv.Addr())
	buf := make([]byte, 1<<16)
	for i := uint32(1); i <= 4; i++ {
		c.Write(request{requestID: i, body: resolution("88.100/PUMP-0042", nil)}.encode())
	}
	// Of four at once, one is within the limit and answered, the second
	// limited one is sent truncated, the other two are dropped. Which is
	// which depends on the order the answers are computed in.
	var full, truncated int
	for full+truncated < 2 {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("after %d full and %d truncated answers: %v", full, truncated, err)
		}
		env, err := handlewire.DecodeEnvelope(buf[:n])
		if err != nil {
			t.Fatal(err)
		}
		if env.Flags&handlewire.EnvTruncated != 0 {
			truncated++
		} else {
			full++
		}
	}
	if full != 1 || truncated != 1 {
		t.Errorf("%d full and %d truncated answers, want one of each", full, truncated)
	}

	tc := dial(t, "tcp", srv.Addr())
	for i, want := range []uint32{handlewire.RCSuccess, handlewire.RCServerTooBusy} {
		tc.Write(request{flags: handlewire.FlagKeepAlive, requestID: uint32(10 + i), body: resolution("88.100/PUMP-0042", nil)}.encode())
		if r := readFrame(t, tc); r.msg.ResponseCode != want || r.env.RequestID != uint32(10+i) {
			t.Errorf("TCP request %d: rc %d id %d, want %d", i, r.msg.ResponseCode, r.env.RequestID, want)
		}
	}
}

// TestShutdownClosesIdleConnections: a kept connection waiting for its
// next request does not hold Shutdown for its idle timeout.
func TestShutdownClosesIdleConnections(t *testing.T) {
	h := newHandler(t, Config{Now: time.Now, Limits: Limits{IdleTimeout: time.Hour}})
	srv, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve(h)
	c := dial(t, "tcp", srv.Addr())
	c.Write(request{flags: handlewire.FlagKeepAlive, requestID: 1, body: resolution("88.100/PUMP-0042", nil)}.encode())
	readFrame(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	expectEOF(t, c)
}
