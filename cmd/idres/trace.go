package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/recursive"
)

// traceWalk resolves req by walking the hierarchy itself, starting at the
// node at server, with the recursive resolver's own walk (no cache), and
// returns every step: which node was asked about which zone, what it said,
// how long it took. timeout bounds each call to one node.
func traceWalk(ctx context.Context, server string, req *idresv1.ResolveRequest, timeout time.Duration) ([]recursive.Step, *idresv1.ResolveResponse, error) {
	var mu sync.Mutex
	var steps []recursive.Step
	w, err := recursive.New(recursive.Config{
		Roots:           []string{server},
		UpstreamTimeout: timeout,
		Trace: func(s recursive.Step) {
			mu.Lock()
			steps = append(steps, s)
			mu.Unlock()
		},
	})
	if err != nil {
		return nil, nil, err
	}
	defer w.Close()
	resp, err := w.Resolve(ctx, req)
	mu.Lock()
	defer mu.Unlock()
	if err == nil && len(steps) > 0 {
		// The walker's own answers are never authoritative; the trace
		// shows what the last node said of itself.
		if last := steps[len(steps)-1].Resp; last != nil && last.GetOutcome() != idresv1.Outcome_OUTCOME_REFERRAL {
			resp.Authoritative = last.GetAuthoritative()
		}
	}
	return steps, resp, err
}

// printTrace writes the steps like dig +trace: one block per node asked,
// then the final answer.
func printTrace(w io.Writer, id string, steps []recursive.Step, resp *idresv1.ResolveResponse) {
	fmt.Fprintf(w, ";; trace of %s\n", id)
	for i, s := range steps {
		zone := s.Zone
		switch {
		case s.Err != nil:
			fmt.Fprintf(w, ";; %d. zone %s: %s gave no answer in %s: %v (trying the next endpoint)\n", i+1, zone, s.Addr, round(s.Elapsed), s.Err)
		case s.Resp.GetOutcome() == idresv1.Outcome_OUTCOME_REFERRAL:
			d := s.Resp.GetReferral()
			fmt.Fprintf(w, ";; %d. zone %s: asked %s: REFERRAL to %s at %v, ttl %d, in %s\n", i+1, zone, s.Addr, d.GetPrefix(), d.GetGrpc(), s.Resp.GetTtl(), round(s.Elapsed))
		default:
			auth := "not authoritative"
			if s.Resp.GetAuthoritative() {
				auth = "authoritative"
			}
			fmt.Fprintf(w, ";; %d. zone %s: asked %s: %s (%s), ttl %d, in %s\n", i+1, zone, s.Addr, outcomeName(s.Resp.GetOutcome()), auth, s.Resp.GetTtl(), round(s.Elapsed))
		}
	}
	fmt.Fprintln(w)
	printResolve(w, resp)
}

func round(d time.Duration) time.Duration {
	if d > time.Millisecond {
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// runTrace is `idres resolve --trace`.
func runTrace(ctx context.Context, e *env, req *idresv1.ResolveRequest) int {
	if e.JSON {
		return e.usageError("--trace prints text steps; drop --json")
	}
	timeout := e.Timeout
	if timeout <= 0 {
		timeout = recursive.DefaultUpstreamTimeout
	}
	steps, resp, err := traceWalk(ctx, e.Server, req, timeout)
	if err != nil {
		return e.fail(err)
	}
	printTrace(e.Stdout, req.GetIdentifier(), steps, resp)
	return outcomeExit(resp.GetOutcome())
}
