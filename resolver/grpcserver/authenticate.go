package grpcserver

import (
	"context"
	"errors"
	"strings"
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
}

func (a *Authenticator) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Authenticator) authenticate(ctx context.Context, method string) (context.Context, error) {
	raw := BearerFromContext(ctx)
	if raw == "" {
		if !IsPublic(method) {
			return nil, status.Error(codes.Unauthenticated, credential.UnauthenticatedMessage)
		}
		return ctx, nil
	}
	cred, err := a.Verify(raw, a.now())
	if err != nil {
		if errors.Is(err, credential.ErrUnauthenticated) {
			return nil, status.Error(codes.Unauthenticated, credential.UnauthenticatedMessage)
		}
		return nil, status.Error(codes.Internal, "credential check failed")
	}
	return credential.WithCredential(ctx, cred), nil
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
		ctx, err := a.authenticate(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// Stream is the stream server interceptor.
func (a *Authenticator) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := a.authenticate(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		return handler(srv, &contextStream{ServerStream: ss, ctx: ctx})
	}
}

type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *contextStream) Context() context.Context { return s.ctx }
