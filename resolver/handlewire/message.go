package handlewire

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrFormat is wrapped by every decoding failure: the bytes are not a
// well-formed message (RC_PROTOCOL_ERROR to the sender).
var ErrFormat = errors.New("malformed Handle message")

func formatErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, args...))
}

// Version is a protocol version, e.g. {2, 5}.
type Version struct{ Major, Minor uint8 }

// Versions this package speaks: requests in 2.0 to 2.5 are answered in
// their own version; a newer 2.x is answered in Latest.
var (
	Oldest = Version{2, 0}
	Latest = Version{2, 5}
)

// AtLeast reports whether v is maj.min or later.
func (v Version) AtLeast(maj, min uint8) bool {
	return v.Major > maj || v.Major == maj && v.Minor >= min
}

func (v Version) String() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// Envelope is the 20 bytes in front of every message (RFC 3652 §2.2.1).
type Envelope struct {
	Version Version
	// Flags holds EnvCompressed, EnvEncrypted and EnvTruncated.
	Flags uint8
	// Suggest is the version the sender would rather speak (2.5+: the low
	// bits of the flags octet and the next octet); zero when absent.
	Suggest        Version
	SessionID      uint32
	RequestID      uint32
	SequenceNumber uint32
	// MessageLength is the length of the message after the envelope (for
	// a multi-packet UDP message, of the whole message).
	MessageLength uint32
}

// DecodeEnvelope reads an envelope from the first EnvelopeSize bytes of b.
func DecodeEnvelope(b []byte) (Envelope, error) {
	if len(b) < EnvelopeSize {
		return Envelope{}, formatErr("envelope of %d bytes", len(b))
	}
	e := Envelope{
		Version:        Version{b[0], b[1]},
		Flags:          b[2] & envelopeFlagsMask,
		Suggest:        Version{b[2] & envelopeSuggestMask, b[3]},
		SessionID:      binary.BigEndian.Uint32(b[4:]),
		RequestID:      binary.BigEndian.Uint32(b[8:]),
		SequenceNumber: binary.BigEndian.Uint32(b[12:]),
		MessageLength:  binary.BigEndian.Uint32(b[16:]),
	}
	if e.Suggest.Major == 0 {
		e.Suggest = Version{}
	}
	if e.MessageLength > MaxMessageLength {
		return e, formatErr("message length %d over %d", e.MessageLength, MaxMessageLength)
	}
	return e, nil
}

// Append writes e to b.
func (e Envelope) Append(b []byte) []byte {
	b = append(b, e.Version.Major, e.Version.Minor, e.Flags&envelopeFlagsMask|e.Suggest.Major&envelopeSuggestMask, e.Suggest.Minor)
	b = binary.BigEndian.AppendUint32(b, e.SessionID)
	b = binary.BigEndian.AppendUint32(b, e.RequestID)
	b = binary.BigEndian.AppendUint32(b, e.SequenceNumber)
	return binary.BigEndian.AppendUint32(b, e.MessageLength)
}

// Header is the 24 bytes in front of a message's body (RFC 3652 §2.2.2).
type Header struct {
	OpCode         uint32
	ResponseCode   uint32
	OpFlags        uint32
	SiteInfoSerial uint16
	RecursionCount uint8
	// Expiration is when the message stops being valid, in seconds since
	// 1970 UTC. hdllib refuses a response whose expiration has passed.
	Expiration uint32
	BodyLength uint32
}

// Append writes h to b.
func (h Header) Append(b []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, h.OpCode)
	b = binary.BigEndian.AppendUint32(b, h.ResponseCode)
	b = binary.BigEndian.AppendUint32(b, h.OpFlags)
	b = binary.BigEndian.AppendUint16(b, h.SiteInfoSerial)
	b = append(b, h.RecursionCount, 0)
	b = binary.BigEndian.AppendUint32(b, h.Expiration)
	return binary.BigEndian.AppendUint32(b, h.BodyLength)
}

// Message is a decoded message: its header, body and credential. Body
// and Credential alias the decoded bytes.
type Message struct {
	Header
	Body []byte
	// Credential is the credential section's content, nil when the
	// message has none (or an empty one).
	Credential []byte
	// Signed is the header and body as sent: what a request digest and
	// a signature cover.
	Signed []byte
}

// DecodeMessage reads the message that follows an envelope: exactly the
// envelope's MessageLength bytes.
func DecodeMessage(b []byte) (Message, error) {
	if len(b) < HeaderSize {
		return Message{}, formatErr("message of %d bytes, shorter than its header", len(b))
	}
	var m Message
	m.OpCode = binary.BigEndian.Uint32(b)
	m.ResponseCode = binary.BigEndian.Uint32(b[4:])
	m.OpFlags = binary.BigEndian.Uint32(b[8:])
	m.SiteInfoSerial = binary.BigEndian.Uint16(b[12:])
	m.RecursionCount = b[14]
	m.Expiration = binary.BigEndian.Uint32(b[16:])
	m.BodyLength = binary.BigEndian.Uint32(b[20:])
	rest := b[HeaderSize:]
	if uint64(m.BodyLength) > uint64(len(rest)) {
		return m, formatErr("body length %d, %d bytes left", m.BodyLength, len(rest))
	}
	m.Body = rest[:m.BodyLength]
	m.Signed = b[:HeaderSize+int(m.BodyLength)]
	rest = rest[m.BodyLength:]
	if len(rest) == 0 {
		return m, nil
	}
	r := reader{b: rest}
	cred := r.bytes("credential")
	if r.err != nil {
		return m, r.err
	}
	if len(r.b) != 0 {
		return m, formatErr("%d bytes after the credential", len(r.b))
	}
	if len(cred) > 0 {
		m.Credential = cred
	}
	return m, nil
}

// RequestDigest is the digest a response carries of request m when m
// asks for one (FlagRequestDigest), nil otherwise: SHA-256 from protocol
// 2.5 on, SHA-1 before (hdllib checks it against what it sent).
func RequestDigest(v Version, m *Message) []byte {
	if m.OpFlags&FlagRequestDigest == 0 || !v.AtLeast(2, 1) {
		return nil
	}
	if v.AtLeast(2, 5) {
		sum := sha256.Sum256(m.Signed)
		return append([]byte{DigestSHA256}, sum[:]...)
	}
	sum := sha1.Sum(m.Signed)
	return append([]byte{DigestSHA1}, sum[:]...)
}

// SplitDigest removes a response body's leading request digest when its
// header says it has one, returning the digest (algorithm octet first)
// and the rest of the body.
func SplitDigest(m *Message) (digest, body []byte, err error) {
	if m.OpFlags&FlagRequestDigest == 0 || m.ResponseCode == RCReserved {
		return nil, m.Body, nil
	}
	if len(m.Body) == 0 {
		return nil, nil, formatErr("request digest missing")
	}
	var n int
	switch m.Body[0] {
	case DigestMD5:
		n = 16
	case DigestSHA1:
		n = 20
	case DigestSHA256:
		n = 32
	default:
		return nil, nil, formatErr("request digest algorithm %d", m.Body[0])
	}
	if len(m.Body) < 1+n {
		return nil, nil, formatErr("request digest truncated")
	}
	return m.Body[:1+n], m.Body[1+n:], nil
}

// ResolutionRequest is the body of an OC_RESOLUTION request (RFC 3652
// §3.1): a value matches when its index is in Indexes or its type is in
// Types (or is a subtype of a listed "type." prefix); both empty means
// every value.
type ResolutionRequest struct {
	Handle  []byte
	Indexes []uint32
	Types   [][]byte
}

// DecodeResolutionRequest reads a resolution request's body.
func DecodeResolutionRequest(body []byte) (ResolutionRequest, error) {
	r := reader{b: body}
	var q ResolutionRequest
	q.Handle = r.bytes("handle")
	n := r.count("index list", 4)
	for i := 0; i < n && r.err == nil; i++ {
		q.Indexes = append(q.Indexes, r.u32("index"))
	}
	n = r.count("type list", 4)
	for i := 0; i < n && r.err == nil; i++ {
		q.Types = append(q.Types, r.bytes("type"))
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = formatErr("%d bytes after the type list", len(r.b))
	}
	return q, r.err
}

// Append writes q as a body.
func (q ResolutionRequest) Append(b []byte) []byte {
	b = appendBytes(b, q.Handle)
	b = binary.BigEndian.AppendUint32(b, uint32(len(q.Indexes)))
	for _, i := range q.Indexes {
		b = binary.BigEndian.AppendUint32(b, i)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(q.Types)))
	for _, t := range q.Types {
		b = appendBytes(b, t)
	}
	return b
}

// Value is a handle value (RFC 3651 §3.1).
type Value struct {
	Index     uint32
	Timestamp uint32
	// TTLType 0 is a relative TTL in seconds, 1 an absolute expiry time.
	TTLType     uint8
	TTL         uint32
	Permissions uint8
	Type        []byte
	Data        []byte
	References  []Reference
}

// Reference names another handle's value.
type Reference struct {
	Handle []byte
	Index  uint32
}

// Size is v's encoded length.
func (v *Value) Size() int {
	n := 4 + 4 + 1 + 4 + 1 + 4 + len(v.Type) + 4 + len(v.Data) + 4
	for _, r := range v.References {
		n += 4 + len(r.Handle) + 4
	}
	return n
}

// AppendValue writes v to b.
func AppendValue(b []byte, v *Value) []byte {
	b = binary.BigEndian.AppendUint32(b, v.Index)
	b = binary.BigEndian.AppendUint32(b, v.Timestamp)
	b = append(b, v.TTLType)
	b = binary.BigEndian.AppendUint32(b, v.TTL)
	b = append(b, v.Permissions)
	b = appendBytes(b, v.Type)
	b = appendBytes(b, v.Data)
	b = binary.BigEndian.AppendUint32(b, uint32(len(v.References)))
	for _, r := range v.References {
		b = appendBytes(b, r.Handle)
		b = binary.BigEndian.AppendUint32(b, r.Index)
	}
	return b
}

func (r *reader) value() Value {
	var v Value
	v.Index = r.u32("value index")
	v.Timestamp = r.u32("value timestamp")
	v.TTLType = r.u8("TTL type")
	v.TTL = r.u32("TTL")
	v.Permissions = r.u8("permissions")
	v.Type = r.bytes("value type")
	v.Data = r.bytes("value data")
	n := r.count("references", 8)
	for i := 0; i < n && r.err == nil; i++ {
		v.References = append(v.References, Reference{Handle: r.bytes("reference handle"), Index: r.u32("reference index")})
	}
	return v
}

// DecodeValues reads a count and that many values, returning the bytes
// after them.
func DecodeValues(b []byte) ([]Value, []byte, error) {
	r := reader{b: b}
	n := r.count("values", 22)
	var vs []Value
	for i := 0; i < n && r.err == nil; i++ {
		vs = append(vs, r.value())
	}
	return vs, r.b, r.err
}

// HandleValues is a handle and its values: the body of a resolution
// response, and of a referral (whose handle is the prefix handle that
// refers).
type HandleValues struct {
	Handle []byte
	Values []Value
}

// Append writes h as a body.
func (h *HandleValues) Append(b []byte) []byte {
	b = appendBytes(b, h.Handle)
	b = binary.BigEndian.AppendUint32(b, uint32(len(h.Values)))
	for i := range h.Values {
		b = AppendValue(b, &h.Values[i])
	}
	return b
}

// DecodeHandleValues reads a resolution or referral response's body
// (after any request digest).
func DecodeHandleValues(body []byte) (HandleValues, error) {
	r := reader{b: body}
	var h HandleValues
	h.Handle = r.bytes("handle")
	if r.err != nil {
		return h, r.err
	}
	if len(r.b) == 0 {
		return h, nil // a referral may carry no values
	}
	vs, rest, err := DecodeValues(r.b)
	if err != nil {
		return h, err
	}
	if len(rest) != 0 {
		return h, formatErr("%d bytes after the values", len(rest))
	}
	h.Values = vs
	return h, nil
}

// AppendError writes an error response's body: its message.
func AppendError(b []byte, msg string) []byte { return appendBytes(b, []byte(msg)) }

// DecodeError reads an error response's body (empty in some 2.0 answers).
func DecodeError(body []byte) string {
	r := reader{b: body}
	msg := r.bytes("error message")
	if r.err != nil {
		return ""
	}
	return string(msg)
}

// DecodeGenericRequest reads the body of a request that names only a
// handle (OC_GET_SITEINFO and the session and NA requests): its handle,
// or nil when the body is empty.
func DecodeGenericRequest(body []byte) ([]byte, error) {
	if len(body) == 0 {
		return nil, nil
	}
	r := reader{b: body}
	h := r.bytes("handle")
	return h, r.err
}

// AppendGenericRequest writes the body of a request that names only a
// handle (hdllib sends "/" in OC_GET_SITEINFO).
func AppendGenericRequest(b, handle []byte) []byte { return appendBytes(b, handle) }

// AppendGlobalValues writes values as hdllib's root_info file (the
// values of 0.NA/0.NA a client starts its resolution from): a length, a
// count and the values.
func AppendGlobalValues(b []byte, values []Value) []byte {
	n := 4
	for i := range values {
		n += values[i].Size()
	}
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	b = binary.BigEndian.AppendUint32(b, uint32(len(values)))
	for i := range values {
		b = AppendValue(b, &values[i])
	}
	return b
}

// DecodeGlobalValues reads a root_info file.
func DecodeGlobalValues(b []byte) ([]Value, error) {
	r := reader{b: b}
	n := r.u32("length")
	if r.err != nil {
		return nil, r.err
	}
	if uint64(n) != uint64(len(r.b)) {
		return nil, formatErr("root info says %d bytes, has %d", n, len(r.b))
	}
	vs, rest, err := DecodeValues(r.b)
	if err == nil && len(rest) != 0 {
		err = formatErr("%d bytes after the values", len(rest))
	}
	return vs, err
}

func appendBytes(b, s []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// reader decodes big-endian fields, remembering the first error; every
// later read returns zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) need(n int, what string) bool {
	if r.err != nil {
		return false
	}
	if len(r.b) < n {
		r.err = formatErr("%s truncated", what)
		return false
	}
	return true
}

func (r *reader) u8(what string) uint8 {
	if !r.need(1, what) {
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) u16(what string) uint16 {
	if !r.need(2, what) {
		return 0
	}
	v := binary.BigEndian.Uint16(r.b)
	r.b = r.b[2:]
	return v
}

func (r *reader) u32(what string) uint32 {
	if !r.need(4, what) {
		return 0
	}
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *reader) bytes(what string) []byte {
	n := r.u32(what + " length")
	if r.err != nil {
		return nil
	}
	if uint64(n) > uint64(len(r.b)) {
		r.err = formatErr("%s of %d bytes, %d left", what, n, len(r.b))
		return nil
	}
	if n == 0 {
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// count reads an element count, refusing one that could not fit the
// bytes left at minSize bytes per element.
func (r *reader) count(what string, minSize int) int {
	n := r.u32(what + " count")
	if r.err != nil {
		return 0
	}
	if uint64(n)*uint64(minSize) > uint64(len(r.b)) {
		r.err = formatErr("%d %s in %d bytes", n, what, len(r.b))
		return 0
	}
	return int(n)
}
