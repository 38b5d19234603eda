package node_test

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/idres/idres/cmd/idresd/node"
	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// rawCodec sends and receives messages as the bytes they are, so a test
// can send what the generated client refuses to marshal.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*v.(*[]byte))}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*[]byte) = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }

// badIdentifier is a ResolveRequest whose identifier (field 1) is not
// valid UTF-8.
func badIdentifier() []byte {
	return protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), []byte("88.100/\xff\xfe"))
}

// TestInvalidUTF8IsInvalidArgument: a request with a string field that
// is not UTF-8 is the caller's mistake, answered InvalidArgument naming
// the field, over unary and streaming calls alike; the node goes on.
func TestInvalidUTF8IsInvalidArgument(t *testing.T) {
	t.Parallel()
	n, err := node.Start(node.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop(context.Background()) })
	conn, err := grpc.NewClient("passthrough:///"+n.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(rawCodec{})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	req, resp := badIdentifier(), []byte(nil)
	err = conn.Invoke(ctxT(t), idresv1.Resolver_Resolve_FullMethodName, &req, &resp)
	if st, _ := status.FromError(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "identifier") || !strings.Contains(st.Message(), "UTF-8") {
		t.Errorf("Resolve: %v, want InvalidArgument naming identifier and UTF-8", err)
	}

	// ResolveStreamRequest{requests: [{request_id: 7, request: <bad>}]}
	tagged := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 7)
	tagged = protowire.AppendBytes(protowire.AppendTag(tagged, 2, protowire.BytesType), badIdentifier())
	msg := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), tagged)
	st, err := conn.NewStream(ctxT(t), &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, idresv1.Resolver_ResolveStream_FullMethodName)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SendMsg(&msg); err != nil {
		t.Fatal(err)
	}
	err = st.RecvMsg(&resp)
	if s, _ := status.FromError(err); s.Code() != codes.InvalidArgument || !strings.Contains(s.Message(), "requests.request.identifier") {
		t.Errorf("ResolveStream: %v, want InvalidArgument naming requests.request.identifier", err)
	}

	// Still answering, and a valid request with U+FFFD in it is no error.
	good := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "88.100/\uFFFD")
	if err := conn.Invoke(ctxT(t), idresv1.Resolver_Resolve_FullMethodName, &good, &resp); err != nil {
		t.Errorf("valid request after the bad ones: %v", err)
	}
	// A client cannot pass off a mark of its own: the field the node marks
	// refused requests with is only an unknown field when a client sends it.
	forged := protowire.AppendBytes(protowire.AppendTag(good, protowire.MaxValidNumber, protowire.BytesType), []byte("0123456789abcdefidentifier"))
	if err := conn.Invoke(ctxT(t), idresv1.Resolver_Resolve_FullMethodName, &forged, &resp); err != nil {
		t.Errorf("valid request with an unknown field: %v", err)
	}
}
