package node_test

import (
	"context"
	"encoding/binary"
	"io"
	"testing"

	"github.com/idres/idres/cmd/idresd/node"
)

// serverSettings reads the HTTP/2 SETTINGS the node's gRPC listener sends
// first on a new connection.
func serverSettings(t *testing.T, addr string) map[uint16]uint32 {
	t.Helper()
	c := dialFrom(t, addr, "127.0.0.1")
	if c == nil {
		t.Fatal("connection refused")
	}
	var h [9]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		t.Fatal(err)
	}
	length, typ := int(h[0])<<16|int(h[1])<<8|int(h[2]), h[3]
	if typ != 4 { // SETTINGS
		t.Fatalf("first frame of type %d, want SETTINGS", typ)
	}
	p := make([]byte, length)
	if _, err := io.ReadFull(c, p); err != nil {
		t.Fatal(err)
	}
	s := map[uint16]uint32{}
	for ; len(p) >= 6; p = p[6:] {
		s[binary.BigEndian.Uint16(p)] = binary.BigEndian.Uint32(p[2:])
	}
	return s
}

// TestStreamLimitsAdvertised: the node bounds the streams one connection
// may open (SETTINGS_MAX_CONCURRENT_STREAMS) and the bytes each may have
// sent unread (SETTINGS_INITIAL_WINDOW_SIZE, fixed: gRPC's automatic
// window growth would let each stream's window reach 16 MiB).
func TestStreamLimitsAdvertised(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name                string
		sc                  node.SecurityConfig
		wantStreams, window uint32
	}{
		{"defaults", node.SecurityConfig{}, node.DefaultMaxStreams, node.DefaultStreamWindow},
		{"set", node.SecurityConfig{MaxStreams: 5, StreamWindow: 128 << 10}, 5, 128 << 10},
	} {
		n, err := node.Start(node.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", Logger: quietLog, Security: tt.sc})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Stop(context.Background()) })
		const maxStreams, initialWindow = 3, 4
		s := serverSettings(t, n.GRPCAddr())
		if got, ok := s[maxStreams]; !ok || got != tt.wantStreams {
			t.Errorf("%s: MAX_CONCURRENT_STREAMS %d (sent: %v), want %d", tt.name, got, ok, tt.wantStreams)
		}
		if got := s[initialWindow]; got != tt.window {
			t.Errorf("%s: INITIAL_WINDOW_SIZE %d, want %d", tt.name, got, tt.window)
		}
	}
}
