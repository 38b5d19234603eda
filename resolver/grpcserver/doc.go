// Package grpcserver is the node's gRPC transport, shared by every gRPC
// service it runs. It holds:
//   - the Resolver service (service.go, stream.go), a thin adapter over a
//     resolver.Resolver;
//   - the Authenticator (authenticate.go), which turns a bearer token into
//     a credential in the context and refuses, without one, every method
//     of every service that is not on PublicServices: a new service is
//     closed until it is listed there;
//     It also checks a stream's credential again while the stream runs,
//     so a revocation or an expiry reaches every long-lived call;
//   - the per-credential and per-source RateLimiter (ratelimit.go), and
//     StreamCalls (streamcalls.go), which bounds open streaming calls per
//     source network and per node;
//   - the one mapping of errors to status codes (status.go), applied by
//     the StatusUnary and StatusStream interceptors, so services return
//     plain wrapped errors; with the node's Codec (codec.go) a request
//     that is not valid UTF-8 is InvalidArgument there too;
//   - FailureLog (faillog.go), the rate-limited log of every failed call.
//
// It imports the foundation and the resolver contract, never a service.
package grpcserver
