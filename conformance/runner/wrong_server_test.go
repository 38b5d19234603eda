package runner_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/idres/idres/conformance/runner"
	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// wrongServer is a deliberately non-conforming node: its Registry accepts
// everything, its Resolver answers OK with no values whatever is asked,
// and it implements nothing else.
type wrongServer struct {
	idresv1.UnimplementedResolverServer
	idresv1.UnimplementedRegistryServer
}

func (wrongServer) Resolve(_ context.Context, req *idresv1.ResolveRequest) (*idresv1.ResolveResponse, error) {
	return &idresv1.ResolveResponse{Outcome: idresv1.Outcome_OUTCOME_OK, Identifier: req.Identifier, Authoritative: true}, nil
}

func (wrongServer) ListPrefixes(context.Context, *idresv1.ListPrefixesRequest) (*idresv1.ListPrefixesResponse, error) {
	return &idresv1.ListPrefixesResponse{}, nil
}

func (wrongServer) CreatePrefix(_ context.Context, req *idresv1.CreatePrefixRequest) (*idresv1.Prefix, error) {
	return req.Prefix, nil
}

func (wrongServer) DeletePrefix(_ context.Context, req *idresv1.DeletePrefixRequest) (*idresv1.DeletePrefixResponse, error) {
	if strings.HasSuffix(req.Prefix, ".stuck") {
		return nil, status.Error(codes.Internal, "internal error")
	}
	return &idresv1.DeletePrefixResponse{}, nil
}

func (wrongServer) CreateIdentifier(_ context.Context, req *idresv1.CreateIdentifierRequest) (*idresv1.Identifier, error) {
	return &idresv1.Identifier{Identifier: req.Identifier, Values: req.Values}, nil
}

func startWrongServer(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	idresv1.RegisterResolverServer(s, wrongServer{})
	idresv1.RegisterRegistryServer(s, wrongServer{})
	go s.Serve(lis)
	t.Cleanup(s.Stop)
	return lis.Addr().String()
}

const wrongCases = `
area: probe
cases:
  - name: found-is-ok
    requirements: [OUT-001]
    setup:
      - CreateIdentifier: {identifier: "{P}/x", values: [{index: 1, type: URL, data: "u"}]}
    steps:
      - resolve: {identifier: "{P}/x"}
        expect: {outcome: OK}
  - name: miss-is-not-found
    requirements: [OUT-001]
    steps:
      - resolve: {identifier: "{P}/missing"}
        expect: {outcome: NOT_FOUND}
  - name: values-expected
    requirements: [OUT-002]
    steps:
      - resolve: {identifier: "{P}/x"}
        expect: {outcome: OK, values: [{index: 1, type: URL}]}
  - name: unimplemented-call
    requirements: [HIER-001]
    steps:
      - SetDelegation: {delegation: {prefix: "{P}.sub", grpc: ["192.0.2.1:1"]}}
        expect: {prefix: "{P}.sub"}
  - name: unimplemented-in-setup
    requirements: [REG-003]
    setup:
      - UpdateValues: {identifier: "{P}/x", add: [{index: 2, type: a, data: "b"}]}
    steps:
      - resolve: {identifier: "{P}/x"}
        expect: {outcome: OK}
  - name: cleanup-fails
    requirements: [REG-004]
    setup:
      - CreatePrefix: {prefix: {prefix: "{P}.stuck"}}
    steps:
      - resolve: {identifier: "{P}/x"}
        expect: {outcome: OK}
  - name: stream-unimplemented
    requirements: [OUT-001]
    steps:
      - ResolveStream:
          - requests: [{request_id: 1, request: {identifier: "{P}/x"}}]
        expect: {merged: {responses: [{request_id: 1}]}}
  - name: wants-dns
    requirements: [OUT-001]
    steps:
      - dns: {name: "{PDNS}", type: TXT}
        expect: {rcode: NOERROR}
`

// TestWrongServerFails proves that the runner reports a non-conforming
// answer, and an Unimplemented call, as that case's failure.
func TestWrongServerFails(t *testing.T) {
	addr := startWrongServer(t)
	cases, err := runner.Parse("probe.yaml", []byte(wrongCases))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]runner.Result{}
	sum, err := runner.Run(context.Background(), runner.Target{
		Nodes:  map[string]runner.Node{runner.RoleServer: {GRPC: addr, Token: "0123456789abcdef.secret"}},
		Prefix: "wrong",
	}, cases, func(r runner.Result) { got[r.Case.Name] = r })
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	want := map[string]struct {
		status runner.Status
		reason string
	}{
		"found-is-ok":            {runner.Pass, ""},
		"miss-is-not-found":      {runner.Fail, "outcome: got \"OUTCOME_OK\", want \"NOT_FOUND\""},
		"values-expected":        {runner.Fail, "values: got 0 elements, want 1"},
		"unimplemented-call":     {runner.Fail, "got gRPC Unimplemented"},
		"unimplemented-in-setup": {runner.Fail, "setup UpdateValues"},
		"wants-dns":              {runner.Skip, "no --dns given"},
		"cleanup-fails":          {runner.Fail, "cleanup: DeletePrefix on server"},
		"stream-unimplemented":   {runner.Fail, "got gRPC Unimplemented"},
	}
	for name, w := range want {
		r, ok := got[name]
		if !ok {
			t.Errorf("%s: no result", name)
			continue
		}
		if r.Status != w.status || !strings.Contains(r.Reason, w.reason) {
			t.Errorf("%s: got %s %q, want %s containing %q", name, r.Status, r.Reason, w.status, w.reason)
		}
	}
	if sum.Passed != 1 || sum.Failed != 6 || sum.Skipped != 1 {
		t.Errorf("summary %q, want 1 passed, 6 failed, 1 skipped", sum)
	}
}
