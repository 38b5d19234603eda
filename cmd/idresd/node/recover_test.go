package node

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestRecoverAnswersInternalLogsAndCounts(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	panics, err := newPanicCounter(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	intercept := recoverUnary(log, panics)
	info := &grpc.UnaryServerInfo{FullMethod: "/idres.v1.Resolver/Resolve"}

	_, err = intercept(context.Background(), nil, info, func(context.Context, any) (any, error) {
		panic("boom: secret internals")
	})
	if status.Code(err) != codes.Internal || strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v, want Internal without the panic text", err)
	}
	if got := testutil.ToFloat64(panics); got != 1 {
		t.Fatalf("panics counter = %v, want 1", got)
	}
	if !strings.Contains(logs.String(), "boom") || !strings.Contains(logs.String(), "recover_test.go") {
		t.Fatalf("log lacks the panic and its stack:\n%s", logs.String())
	}

	resp, err := intercept(context.Background(), nil, info, func(context.Context, any) (any, error) { return "ok", nil })
	if err != nil || resp != "ok" || testutil.ToFloat64(panics) != 1 {
		t.Fatalf("normal call: %v %v, counter %v", resp, err, testutil.ToFloat64(panics))
	}
}
