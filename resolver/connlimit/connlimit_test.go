package connlimit_test

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/idres/idres/resolver/connlimit"
)

// serve accepts on l and greets every connection it is given; it keeps
// them open until the test ends.
func serve(t *testing.T, l net.Listener) {
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("hi"))
			t.Cleanup(func() { c.Close() })
		}
	}()
}

// dialFrom connects from the loopback address src and reports whether
// the server took the connection (greeted it) or closed it at once.
func dialFrom(t *testing.T, addr, src string) (net.Conn, bool) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", addr)
	if errors.Is(err, syscall.ECONNRESET) {
		return nil, false // reset before the dial returned
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetReadDeadline(time.Now().Add(10 * time.Second)) // a hang, not a speed limit
	var b [2]byte
	_, err = io.ReadFull(c, b[:])
	return c, err == nil
}

func TestCaps(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := connlimit.Wrap(inner, connlimit.Limits{Max: 3, PerSource: 2, Reserve: 1})
	defer l.Close()
	serve(t, l)
	addr := l.Addr().String()
	steps := []struct {
		src  string
		want bool
	}{
		{"127.0.0.2", true}, {"127.0.0.2", true},
		{"127.0.0.2", false}, // per source
		{"127.0.0.3", true},
		{"127.0.0.4", false}, // total
		{"127.0.0.1", true},  // the loopback reserve
		{"127.0.0.1", false},
	}
	for i, s := range steps {
		if _, ok := dialFrom(t, addr, s.src); ok != s.want {
			t.Fatalf("step %d from %s: admitted %v, want %v", i, s.src, ok, s.want)
		}
	}
	if l.Held() != 4 || l.Refused() != 3 {
		t.Errorf("held %d, refused %d; want 4, 3", l.Held(), l.Refused())
	}
}

func TestCloseGivesThePlaceBack(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := connlimit.Wrap(inner, connlimit.Limits{Max: 1})
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("hi"))
			go func() { io.Copy(io.Discard, c); c.Close(); c.Close() }()
		}
	}()
	c, ok := dialFrom(t, l.Addr().String(), "127.0.0.2")
	if !ok {
		t.Fatal("first connection refused")
	}
	if _, ok := dialFrom(t, l.Addr().String(), "127.0.0.3"); ok {
		t.Fatal("second connection admitted beyond Max 1")
	}
	c.Close()
	for deadline := time.Now().Add(10 * time.Second); l.Held() != 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) { // a hang, not a speed limit
			t.Fatal("the closed connection still counts")
		}
	}
	if _, ok := dialFrom(t, l.Addr().String(), "127.0.0.3"); !ok {
		t.Fatal("connection refused after the first one closed")
	}
}
