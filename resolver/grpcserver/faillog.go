package grpcserver

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/idres/idres/registry/credential"
)

// FailureLog is the interceptor pair that logs every call that fails
// (any code but OK; Canceled, the caller leaving, at debug level),
// refused ones included: chain it outside the
// Authenticator and the RateLimiter, so it sees their refusals. A line
// holds the method, the code, the status message (written for the caller,
// so it holds no secret), the caller's address and, when it sent a token,
// the token's credential id (never its secret).
//
// Lines are rate-limited, Rate a second after a burst of Burst, so a
// flood of bad calls costs the log little; the lines dropped are counted
// in the next line written ("suppressed").
type FailureLog struct {
	Logger *slog.Logger
	// Rate is the lines a second on average; 0 or less means
	// DefaultFailureLogRate. Burst is the bucket; less than 1 means
	// DefaultFailureLogBurst.
	Rate  float64
	Burst int
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu         sync.Mutex
	tokens     float64
	last       time.Time
	started    bool
	suppressed int
}

// Defaults of FailureLog.
const (
	DefaultFailureLogRate  = 10
	DefaultFailureLogBurst = 100
	maxLoggedMessage       = 256
)

// Unary is the unary server interceptor.
func (f *FailureLog) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		if err != nil {
			f.log(ctx, info.FullMethod, err, time.Since(start))
		}
		return resp, err
	}
}

// Stream is the stream server interceptor.
func (f *FailureLog) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := time.Now()
		err := handler(srv, ss)
		if err != nil {
			f.log(ss.Context(), info.FullMethod, err, time.Since(start))
		}
		return err
	}
}

func (f *FailureLog) log(ctx context.Context, method string, err error, took time.Duration) {
	st := status.Convert(err)
	if st.Code() == codes.OK {
		return
	}
	suppressed, ok := f.take()
	if !ok {
		return
	}
	msg := st.Message()
	if len(msg) > maxLoggedMessage {
		msg = msg[:maxLoggedMessage] + "..."
	}
	attrs := []slog.Attr{slog.String("method", method), slog.String("code", st.Code().String()), slog.String("message", msg)}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		attrs = append(attrs, slog.String("peer", p.Addr.String()))
	}
	if raw := BearerFromContext(ctx); raw != "" {
		id := "malformed"
		if tok, err := credential.ParseToken(raw); err == nil {
			id = tok.ID // 16 hex digits
		}
		attrs = append(attrs, slog.String("credential", id))
	}
	attrs = append(attrs, slog.Duration("duration", took))
	if suppressed > 0 {
		attrs = append(attrs, slog.Int("suppressed", suppressed))
	}
	level := slog.LevelWarn
	if st.Code() == codes.Canceled {
		level = slog.LevelDebug // the caller went away: no fault of either side
	}
	f.logger().LogAttrs(ctx, level, "call failed", attrs...)
}

func (f *FailureLog) logger() *slog.Logger {
	if f.Logger != nil {
		return f.Logger
	}
	return slog.Default()
}

// take takes a line from the bucket; on success it also returns, and
// resets, the count of lines dropped since the last one written.
func (f *FailureLog) take() (suppressed int, ok bool) {
	rate, burst := f.Rate, float64(f.Burst)
	if rate <= 0 {
		rate = DefaultFailureLogRate
	}
	if burst < 1 {
		burst = DefaultFailureLogBurst
	}
	now := time.Now
	if f.Now != nil {
		now = f.Now
	}
	t := now()
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.started {
		f.tokens, f.last, f.started = burst, t, true
	}
	if t.After(f.last) {
		f.tokens = min(burst, f.tokens+t.Sub(f.last).Seconds()*rate)
		f.last = t
	}
	if f.tokens < 1 {
		f.suppressed++
		return 0, false
	}
	f.tokens--
	suppressed, f.suppressed = f.suppressed, 0
	return suppressed, true
}
