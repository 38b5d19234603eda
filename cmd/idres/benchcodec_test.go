package main

import (
	"slices"
	"testing"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// tagsOf is what tagCodec should read from a response: each answer's
// tag and outcome, as the full decoding gives them.
func tagsOf(r *idresv1.ResolveStreamResponse) []tagAnswer {
	var out []tagAnswer
	for _, a := range r.GetResponses() {
		out = append(out, tagAnswer{requestID: a.GetRequestId(), outcome: a.GetResponse().GetOutcome()})
	}
	return out
}

func TestTagCodec(t *testing.T) {
	cases := map[string]*idresv1.ResolveStreamResponse{
		"empty": {},
		"answers": {Responses: []*idresv1.TaggedResolveResponse{
			{RequestId: 1, Response: &idresv1.ResolveResponse{Outcome: idresv1.Outcome_OUTCOME_OK, Identifier: "88.1/a",
				Values: []*idresv1.Value{{Index: 1, Type: "URL", Data: []byte("https://example.com/a")}}, Authoritative: true, Ttl: 60}},
			{RequestId: 2, Response: &idresv1.ResolveResponse{Outcome: idresv1.Outcome_OUTCOME_NOT_FOUND, Identifier: "88.1/b"}},
			{RequestId: 1 << 40},
		}},
	}
	for name, r := range cases {
		t.Run(name, func(t *testing.T) {
			raw, err := proto.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			var got tagAnswers
			if err := (tagCodec{}).Unmarshal(mem.BufferSlice{mem.SliceBuffer(raw)}, &got); err != nil {
				t.Fatal(err)
			}
			if want := tagsOf(r); !slices.Equal(got.items, want) {
				t.Errorf("got %v, want %v", got.items, want)
			}
		})
	}
	var got tagAnswers
	if err := (tagCodec{}).Unmarshal(mem.BufferSlice{mem.SliceBuffer([]byte{0x0a, 0x05, 0x08})}, &got); err == nil {
		t.Error("a truncated answer was read without error")
	}
}

// FuzzTagCodec: whatever the bytes, tagCodec does not panic, and on
// bytes that protobuf reads as a response it reads the same tags and
// outcomes.
func FuzzTagCodec(f *testing.F) {
	seed, _ := proto.Marshal(&idresv1.ResolveStreamResponse{Responses: []*idresv1.TaggedResolveResponse{
		{RequestId: 7, Response: &idresv1.ResolveResponse{Outcome: idresv1.Outcome_OUTCOME_OK, Identifier: "88.1/x"}},
	}})
	f.Add(seed)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		var got tagAnswers
		err := (tagCodec{}).Unmarshal(mem.BufferSlice{mem.SliceBuffer(raw)}, &got)
		var r idresv1.ResolveStreamResponse
		if proto.Unmarshal(raw, &r) != nil {
			return
		}
		if err != nil {
			t.Fatalf("protobuf reads %x, tagCodec fails: %v", raw, err)
		}
		if want := tagsOf(&r); !slices.Equal(got.items, want) {
			t.Fatalf("%x: got %v, want %v", raw, got.items, want)
		}
	})
}
