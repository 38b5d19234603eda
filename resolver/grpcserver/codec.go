package grpcserver

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	protoenc "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// A request whose string field is not valid UTF-8 is the caller's
// mistake, InvalidArgument. grpc-go answers Internal itself when a codec
// fails, before any interceptor runs, and protobuf-go cannot be told to
// accept such a string in a proto3 field. So the node's codec (Codec)
// decodes the request with each invalid string made valid (U+FFFD for
// each bad byte sequence) and marks the message as refused; StatusUnary
// and StatusStream find the mark before the handler sees the message and
// answer InvalidArgument "field F is not valid UTF-8". The mark is an
// unknown field whose value starts with a random number drawn at start,
// so a client cannot forge one.

// Codec is the node's server codec (grpc.ForceServerCodecV2): protobuf,
// except that invalid UTF-8 in a string field is marked as above rather
// than failing the call as Internal.
func Codec() encoding.CodecV2 { return codec{base: encoding.GetCodecV2(protoenc.Name)} }

type codec struct{ base encoding.CodecV2 }

func (c codec) Name() string                           { return c.base.Name() }
func (c codec) Marshal(v any) (mem.BufferSlice, error) { return c.base.Marshal(v) }

func (c codec) Unmarshal(data mem.BufferSlice, v any) error {
	err := c.base.Unmarshal(data, v)
	var bad interface{ InvalidUTF8() bool }
	if err == nil || !errors.As(err, &bad) || !bad.InvalidUTF8() {
		return err
	}
	m, ok := v.(proto.Message)
	if !ok {
		return err
	}
	fixed, field := validUTF8(m.ProtoReflect().Descriptor(), data.Materialize(), "", 0)
	if field == "" {
		return err
	}
	if proto.Unmarshal(fixed, m) != nil {
		return err
	}
	r := m.ProtoReflect()
	mark := protowire.AppendTag(r.GetUnknown(), markField, protowire.BytesType)
	r.SetUnknown(protowire.AppendBytes(mark, append(markNonce[:len(markNonce):len(markNonce)], field...)))
	return nil
}

// markField is the field number of the mark: the largest there is, which
// no idres message uses.
const markField = protowire.MaxValidNumber

var markNonce = func() (b [16]byte) {
	rand.Read(b[:])
	return b
}()

// maxUTF8Depth bounds validUTF8's recursion into nested messages; deeper
// messages keep protobuf's own error (Internal). idres's are a few deep.
const maxUTF8Depth = 32

// validUTF8 is the message b of type md with every string field that is
// not valid UTF-8 made valid, and the path of the first such field
// ("requests.request.identifier"); nil, "" when b is malformed otherwise.
func validUTF8(md protoreflect.MessageDescriptor, b []byte, path string, depth int) ([]byte, string) {
	if depth > maxUTF8Depth {
		return nil, ""
	}
	out := make([]byte, 0, len(b))
	first := ""
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, ""
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return nil, ""
		}
		fd := md.Fields().ByNumber(num)
		if fd == nil || typ != protowire.BytesType || fd.Kind() != protoreflect.StringKind && fd.Kind() != protoreflect.MessageKind {
			out = append(out, b[:n+m]...)
			b = b[n+m:]
			continue
		}
		v, _ := protowire.ConsumeBytes(b[n:])
		name := string(fd.Name())
		if path != "" {
			name = path + "." + name
		}
		bad := ""
		if fd.Kind() == protoreflect.StringKind {
			if !utf8.Valid(v) {
				v, bad = []byte(strings.ToValidUTF8(string(v), "\uFFFD")), name
			}
		} else if v, bad = validUTF8(fd.Message(), v, name, depth+1); v == nil {
			return nil, ""
		}
		if first == "" {
			first = bad
		}
		out = protowire.AppendBytes(protowire.AppendTag(out, num, typ), v)
		b = b[n+m:]
	}
	return out, first
}

// invalidUTF8 is the InvalidArgument answer to a message Codec marked,
// nil for any other message. It removes the mark.
func invalidUTF8(v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		return nil
	}
	r := m.ProtoReflect()
	unknown := r.GetUnknown()
	for b := unknown; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil
		}
		l := protowire.ConsumeFieldValue(num, typ, b[n:])
		if l < 0 {
			return nil
		}
		if num == markField && typ == protowire.BytesType {
			v, _ := protowire.ConsumeBytes(b[n:])
			if field, ok := bytes.CutPrefix(v, markNonce[:]); ok {
				start := len(unknown) - len(b)
				r.SetUnknown(append(unknown[:start:start], b[n+l:]...))
				return status.Error(codes.InvalidArgument, fmt.Sprintf("invalid argument: field %s is not valid UTF-8", field))
			}
		}
		b = b[n+l:]
	}
	return nil
}

// utf8Stream refuses a received message that Codec marked.
type utf8Stream struct{ grpc.ServerStream }

func (s utf8Stream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return invalidUTF8(m)
}
