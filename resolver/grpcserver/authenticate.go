package grpcserver

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/credential"
)

// PublicServices are the only gRPC services a caller without a credential
// may call: resolution, health and reflection. Every other method of
// every service registered on the node needs a valid credential, so a new
// service is closed until it is added here (TestEveryMethodIsPublicOrAuthorised
// enumerates them).
var PublicServices = []string{
	idresv1.Resolver_ServiceDesc.ServiceName,
	healthpb.Health_ServiceDesc.ServiceName,
	reflectionv1.ServerReflection_ServiceDesc.ServiceName,
	reflectionv1alpha.ServerReflection_ServiceDesc.ServiceName,
}

// IsPublic reports whether a full method name ("/pkg.Service/Method")
// belongs to one of PublicServices.
func IsPublic(fullMethod string) bool {
	svc, _, ok := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
	if !ok {
		return false
	}
	for _, p := range PublicServices {
		if svc == p {
			return true
		}
	}
	return false
}

// Authenticator is the gRPC interceptor pair that turns a bearer token
// into a credential in the call's context. A method outside
// PublicServices needs a valid token; a public one takes a token too and
// then checks it, so a caller with a credential sees its private values.
type Authenticator struct {
	// Verify checks a raw token at time now; it returns
	// credential.ErrUnauthenticated for every kind of bad token (the node
	// passes store.Store.VerifyToken). Required.
	Verify func(raw string, now time.Time) (*credential.Credential, error)
	// Now is the clock for expiry; nil means time.Now.
	Now func() time.Time
	// Recheck is how long a streaming call may go on with its last check
	// of its credential: a message received or sent after that verifies
	// the token again, so a revoked credential ends the stream
	// (Unauthenticated) at its first message past Recheck; an expiry
	// ends it at once. 0 means DefaultRecheck.
	Recheck time.Duration
}

// DefaultRecheck is Authenticator.Recheck when unset: a second of grace
// costs a stream one token check a second (a store read, ~10 µs), not
// one per message.
const DefaultRecheck = time.Second

func (a *Authenticator) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Authenticator) authenticate(ctx context.Context, method string) (context.Context, *credential.Credential, error) {
	raw := BearerFromContext(ctx)
	if raw == "" {
		if !IsPublic(method) {
			return nil, nil, status.Error(codes.Unauthenticated, credential.UnauthenticatedMessage)
		}
		return ctx, nil, nil
	}
	cred, err := a.verify(raw, a.now())
	if err != nil {
		return nil, nil, err
	}
	return credential.WithCredential(ctx, cred), cred, nil
}

// verify is Verify with its failures as status errors.
func (a *Authenticator) verify(raw string, now time.Time) (*credential.Credential, error) {
	cred, err := a.Verify(raw, now)
	if err != nil {
		if errors.Is(err, credential.ErrUnauthenticated) {
			return nil, status.Error(codes.Unauthenticated, credential.UnauthenticatedMessage)
		}
		return nil, status.Error(codes.Internal, "credential check failed")
	}
	return cred, nil
}

// BearerFromContext returns the bearer token in incoming gRPC metadata, or "".
func BearerFromContext(ctx context.Context) string {
	// ValueFromIncomingContext, unlike FromIncomingContext, copies no
	// map: this runs on every call, most of them anonymous resolves.
	for _, v := range metadata.ValueFromIncomingContext(ctx, "authorization") {
		if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
			return strings.TrimSpace(v[7:])
		}
	}
	return ""
}

// Unary is the unary server interceptor.
func (a *Authenticator) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, _, err := a.authenticate(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// Stream is the stream server interceptor. A stream outlives the check
// made when it opened, so the credential of one that carries a token is
// checked again as it runs (recheckedStream): this is the one place every
// long-lived call (ResolveStream, Import, Watch, Snapshot, any new one)
// learns of a revocation or an expiry.
func (a *Authenticator) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, cred, err := a.authenticate(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		if cred == nil {
			return handler(srv, &contextStream{ServerStream: ss, ctx: ctx})
		}
		ctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		rs := &recheckedStream{ServerStream: ss, ctx: ctx, cancel: cancel, a: a, raw: BearerFromContext(ctx), cred: cred}
		rs.next = a.now().Add(a.recheck())
		err = handler(srv, rs)
		if ended := rs.ended(); ended != nil {
			// Whatever the handler made of it (a canceled context, a
			// failed Send), the stream ended because of its credential.
			return ended
		}
		return err
	}
}

func (a *Authenticator) recheck() time.Duration {
	if a.Recheck > 0 {
		return a.Recheck
	}
	return DefaultRecheck
}

// recheckedStream checks its credential again before it hands the
// handler a received message and before it sends one. When the
// credential has expired, or has been revoked (seen at the first message
// past Authenticator.Recheck since the last check), the call fails with
// Unauthenticated and its context is canceled, so the handler's other
// goroutines (ResolveStream's workers, Import's committer) stop too.
// Receiving and sending may run on different goroutines.
type recheckedStream struct {
	grpc.ServerStream
	ctx    context.Context
	cancel context.CancelCauseFunc
	a      *Authenticator
	raw    string
	cred   *credential.Credential

	mu   sync.Mutex
	next time.Time // when the token is next verified
	err  error     // once set, the stream is over
}

func (s *recheckedStream) Context() context.Context { return s.ctx }

func (s *recheckedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return s.check()
}

func (s *recheckedStream) SendMsg(m any) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.ServerStream.SendMsg(m)
}

func (s *recheckedStream) ended() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *recheckedStream) check() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	now := s.a.now()
	if s.cred.Valid(now) != nil {
		s.err = status.Error(codes.Unauthenticated, credential.UnauthenticatedMessage)
	} else if !now.Before(s.next) {
		if _, err := s.a.verify(s.raw, now); err != nil {
			s.err = err
		}
		s.next = now.Add(s.a.recheck())
	}
	if s.err != nil {
		s.cancel(s.err)
	}
	return s.err
}

type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *contextStream) Context() context.Context { return s.ctx }
