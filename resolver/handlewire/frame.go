package handlewire

import "encoding/binary"

// Frame is one whole message to send: the envelope's identity and
// version, the header, and the body. AppendFrame fills in the lengths.
type Frame struct {
	Envelope Envelope
	Header   Header
	// Digest is the request digest a response carries first in its body
	// (algorithm octet first), or nil.
	Digest []byte
	Body   []byte
	// Credential is the credential section's content, or nil for none.
	Credential []byte
}

// AppendFrame writes f, envelope first, with its body and message lengths
// computed; the header's RD flag follows Digest.
func AppendFrame(b []byte, f *Frame) []byte {
	h := f.Header
	h.BodyLength = uint32(len(f.Digest) + len(f.Body))
	if f.Digest != nil {
		h.OpFlags |= FlagRequestDigest
	} else if h.ResponseCode != RCReserved {
		h.OpFlags &^= FlagRequestDigest
	}
	e := f.Envelope
	e.MessageLength = uint32(HeaderSize + int(h.BodyLength) + 4 + len(f.Credential))
	b = e.Append(b)
	b = h.Append(b)
	b = append(b, f.Digest...)
	b = append(b, f.Body...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(f.Credential)))
	return append(b, f.Credential...)
}

// SignedPart is the part of an encoded frame a signature covers (its
// header and body), given the frame's bytes as AppendFrame wrote them.
func SignedPart(frame []byte) []byte {
	if len(frame) < EnvelopeSize+HeaderSize {
		return nil
	}
	n := binary.BigEndian.Uint32(frame[EnvelopeSize+20:])
	end := EnvelopeSize + HeaderSize + int(n)
	if end > len(frame) {
		return nil
	}
	return frame[EnvelopeSize:end]
}
