package main

import (
	"fmt"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// tagCodec is the stream load generator's codec. Requests are encoded as
// usual; answers are read into tagAnswers, only as far as each one's tag
// and outcome. Decoding whole records was two thirds of the load
// generator's CPU, which shares the machine with the node it measures.
type tagCodec struct{}

// tagAnswers is a ResolveStreamResponse as tagCodec reads it.
type tagAnswers struct {
	items []tagAnswer
}

type tagAnswer struct {
	requestID uint64
	outcome   idresv1.Outcome
}

func (tagCodec) Name() string { return "proto" }

func (tagCodec) Marshal(v any) (mem.BufferSlice, error) {
	return encoding.GetCodecV2("proto").Marshal(v)
}

func (tagCodec) Unmarshal(data mem.BufferSlice, v any) error {
	a, ok := v.(*tagAnswers)
	if !ok {
		return encoding.GetCodecV2("proto").Unmarshal(data, v)
	}
	buf := data.Materialize()
	a.items = a.items[:0]
	return eachField(buf, func(num protowire.Number, typ protowire.Type, b []byte) error {
		if num != 1 || typ != protowire.BytesType { // TaggedResolveResponse responses = 1
			return nil
		}
		var t tagAnswer
		err := eachField(b, func(num protowire.Number, typ protowire.Type, b []byte) error {
			switch {
			case num == 1 && typ == protowire.VarintType: // request_id
				t.requestID, _ = protowire.ConsumeVarint(b)
			case num == 2 && typ == protowire.BytesType: // ResolveResponse response
				return eachField(b, func(num protowire.Number, typ protowire.Type, b []byte) error {
					if num == 1 && typ == protowire.VarintType { // outcome
						o, _ := protowire.ConsumeVarint(b)
						t.outcome = idresv1.Outcome(o)
					}
					return nil
				})
			}
			return nil
		})
		a.items = append(a.items, t)
		return err
	})
}

// eachField calls fn with each field of the message in b: its number,
// wire type and value (a varint's bytes, or a length-delimited field's
// contents).
func eachField(b []byte, fn func(protowire.Number, protowire.Type, []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("answer: %w", protowire.ParseError(n))
		}
		b = b[n:]
		var val []byte
		if typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return fmt.Errorf("answer: %w", protowire.ParseError(m))
			}
			val, n = v, m
		} else {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return fmt.Errorf("answer: %w", protowire.ParseError(n))
			}
			val = b[:n]
		}
		if err := fn(num, typ, val); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}
