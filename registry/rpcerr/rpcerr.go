// Package rpcerr maps the errors of the registry and resolver layers to
// gRPC status codes, in one place, so that handlers never leak a raw Go
// error string that names internals.
package rpcerr

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/idres/idres/registry/auth"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/registry/store/kv"
	"github.com/idres/idres/registry/template"
	"github.com/idres/idres/registry/value"
)

// ErrInvalidArgument marks a malformed request; the message is shown.
var ErrInvalidArgument = errors.New("invalid argument")

// ErrFailedPrecondition marks a request the current state refuses.
var ErrFailedPrecondition = errors.New("failed precondition")

// ErrLimit marks a request beyond a configured limit.
var ErrLimit = errors.New("limit exceeded")

// ErrUnavailable marks a call the node cannot serve now (it is stopping);
// the caller may retry elsewhere or later.
var ErrUnavailable = errors.New("unavailable")

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
	case errors.Is(err, ErrInvalidArgument), errors.Is(err, value.ErrInvalid), errors.Is(err, store.ErrBadPageToken),
		errors.Is(err, template.ErrViolation), errors.Is(err, template.ErrInvalid):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrPrefixNotHeld):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, store.ErrExists):
		return status.Error(codes.AlreadyExists, err.Error())
	case errors.Is(err, store.ErrNotEmpty), errors.Is(err, ErrFailedPrecondition), errors.Is(err, store.ErrTombstoned),
		errors.Is(err, store.ErrUnsupported):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, auth.ErrUnauthenticated):
		return status.Error(codes.Unauthenticated, auth.UnauthenticatedMessage)
	case errors.Is(err, auth.ErrPermission):
		return status.Error(codes.PermissionDenied, err.Error())
	case errors.Is(err, ErrLimit), errors.Is(err, kv.ErrTxnTooLarge):
		return status.Error(codes.ResourceExhausted, err.Error())
	case errors.Is(err, store.ErrFeedRange):
		return status.Error(codes.OutOfRange, err.Error())
	case errors.Is(err, ErrUnavailable), errors.Is(err, kv.ErrUnavailable):
		return status.Error(codes.Unavailable, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	}
	slog.ErrorContext(ctx, "internal error", "err", err)
	return status.Error(codes.Internal, "internal error")
}
