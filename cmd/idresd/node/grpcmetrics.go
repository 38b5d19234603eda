package node

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// grpcMetrics counts gRPC calls by method and status code and times them,
// in the node's registry beside the HTTP and DNS metrics. Interceptors run
// only for registered methods, so the method label stays bounded.
type grpcMetrics struct {
	calls   *prometheus.CounterVec
	latency *prometheus.HistogramVec
}

func newGRPCMetrics(reg prometheus.Registerer) (*grpcMetrics, error) {
	m := &grpcMetrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "idres", Subsystem: "grpc", Name: "requests_total",
			Help: "gRPC calls by full method name and status code (streams counted once, when they end).",
		}, []string{"method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "idres", Subsystem: "grpc", Name: "request_duration_seconds",
			Help:    "Time to answer a gRPC call (a whole stream for streaming calls), by method.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"method"}),
	}
	for _, c := range []prometheus.Collector{m.calls, m.latency} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *grpcMetrics) observe(method string, err error, start time.Time) {
	m.calls.WithLabelValues(method, status.Code(err).String()).Inc()
	m.latency.WithLabelValues(method).Observe(time.Since(start).Seconds())
}

// Unary is outermost in the chain, so refused calls (authentication, rate
// limit) and recovered panics are counted with their codes.
func (m *grpcMetrics) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := h(ctx, req)
		m.observe(info.FullMethod, err, start)
		return resp, err
	}
}

// Stream is Unary for streaming calls.
func (m *grpcMetrics) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		start := time.Now()
		err := h(srv, ss)
		m.observe(info.FullMethod, err, start)
		return err
	}
}
