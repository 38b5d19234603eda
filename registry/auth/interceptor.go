package auth

import (
	"context"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/idres/idres/registry/store"
)

// Authenticator is the gRPC interceptor pair that turns a bearer token into
// a credential in the call's context. Methods under a required service
// prefix need a valid token; elsewhere a token is optional but, if sent,
// must be valid.
type Authenticator struct {
	Store *store.Store
	// Required lists full-method prefixes ("/idres.v1.Registry/") that
	// need a credential.
	Required []string
	// Now is the clock for expiry; nil means time.Now.
	Now func() time.Time
}

// UnauthenticatedMessage is the one message of every Unauthenticated
// answer (REG-001): a missing token and a wrong one read the same, so a
// caller cannot probe which part of a token was wrong.
const UnauthenticatedMessage = "missing or invalid credential: send \"authorization: Bearer <token>\" with a valid token"

func (a *Authenticator) authenticate(ctx context.Context, method string) (context.Context, error) {
	raw := BearerFromContext(ctx)
	if raw == "" {
		for _, p := range a.Required {
			if strings.HasPrefix(method, p) {
				return nil, status.Error(codes.Unauthenticated, UnauthenticatedMessage)
			}
		}
		return ctx, nil
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	var cred *store.Credential
	err := a.Store.View(func(tx *store.Tx) error {
		var err error
		cred, err = Verify(tx, raw, now())
		return err
	})
	if err != nil {
		if err == ErrUnauthenticated {
			return nil, status.Error(codes.Unauthenticated, UnauthenticatedMessage)
		}
		return nil, status.Error(codes.Internal, "credential check failed")
	}
	return WithCredential(ctx, cred), nil
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
