package grpcserver_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/idres/idres/registry/credential"
	"github.com/idres/idres/registry/fault"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/registry/store/kv"
	"github.com/idres/idres/registry/template"
	"github.com/idres/idres/registry/value"
	"github.com/idres/idres/resolver/grpcserver"
)

// TestStatus pins the one error-to-status mapping: every sentinel a
// service may return, wrapped as services wrap it, gets its code; errors
// written for the caller keep their text; an unauthenticated caller sees
// only the fixed message; anything unexpected is logged with its detail
// and answered Internal without it.
func TestStatus(t *testing.T) {
	_, identErr := ident.Parse("no separator here")
	if identErr == nil {
		t.Fatal("ident.Parse accepted an identifier without a slash")
	}
	var ie *ident.Error
	if !errors.As(identErr, &ie) {
		t.Fatalf("ident.Parse error %T is not an *ident.Error", identErr)
	}
	passed := errors.New("already a status") // stands for a service's own status error
	tests := []struct {
		name string
		err  error
		code codes.Code
		// msg is the whole message the caller gets; "" means the
		// error's own text must be passed through.
		msg string
		// logged is true when the detail must go to the log instead.
		logged bool
	}{
		{name: "ident error", err: fmt.Errorf("create: %w", identErr), code: codes.InvalidArgument, msg: ie.Error()},
		{name: "invalid argument", err: fmt.Errorf("%w: prefix is required", fault.ErrInvalidArgument), code: codes.InvalidArgument},
		{name: "invalid value", err: fmt.Errorf("value 3: %w: bad URL", value.ErrInvalid), code: codes.InvalidArgument},
		{name: "bad page token", err: fmt.Errorf("search: %w", store.ErrBadPageToken), code: codes.InvalidArgument},
		{name: "template violation", err: fmt.Errorf("%w: URL missing", template.ErrViolation), code: codes.InvalidArgument},
		{name: "invalid template", err: fmt.Errorf("%w: index 0", template.ErrInvalid), code: codes.InvalidArgument},
		{name: "not found", err: fmt.Errorf("identifier %q: %w", "88.100.1/X", store.ErrNotFound), code: codes.NotFound},
		{name: "prefix not held", err: fmt.Errorf("prefix %q: %w", "88.9", store.ErrPrefixNotHeld), code: codes.NotFound},
		{name: "exists", err: fmt.Errorf("identifier %q: %w", "88.100.1/X", store.ErrExists), code: codes.AlreadyExists},
		{name: "not empty", err: fmt.Errorf("prefix %q: %w", "88.100.1", store.ErrNotEmpty), code: codes.FailedPrecondition},
		{name: "failed precondition", err: fmt.Errorf("%w: last administrator", fault.ErrFailedPrecondition), code: codes.FailedPrecondition},
		{name: "tombstoned", err: fmt.Errorf("identifier %q: %w", "88.100.1/X", store.ErrTombstoned), code: codes.FailedPrecondition},
		{name: "unsupported", err: fmt.Errorf("snapshot: %w", store.ErrUnsupported), code: codes.FailedPrecondition},
		{name: "unauthenticated hides which check failed", err: fmt.Errorf("token expired at noon: %w", credential.ErrUnauthenticated), code: codes.Unauthenticated, msg: credential.UnauthenticatedMessage},
		{name: "permission", err: fmt.Errorf("backup: %w: credential x covers prefix %q", credential.ErrPermission, "88.1"), code: codes.PermissionDenied},
		{name: "limit", err: fmt.Errorf("%w: 1001 values", fault.ErrLimit), code: codes.ResourceExhausted},
		{name: "transaction too large", err: fmt.Errorf("import: %w", kv.ErrTxnTooLarge), code: codes.ResourceExhausted},
		{name: "feed range", err: fmt.Errorf("watch from 3: %w", store.ErrFeedRange), code: codes.OutOfRange},
		{name: "unavailable", err: fmt.Errorf("%w: read-only replica", fault.ErrUnavailable), code: codes.Unavailable},
		{name: "storage unavailable", err: fmt.Errorf("commit: %w", kv.ErrUnavailable), code: codes.Unavailable},
		{name: "canceled", err: fmt.Errorf("commit: %w", context.Canceled), code: codes.Canceled, msg: "canceled"},
		{name: "deadline", err: fmt.Errorf("commit: %w", context.DeadlineExceeded), code: codes.DeadlineExceeded, msg: "deadline exceeded"},
		{name: "status passes unchanged", err: status.Error(codes.Aborted, passed.Error()), code: codes.Aborted, msg: passed.Error()},
		{name: "unexpected", err: errors.New("bbolt: page 17 at /var/lib/idres/secret-path corrupt"), code: codes.Internal, msg: "internal error", logged: true},
		{name: "unmapped store sentinel", err: fmt.Errorf("open: %w", store.ErrSchema), code: codes.Internal, msg: "internal error", logged: true},
	}
	var logBuf bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logBuf, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			logBuf.Reset()
			got := grpcserver.Status(context.Background(), tc.err)
			st, ok := status.FromError(got)
			if !ok {
				t.Fatalf("Status(%v) = %v, not a status", tc.err, got)
			}
			if st.Code() != tc.code {
				t.Errorf("code %v, want %v", st.Code(), tc.code)
			}
			want := tc.msg
			if want == "" {
				want = tc.err.Error()
			}
			if st.Message() != want {
				t.Errorf("message %q, want %q", st.Message(), want)
			}
			switch detail := tc.err.Error(); {
			case tc.logged && !strings.Contains(logBuf.String(), detail):
				t.Errorf("log %q lacks the detail %q", logBuf.String(), detail)
			case tc.logged && strings.Contains(st.Message(), "secret-path"):
				t.Errorf("message %q leaks the detail", st.Message())
			case !tc.logged && logBuf.Len() > 0:
				t.Errorf("an expected error was logged: %q", logBuf.String())
			}
		})
	}
	if got := grpcserver.Status(context.Background(), nil); got != nil {
		t.Errorf("Status(nil) = %v, want nil", got)
	}
}
