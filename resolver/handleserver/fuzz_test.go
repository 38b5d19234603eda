package handleserver

import (
	"context"
	"os"
	"testing"

	"github.com/idres/idres/resolver/handlewire"
)

// FuzzAnswer feeds arbitrary requests to the handler: it must never
// panic, must answer every request that holds an envelope with a
// well-formed response in a version it speaks, echoing the request id,
// never longer than the protocol allows, and truncated for UDP to at
// most one datagram.
func FuzzAnswer(f *testing.F) {
	h := newHandler(f, Config{})
	for _, name := range []string{"hdllib-resolve-2.5-tcp.bin", "hdllib-resolve-2.1-udp.bin", "hdllib-siteinfo-2.5-tcp.bin"} {
		raw, err := os.ReadFile("../handlewire/testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	for _, id := range []string{"88.100/PUMP-0042", "88.100/old", "88.100.1/x", "0.NA/88.100.1.5", "88.100.1", "88.100/big", "x"} {
		f.Add(request{flags: handlewire.FlagRequestDigest, body: resolution(id, []string{"URL", "HS_SITE."}, 1)}.encode())
		f.Add(request{version: v(2, 0), body: resolution(id, nil)}.encode())
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		out, rc := h.Answer(context.Background(), raw)
		if len(raw) < handlewire.EnvelopeSize {
			if out != nil {
				t.Fatalf("answered %x to %d bytes", out, len(raw))
			}
			return
		}
		r := decodeResponse(t, out)
		req, _ := handlewire.DecodeEnvelope(raw)
		if r.env.RequestID != req.RequestID || r.env.SessionID != req.SessionID || r.msg.ResponseCode != rc || rc == handlewire.RCReserved {
			t.Fatalf("ids %d/%d rc %d (Answer says %d) to a request with ids %d/%d", r.env.RequestID, r.env.SessionID, r.msg.ResponseCode, rc, req.RequestID, req.SessionID)
		}
		if r.env.Version.Major != 2 || r.env.Version.Minor > handlewire.Latest.Minor {
			t.Fatalf("answered in %v", r.env.Version)
		}
		if len(out)-handlewire.EnvelopeSize > handlewire.MaxMessageLength {
			t.Fatalf("response of %d bytes", len(out))
		}
		if u := Truncate(out); len(u) > handlewire.MaxUDPPacket {
			t.Fatalf("truncated answer of %d bytes", len(u))
		}
	})
}
