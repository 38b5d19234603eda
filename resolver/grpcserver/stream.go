package grpcserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"

	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/fault"
	"github.com/idres/idres/resolver"
)

// Stream limits. MaxStreamBatch bounds one message; the read-ahead bounds
// the requests a stream holds at once (received, being resolved, or
// answered but not yet sent), whatever the client does.
const (
	MaxStreamBatch         = 1000
	DefaultStreamReadAhead = 4096
	// maxAnswersPerMessage keeps answer messages well under gRPC's 4 MiB
	// default receive limit for typical values.
	maxAnswersPerMessage = 256
	maxAnswerBytes       = 1 << 20
	// maxQueuedBatches bounds the channels between a stream's reader,
	// workers and writer (the read-ahead still bounds the requests): they
	// are allocated when the stream opens.
	maxQueuedBatches = 256
)

// StreamStats counts a Service's streamed requests that are in flight:
// read from a client but not yet written back. Tests use it to check that
// a client that stops reading does not make the node buffer without bound.
type StreamStats struct {
	inFlight  atomic.Int64
	peak      atomic.Int64
	bytes     atomic.Int64
	peakBytes atomic.Int64
	waiting   atomic.Int64
}

// Bytes is the bytes of requests and answers held now, across all
// streams (streambuf.go).
func (s *StreamStats) Bytes() int64 { return s.bytes.Load() }

// PeakBytes is the largest Bytes seen.
func (s *StreamStats) PeakBytes() int64 { return s.peakBytes.Load() }

// Waiting is how many streams wait now, before reading more, for their
// answers to be read (their buffer or the node's is full).
func (s *StreamStats) Waiting() int64 { return s.waiting.Load() }

func (s *StreamStats) addBytes(n int64) {
	v := s.bytes.Add(n)
	for {
		p := s.peakBytes.Load()
		if v <= p || s.peakBytes.CompareAndSwap(p, v) {
			return
		}
	}
}

// InFlight is the number of requests held now, across all streams.
func (s *StreamStats) InFlight() int64 { return s.inFlight.Load() }

// Peak is the largest InFlight seen.
func (s *StreamStats) Peak() int64 { return s.peak.Load() }

func (s *StreamStats) add(n int64) {
	v := s.inFlight.Add(n)
	for {
		p := s.peak.Load()
		if v <= p || s.peak.CompareAndSwap(p, v) {
			return
		}
	}
}

// streamBatch is one received message: its requests are resolved together
// by one worker and answered in order.
type streamBatch struct {
	reqs    []*idresv1.TaggedResolveRequest
	answers []*idresv1.TaggedResolveResponse
	bytes   int64 // held in the stream's buffers: the message, then its answers too
	err     error
	done    chan struct{}
}

// ResolveStream implements idres.v1.Resolver. Three kinds of goroutine
// cooperate: this one reads and hands each message to a worker and to the
// writer's ordered queue; workers (started as the work needs them, up to
// Workers) resolve; the writer sends answers in request order. Before a
// message is queued the reader takes a token per request from a semaphore
// of ReadAhead, and its bytes from the stream's buffer (Buffer) and the
// node's (BufferTotal); the answers' bytes are added once resolved, and
// all is given back after the answers are sent. So when the client stops
// reading, Send blocks, tokens or bytes run out, the reader stops calling
// Recv, and gRPC flow control stops the client.
func (s *Service) ResolveStream(stream idresv1.Resolver_ResolveStreamServer) error {
	ctx, cancel := context.WithCancelCause(stream.Context())
	defer cancel(nil)
	readAhead := s.readAhead()
	tokens := make(chan struct{}, readAhead)
	ordered := make(chan *streamBatch, min(readAhead, maxQueuedBatches))
	work := make(chan *streamBatch, min(readAhead, maxQueuedBatches))
	bufs := &streamBuffers{stream: newByteBudget(s.buffer()), node: s.nodeBuffer(), stats: s.streamStats()}
	pool := &workerPool{max: s.streamWorkers(), work: work, run: func(b *streamBatch) { s.resolveBatch(ctx, b, bufs) }}

	writeErr := make(chan error, 1)
	go func() {
		err := s.writeAnswers(ctx, stream, ordered, tokens, bufs)
		if err != nil {
			cancel(err) // the reader may be waiting for tokens or bytes
		}
		writeErr <- err
	}()

	readErr := s.readRequests(ctx, stream, tokens, ordered, pool, bufs)
	close(work)
	close(ordered)
	if readErr != nil {
		cancel(readErr)
	}
	err := <-writeErr
	pool.wait()
	// Tokens and bytes still held belong to batches the writer never sent.
	s.streamStats().add(-int64(len(tokens)))
	bufs.close()
	if readErr != nil {
		return readErr
	}
	if err != nil {
		return err
	}
	return nil
}

func (s *Service) readRequests(ctx context.Context, stream idresv1.Resolver_ResolveStreamServer, tokens chan struct{}, ordered chan *streamBatch, pool *workerPool, bufs *streamBuffers) error {
	stats := s.streamStats()
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		reqs := msg.GetRequests()
		if len(reqs) > MaxStreamBatch {
			return fmt.Errorf("%w: %d requests in one message, more than %d", fault.ErrInvalidArgument, len(reqs), MaxStreamBatch)
		}
		if len(reqs) == 0 {
			continue
		}
		for _, r := range reqs {
			if err := checkRequest(r.GetRequest()); err != nil {
				return fmt.Errorf("request_id %d: %w", r.GetRequestId(), err)
			}
		}
		for i := 0; i < len(reqs) && i < cap(tokens); i++ {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				stats.add(int64(i))
				return context.Cause(ctx)
			}
		}
		stats.add(int64(min(len(reqs), cap(tokens))))
		size := int64(proto.Size(msg))
		if err := bufs.take(ctx, size); err != nil {
			return err
		}
		b := &streamBatch{reqs: reqs, bytes: size, done: make(chan struct{})}
		select {
		case ordered <- b:
		case <-ctx.Done():
			bufs.give(size)
			return context.Cause(ctx)
		}
		select {
		case pool.work <- b:
			pool.queued()
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

func (s *Service) resolveBatch(ctx context.Context, b *streamBatch, bufs *streamBuffers) {
	defer close(b.done)
	b.answers = make([]*idresv1.TaggedResolveResponse, len(b.reqs))
	// The answers to one message are resolved in chunks and counted as
	// they come, so that a message asking many large records stops at the
	// stream's buffer instead of holding them all (one message of 1000
	// requests for a 1 MiB record would otherwise be a GiB). A chunk is
	// sized from the answers seen so far: small records keep the
	// batching that makes streams fast, large ones go a few at a time.
	limit := s.buffer()
	var held int64
	chunk := firstChunk
	for i := 0; i < len(b.reqs); {
		n := min(chunk, len(b.reqs)-i)
		if !s.resolveChunk(ctx, b, i, n) {
			return
		}
		var got int64
		for _, a := range b.answers[i : i+n] {
			got += int64(approxSize(a.GetResponse()))
		}
		// Counted without waiting: the writer may need these answers to
		// make progress, and the reader waits before the next message.
		bufs.add(got)
		b.bytes += got
		held += got
		i += n
		if held > limit && i < len(b.reqs) {
			b.err = fmt.Errorf("%w: the answers to one message passed the stream's buffer of %d bytes after %d of its %d requests; send fewer requests per message",
				fault.ErrLimit, limit, i, len(b.reqs))
			return
		}
		per := got/int64(n) + 1
		chunk = int(max(1, min(int64(maxChunk), (limit-held)/4/per)))
	}
}

// Chunks of a message's requests resolved together (resolveBatch).
const (
	firstChunk = 16
	maxChunk   = 1000
)

// resolveChunk answers b.reqs[i:i+n] into b.answers; false when the
// stream is over (b.err says why).
func (s *Service) resolveChunk(ctx context.Context, b *streamBatch, i, n int) bool {
	reqs := b.reqs[i : i+n]
	if n > 1 {
		if resps, err := s.resolveMany(ctx, reqs); err == nil {
			for j, r := range reqs {
				b.answers[i+j] = &idresv1.TaggedResolveResponse{RequestId: r.GetRequestId(), Response: resps[j]}
			}
			return true
		}
		// Fall back to one at a time, so one failing lookup is answered
		// in band and does not take its batch down with it.
	}
	for j, r := range reqs {
		resp, err := s.r.Resolve(ctx, r.GetRequest())
		if err != nil {
			if ctx.Err() != nil {
				b.err = context.Cause(ctx)
				return false
			}
			// A failure of the node for one identifier is answered in band
			// so the rest of the stream goes on.
			resp = &idresv1.ResolveResponse{
				Outcome:    idresv1.Outcome_OUTCOME_SERVER_FAILURE,
				Identifier: r.GetRequest().GetIdentifier(),
				Message:    "the node failed to resolve this identifier",
			}
		}
		b.answers[i+j] = &idresv1.TaggedResolveResponse{RequestId: r.GetRequestId(), Response: resp}
	}
	return true
}

// resolveMany answers one message's requests in one call, with values
// left encoded when the resolver.Resolver can (wire.go); errNoBatch when it has no
// batch call.
func (s *Service) resolveMany(ctx context.Context, tagged []*idresv1.TaggedResolveRequest) ([]*idresv1.ResolveResponse, error) {
	var batch func(context.Context, []*idresv1.ResolveRequest) ([]*idresv1.ResolveResponse, error)
	switch r := s.r.(type) {
	case resolver.EncodedResolver:
		batch = r.ResolveBatchEncoded
	case resolver.BatchResolver:
		batch = r.ResolveBatch
	default:
		return nil, errNoBatch
	}
	reqs := make([]*idresv1.ResolveRequest, len(tagged))
	for i, r := range tagged {
		reqs[i] = r.GetRequest()
	}
	return batch(ctx, reqs)
}

var errNoBatch = errors.New("resolver has no batch call")

// writeAnswers sends batches in the order they were read, packing answers
// that are ready into one message and flushing before it would wait.
func (s *Service) writeAnswers(ctx context.Context, stream idresv1.Resolver_ResolveStreamServer, ordered chan *streamBatch, tokens chan struct{}, bufs *streamBuffers) error {
	stats := s.streamStats()
	out := &idresv1.ResolveStreamResponse{}
	held, size := 0, 0
	var heldBytes int64
	flush := func() error {
		if len(out.Responses) == 0 {
			return nil
		}
		if err := stream.Send(out); err != nil {
			return err
		}
		out.Responses = out.Responses[:0]
		// Count down before giving tokens back, so the count never
		// exceeds the read-ahead.
		stats.add(-int64(held))
		for range held {
			<-tokens
		}
		bufs.give(heldBytes)
		held, size, heldBytes = 0, 0, 0
		return nil
	}
	for {
		var b *streamBatch
		var ok bool
		select {
		case b, ok = <-ordered:
		default:
			if err := flush(); err != nil {
				return err
			}
			b, ok = <-ordered
		}
		if !ok {
			return flush()
		}
		select {
		case <-b.done:
		default:
			if err := flush(); err != nil {
				return err
			}
			select {
			case <-b.done:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
		if b.err != nil {
			return b.err
		}
		for _, a := range b.answers {
			out.Responses = append(out.Responses, a)
			size += approxSize(a.GetResponse())
			if len(out.Responses) >= maxAnswersPerMessage || size >= maxAnswerBytes {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		held += min(len(b.reqs), cap(tokens))
		heldBytes += b.bytes
		if held >= cap(tokens) {
			// Every token is in this message: send it before reading more.
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

// approxSize estimates an answer's encoded size without encoding it.
func approxSize(r *idresv1.ResolveResponse) int {
	n := 32 + len(r.GetIdentifier()) + len(r.GetMessage()) + len(r.GetZone()) + resolver.EncodedSize(r)
	for _, v := range r.GetValues() {
		n += 32 + len(v.GetType()) + len(v.GetData())
	}
	if d := r.GetReferral(); d != nil {
		n += 64 + len(d.GetPrefix())
		for _, a := range d.GetGrpc() {
			n += len(a) + 2
		}
	}
	return n
}

func (s *Service) buffer() int64 {
	if s.Buffer > 0 {
		return s.Buffer
	}
	return DefaultStreamBuffer
}

// nodeBuffer is the budget all of the Service's streams share, made at
// the first stream with BufferTotal.
func (s *Service) nodeBuffer() *byteBudget {
	s.nodeBufOnce.Do(func() {
		limit := s.BufferTotal
		if limit <= 0 {
			limit = DefaultStreamBufferTotal
		}
		s.nodeBuf = newByteBudget(limit)
	})
	return s.nodeBuf
}

func (s *Service) readAhead() int {
	if s.ReadAhead > 0 {
		return s.ReadAhead
	}
	return DefaultStreamReadAhead
}

// streamWorkers: enough to keep every core busy on local answers, and
// enough concurrency for a recursive node waiting on the network.
func (s *Service) streamWorkers() int {
	if s.Workers > 0 {
		return s.Workers
	}
	return max(4*runtime.GOMAXPROCS(0), 32)
}

func (s *Service) streamStats() *StreamStats {
	if s.Stats == nil {
		return &discardStats
	}
	return s.Stats
}

var discardStats StreamStats
