package node_test

import (
	"slices"
	"testing"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
)

// TestHealth: the standard grpc.health.v1 service answers SERVING for the
// node as a whole, without a credential.
func TestHealth(t *testing.T) {
	g := startGRPCNode(t)
	resp, err := healthpb.NewHealthClient(g.anon.Conn()).Check(ctxT(t), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health = %v, want SERVING", resp.Status)
	}
}

// TestReflection lists services the way `grpcurl -plaintext ADDR list` does.
func TestReflection(t *testing.T) {
	g := startGRPCNode(t)
	stream, err := reflectionpb.NewServerReflectionClient(g.anon.Conn()).ServerReflectionInfo(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{ListServices: "*"},
	}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	stream.CloseSend()
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.Name)
	}
	for _, want := range []string{"idres.v1.Resolver", "idres.v1.Registry", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"} {
		if !slices.Contains(names, want) {
			t.Errorf("reflection lists %q, missing %s", names, want)
		}
	}

	// The file descriptor of the Resolver is served, so grpcurl can describe it.
	if err := func() error {
		s, err := reflectionpb.NewServerReflectionClient(g.anon.Conn()).ServerReflectionInfo(ctxT(t))
		if err != nil {
			return err
		}
		defer s.CloseSend()
		if err := s.Send(&reflectionpb.ServerReflectionRequest{
			MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "idres.v1.Resolver"},
		}); err != nil {
			return err
		}
		r, err := s.Recv()
		if err != nil {
			return err
		}
		if len(r.GetFileDescriptorResponse().GetFileDescriptorProto()) == 0 {
			t.Errorf("no file descriptor for idres.v1.Resolver: %v", r)
		}
		return nil
	}(); err != nil {
		t.Fatal(err)
	}
}
