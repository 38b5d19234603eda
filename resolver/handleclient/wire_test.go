package handleclient

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idres/idres/resolver/handlewire"
)

// These tests answer with a fake of the wire only (a few lines over
// handlewire), for what a correct server never sends: torn datagrams,
// stale ids, expired answers. What a server does answer is tested
// against a real node in server_test.go.

// TestRequestsAsHdllibSendsThem compares the client's requests, byte for
// byte, with what hdllib 7.3.1 sent (resolver/handlewire/testdata), all
// but the request id and expiration, which both draw afresh.
func TestRequestsAsHdllibSendsThem(t *testing.T) {
	for _, tc := range []struct {
		file string
		c    *Client
		op   uint32
		body []byte
	}{
		{"hdllib-resolve-2.5-tcp.bin", &Client{}, handlewire.OpResolution,
			handlewire.ResolutionRequest{Handle: []byte("88.100.1/PUMP-0042"), Indexes: []uint32{1}, Types: [][]byte{[]byte("URL")}}.Append(nil)},
		{"hdllib-resolve-2.1-udp.bin", &Client{Version: handlewire.Version{Major: 2, Minor: 1}, Authoritative: true}, handlewire.OpResolution,
			handlewire.ResolutionRequest{Handle: []byte("0.NA/88.100.1"), Types: [][]byte{[]byte("HS_SITE")}}.Append(nil)},
		{"hdllib-siteinfo-2.5-tcp.bin", &Client{}, handlewire.OpGetSiteInfo, handlewire.AppendGenericRequest(nil, []byte("/"))},
	} {
		t.Run(tc.file, func(t *testing.T) {
			want, err := os.ReadFile("../handlewire/testdata/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			v, err := tc.c.version()
			if err != nil {
				t.Fatal(err)
			}
			before := time.Now().Add(requestLifetime).Unix()
			got := tc.c.frame(v, tc.op, 0x01020304, tc.body, false)
			if len(got) != len(want) {
				t.Fatalf("request of %d bytes, hdllib's %d:\n%x\n%x", len(got), len(want), got, want)
			}
			exp := int64(binary.BigEndian.Uint32(got[handlewire.EnvelopeSize+16:]))
			if exp < before || exp > time.Now().Add(requestLifetime).Unix() {
				t.Errorf("expiration %d, want now+12h", exp)
			}
			// Blank what differs by design: request id, expiration.
			for _, b := range [][]byte{got, want} {
				copy(b[8:12], make([]byte, 4))
				copy(b[handlewire.EnvelopeSize+16:handlewire.EnvelopeSize+20], make([]byte, 4))
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("request differs from hdllib's:\n%x\n%x", got, want)
			}
		})
	}
}

// fake answers each request with what answer returns: whole frames for
// TCP, datagrams for UDP. nil closes a TCP connection unanswered.
type fake struct {
	addr   string
	tcpReq atomic.Int32
	udpReq atomic.Int32
	conns  atomic.Int32
}

type fakeAnswer func(udp bool, env handlewire.Envelope, m handlewire.Message) [][]byte

func startFake(t *testing.T, answer fakeAnswer) *fake {
	t.Helper()
	var tl net.Listener
	var ul net.PacketConn
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if ul, err = net.ListenPacket("udp", l.Addr().String()); err == nil {
			tl = l
			break
		}
		l.Close()
	}
	if tl == nil {
		t.Fatal("no port free for both TCP and UDP")
	}
	f := &fake{addr: tl.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { tl.Close(); ul.Close(); wg.Wait() })
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			conn, err := tl.Accept()
			if err != nil {
				return
			}
			f.conns.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				for {
					env, m, err := readRequest(conn)
					if err != nil {
						return
					}
					f.tcpReq.Add(1)
					out := answer(false, env, m)
					if out == nil {
						return
					}
					for _, b := range out {
						conn.Write(b)
					}
				}
			}()
		}
	}()
	go func() {
		defer wg.Done()
		buf := make([]byte, 65536)
		for {
			n, from, err := ul.ReadFrom(buf)
			if err != nil {
				return
			}
			env, err := handlewire.DecodeEnvelope(buf[:n])
			if err != nil {
				continue
			}
			m, err := handlewire.DecodeMessage(buf[handlewire.EnvelopeSize:n])
			if err != nil {
				continue
			}
			f.udpReq.Add(1)
			for _, b := range answer(true, env, m) {
				ul.WriteTo(b, from)
			}
		}
	}()
	return f
}

func readRequest(r io.Reader) (handlewire.Envelope, handlewire.Message, error) {
	var head [handlewire.EnvelopeSize]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return handlewire.Envelope{}, handlewire.Message{}, err
	}
	env, err := handlewire.DecodeEnvelope(head[:])
	if err != nil {
		return env, handlewire.Message{}, err
	}
	raw := make([]byte, env.MessageLength)
	if _, err := io.ReadFull(r, raw); err != nil {
		return env, handlewire.Message{}, err
	}
	m, err := handlewire.DecodeMessage(raw)
	return env, m, err
}

// reply is a success answer to m holding values, as one frame.
func replyFrame(env handlewire.Envelope, m handlewire.Message, values ...handlewire.Value) []byte {
	q, _ := handlewire.DecodeResolutionRequest(m.Body)
	hv := handlewire.HandleValues{Handle: q.Handle, Values: values}
	f := handlewire.Frame{
		Envelope: handlewire.Envelope{Version: env.Version, RequestID: env.RequestID},
		Header: handlewire.Header{OpCode: m.OpCode, ResponseCode: handlewire.RCSuccess, OpFlags: handlewire.ResponseFlags(m.OpFlags, false),
			Expiration: uint32(time.Now().Add(time.Hour).Unix())},
		Body: hv.Append(nil),
	}
	if m.OpFlags&handlewire.FlagRequestDigest != 0 {
		f.Digest = handlewire.RequestDigest(env.Version, &m)
	}
	return handlewire.AppendFrame(nil, &f)
}

// datagrams splits a frame as a Handle server sends it over UDP: each
// datagram an envelope (its sequence number, the whole message's
// length) and the next udpData bytes.
func datagrams(frame []byte) [][]byte {
	env, _ := handlewire.DecodeEnvelope(frame)
	msg := frame[handlewire.EnvelopeSize:]
	var out [][]byte
	for seq := 0; seq*udpData < len(msg); seq++ {
		e := env
		e.SequenceNumber = uint32(seq)
		out = append(out, append(e.Append(nil), msg[seq*udpData:min(len(msg), (seq+1)*udpData)]...))
	}
	return out
}

func bigValue(n int) handlewire.Value {
	return handlewire.Value{Index: 1, TTL: 86400, Permissions: handlewire.PermPublicRead, Type: []byte("URL"), Data: bytes.Repeat([]byte("x"), n)}
}

func TestUDPReassemblesOutOfOrderDatagrams(t *testing.T) {
	f := startFake(t, func(udp bool, env handlewire.Envelope, m handlewire.Message) [][]byte {
		stale := env
		stale.RequestID++ // another request's answer first: ignored
		dg := datagrams(replyFrame(env, m, bigValue(2000)))
		out := [][]byte{datagrams(replyFrame(stale, m, bigValue(10)))[0]}
		for i := len(dg) - 1; i >= 0; i-- {
			out = append(out, dg[i], dg[i]) // reversed, each twice
		}
		return out
	})
	c := &Client{Addr: f.addr, UDP: true, RequestDigest: true}
	a, err := c.Resolve(context.Background(), "88.100/x", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.RC != handlewire.RCSuccess || len(a.Values) != 1 || len(a.Values[0].Data) != 2000 || a.ViaTCP || a.Digest == nil {
		t.Fatalf("answer %+v", a)
	}
	if f.tcpReq.Load() != 0 {
		t.Fatal("asked over TCP")
	}
}

func TestUDPTruncatedAsksOverTCP(t *testing.T) {
	f := startFake(t, func(udp bool, env handlewire.Envelope, m handlewire.Message) [][]byte {
		frame := replyFrame(env, m, bigValue(700))
		if udp {
			frame[2] |= handlewire.EnvTruncated
			return [][]byte{frame[:handlewire.MaxUDPPacket]}
		}
		return [][]byte{frame}
	})
	c := &Client{Addr: f.addr, UDP: true}
	a, err := c.Resolve(context.Background(), "88.100/x", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !a.ViaTCP || len(a.Values) != 1 || len(a.Values[0].Data) != 700 {
		t.Fatalf("answer %+v", a)
	}
	if f.udpReq.Load() != 1 || f.tcpReq.Load() != 1 {
		t.Fatalf("%d UDP and %d TCP requests, want 1 each", f.udpReq.Load(), f.tcpReq.Load())
	}
}

func TestUDPResendsUnansweredRequest(t *testing.T) {
	var n atomic.Int32
	f := startFake(t, func(udp bool, env handlewire.Envelope, m handlewire.Message) [][]byte {
		if n.Add(1) == 1 {
			return nil // the first datagram is "lost"
		}
		return datagrams(replyFrame(env, m, bigValue(5)))
	})
	c := &Client{Addr: f.addr, UDP: true, Timeout: 5 * time.Second}
	if _, err := c.Resolve(context.Background(), "88.100/x", nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := f.udpReq.Load(); got != 2 {
		t.Fatalf("%d datagrams sent, want 2", got)
	}
}

// TestAnswersRefused: what hdllib refuses, the client refuses, with an
// error that says why.
func TestAnswersRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mangle func(frame []byte) []byte
		want   error
	}{
		{"another request id", func(b []byte) []byte { b[11]++; return b }, ErrRequestID},
		{"expired", func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[handlewire.EnvelopeSize+16:], uint32(time.Now().Add(-time.Minute).Unix()))
			return b
		}, ErrExpired},
		{"expiration zero", func(b []byte) []byte { copy(b[handlewire.EnvelopeSize+16:], make([]byte, 4)); return b }, ErrExpired},
		{"over the maximum length", func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[16:], handlewire.MaxMessageLength+1)
			return b
		}, handlewire.ErrFormat},
		{"no response code", func(b []byte) []byte { copy(b[handlewire.EnvelopeSize+4:], make([]byte, 4)); return b }, handlewire.ErrFormat},
		{"version 3", func(b []byte) []byte { b[0] = 3; return b }, ErrUnsupported},
		{"compressed", func(b []byte) []byte { b[2] |= handlewire.EnvCompressed; return b }, ErrUnsupported},
		{"wrong digest", func(b []byte) []byte { b[handlewire.EnvelopeSize+handlewire.HeaderSize+1] ^= 1; return b }, ErrDigest},
		{"body cut short", func(b []byte) []byte {
			env, _ := handlewire.DecodeEnvelope(b)
			b = b[:len(b)-10]
			binary.BigEndian.PutUint32(b[16:], env.MessageLength-10)
			return b
		}, handlewire.ErrFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := startFake(t, func(udp bool, env handlewire.Envelope, m handlewire.Message) [][]byte {
				return [][]byte{tc.mangle(replyFrame(env, m, bigValue(5)))}
			})
			c := &Client{Addr: f.addr, RequestDigest: true, Timeout: 5 * time.Second}
			a, err := c.Resolve(context.Background(), "88.100/x", nil, nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("answer %+v, error %v; want %v", a, err, tc.want)
			}
			if !strings.Contains(err.Error(), f.addr) {
				t.Errorf("error %q does not name the server", err)
			}
		})
	}
}

// TestKeepAliveReusesAndRedials: a kept connection carries the next
// request; one the server closed meanwhile is replaced without an error.
func TestKeepAliveReusesAndRedials(t *testing.T) {
	var served atomic.Int32
	f := startFake(t, func(udp bool, env handlewire.Envelope, m handlewire.Message) [][]byte {
		if m.OpFlags&handlewire.FlagKeepAlive == 0 {
			return nil
		}
		// Two answers per connection, then the server hangs up.
		if served.Add(1)%3 == 0 {
			return nil
		}
		return [][]byte{replyFrame(env, m, bigValue(5))}
	})
	c := &Client{Addr: f.addr, KeepAlive: true}
	defer c.Close()
	for i := range 4 {
		if _, err := c.Resolve(context.Background(), "88.100/x", nil, nil); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	// Calls 1,2 on conn A; call 3 finds A closed (request 3 unanswered)
	// and redials B, which answers calls 3 and 4.
	if got := f.conns.Load(); got != 2 {
		t.Fatalf("%d connections, want 2", got)
	}
}

func TestTimeoutAgainstSilentUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	c := &Client{Addr: pc.LocalAddr().String(), UDP: true, Timeout: 300 * time.Millisecond}
	start := time.Now()
	_, err = c.Resolve(context.Background(), "88.100/x", nil, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want a deadline", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("gave up after %s, timeout 300ms", d)
	}
	// The context's deadline wins when earlier than Timeout.
	c.Timeout = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := c.Resolve(ctx, "88.100/x", nil, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want the context's deadline", err)
	}
}

func TestCancelInterruptsTCP(t *testing.T) {
	asked := make(chan struct{}, 1)
	f := startFake(t, func(udp bool, env handlewire.Envelope, m handlewire.Message) [][]byte {
		asked <- struct{}{}
		return [][]byte{} // never answers, keeps the connection
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-asked; cancel() }()
	c := &Client{Addr: f.addr, Timeout: time.Hour}
	if _, err := c.Resolve(ctx, "88.100/x", nil, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want canceled", err)
	}
}

func TestBadOptions(t *testing.T) {
	for _, c := range []*Client{{}, {Addr: "127.0.0.1:1", Version: handlewire.Version{Major: 3}}, {Addr: "127.0.0.1:1", Version: handlewire.Version{Major: 2, Minor: 9}}} {
		if _, err := c.Resolve(context.Background(), "88.100/x", nil, nil); err == nil {
			t.Errorf("client %+v: no error", c)
		}
	}
	if _, err := (&Client{Addr: "127.0.0.1:1"}).Resolve(context.Background(), "", nil, nil); err == nil {
		t.Error("empty handle: no error")
	}
}
