package handleclient

import (
	"encoding/binary"
	"testing"

	"github.com/idres/idres/resolver/handlewire"
)

// FuzzAssemble feeds the UDP assembler datagrams (each a 2-byte length
// and its bytes): it never panics, and what it completes is a message
// of exactly the length its envelopes announced, every byte of it sent.
func FuzzAssemble(f *testing.F) {
	req := handlewire.Message{Header: handlewire.Header{OpCode: handlewire.OpResolution}}
	env := handlewire.Envelope{Version: handlewire.Latest, RequestID: 42}
	for _, n := range []int{5, 600, 1500} {
		frame := replyFrame(env, req, bigValue(n))
		var in []byte
		dgs := datagrams(frame)
		for i := len(dgs) - 1; i >= 0; i-- {
			in = binary.BigEndian.AppendUint16(in, uint16(len(dgs[i])))
			in = append(in, dgs[i]...)
		}
		f.Add(in)
		// The whole message in one datagram, too.
		f.Add(append(binary.BigEndian.AppendUint16(nil, uint16(len(frame))), frame...))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		a := assembler{id: 42}
		sent := map[int]bool{}
		for len(in) >= 2 {
			n := int(binary.BigEndian.Uint16(in))
			in = in[2:]
			if n > len(in) {
				return
			}
			dg := in[:n]
			in = in[n:]
			r, done, err := a.add(dg)
			if !done {
				if n >= handlewire.EnvelopeSize && binary.BigEndian.Uint32(dg[8:]) == 42 && err == nil && a.msg != nil {
					seq := int(binary.BigEndian.Uint32(dg[12:]))
					for i := seq * udpData; i < seq*udpData+n-handlewire.EnvelopeSize && i < len(a.msg); i++ {
						sent[i] = true
					}
				}
				continue
			}
			if err != nil || r == nil {
				return
			}
			if uint32(len(a.msg)) != a.first.MessageLength {
				t.Fatalf("message of %d bytes, envelopes said %d", len(a.msg), a.first.MessageLength)
			}
			seq := int(binary.BigEndian.Uint32(dg[12:]))
			for i := seq * udpData; i < seq*udpData+n-handlewire.EnvelopeSize; i++ {
				sent[i] = true
			}
			for i := range a.msg {
				if !sent[i] {
					t.Fatalf("byte %d of %d never sent, message complete", i, len(a.msg))
				}
			}
			return
		}
	})
}
