// Package fault names the kinds of failure that belong to no one
// foundation package: a malformed request, a state that refuses it, a
// configured limit, a node that cannot serve now. Services wrap them with
// context; each transport maps them to its own codes in one place (gRPC:
// resolver/grpcserver's status mapping; HTTP: resolver/httpgw).
package fault

import "errors"

var (
	// ErrInvalidArgument marks a malformed request; the message is shown.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrFailedPrecondition marks a request the current state refuses.
	ErrFailedPrecondition = errors.New("failed precondition")
	// ErrLimit marks a request beyond a configured limit.
	ErrLimit = errors.New("limit exceeded")
	// ErrUnavailable marks a call the node cannot serve now (it is
	// stopping); the caller may retry elsewhere or later.
	ErrUnavailable = errors.New("unavailable")
)
