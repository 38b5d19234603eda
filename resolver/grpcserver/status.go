package grpcserver

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/idres/idres/registry/credential"
	"github.com/idres/idres/registry/fault"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/registry/store/kv"
	"github.com/idres/idres/registry/template"
	"github.com/idres/idres/registry/value"
)

// StatusUnary and StatusStream are the interceptors that turn every error
// a service returns into a gRPC status (Status): services return wrapped
// Go errors and never choose a code themselves, so the mapping has one
// owner. Chain them innermost, so the other interceptors see codes.
// StatusUnary also answers InvalidArgument to a request with a string
// that is not UTF-8 (codec.go).
func StatusUnary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if err := invalidUTF8(req); err != nil {
			return nil, err // marked by Codec (codec.go)
		}
		resp, err := handler(ctx, req)
		if err != nil {
			return nil, Status(ctx, err)
		}
		return resp, nil
	}
}

// StatusStream is StatusUnary for streaming calls. It also refuses, as
// InvalidArgument, a received message with a string that is not UTF-8
// (codec.go).
func StatusStream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return Status(ss.Context(), handler(srv, utf8Stream{ss}))
	}
}

// Status converts err to a gRPC status error. Errors whose messages are
// written for the caller (validation, not found, exists) pass their text;
// anything unexpected is logged and answered as Internal with no detail.
func Status(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	var idErr *ident.Error
	switch {
	case errors.As(err, &idErr):
		return status.Error(codes.InvalidArgument, idErr.Error())
	case errors.Is(err, fault.ErrInvalidArgument), errors.Is(err, value.ErrInvalid), errors.Is(err, store.ErrBadPageToken),
		errors.Is(err, template.ErrViolation), errors.Is(err, template.ErrInvalid):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrPrefixNotHeld):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, store.ErrExists):
		return status.Error(codes.AlreadyExists, err.Error())
	case errors.Is(err, store.ErrNotEmpty), errors.Is(err, fault.ErrFailedPrecondition), errors.Is(err, store.ErrTombstoned),
		errors.Is(err, store.ErrUnsupported):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, credential.ErrUnauthenticated):
		return status.Error(codes.Unauthenticated, credential.UnauthenticatedMessage)
	case errors.Is(err, credential.ErrPermission):
		return status.Error(codes.PermissionDenied, err.Error())
	case errors.Is(err, fault.ErrLimit), errors.Is(err, kv.ErrTxnTooLarge):
		return status.Error(codes.ResourceExhausted, err.Error())
	case errors.Is(err, store.ErrFeedRange):
		return status.Error(codes.OutOfRange, err.Error())
	case errors.Is(err, fault.ErrUnavailable), errors.Is(err, kv.ErrUnavailable):
		return status.Error(codes.Unavailable, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	}
	slog.ErrorContext(ctx, "internal error", "err", err)
	return status.Error(codes.Internal, "internal error")
}
