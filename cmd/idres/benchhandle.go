package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/idres/idres/registry/bulkfile"
	"github.com/idres/idres/resolver/handleclient"
)

// benchHandle resolves over the Handle protocol at --server: --conns x
// --concurrency workers, each with its own kept connection (or UDP
// socket) and one request at a time, closed loop unless --rate. The
// outcomes are counted under the names the other modes use (OK,
// NOT_FOUND...), so the front ends compare row by row.
func (e *env) benchHandle(ctx context.Context, o benchOpts) (*benchReport, error) {
	ids, err := handleBenchIDs(o)
	if err != nil {
		return nil, err
	}
	workers := o.conns * o.concurrency
	clients := make([]*handleclient.Client, workers)
	for i := range clients {
		clients[i] = &handleclient.Client{Addr: e.Server, UDP: o.udp, Timeout: e.Timeout, KeepAlive: true}
		defer clients[i].Close()
	}
	// Connect before the clock starts, as the gRPC modes do: one answer
	// per worker, not counted.
	warm := benchID(o.prefix, 0)
	if ids.list != nil {
		warm = ids.list[0]
	}
	for _, c := range clients {
		wctx, cancel := e.call(ctx)
		_, err := c.Resolve(wctx, warm, nil, nil)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("first request: %w", err)
		}
	}
	stop, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	pace, bud := newPacer(o.rate), &budget{limit: o.count}
	parts := make([]*benchPart, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for wi, c := range clients {
		p := &benchPart{outcomes: map[string]uint64{}}
		parts[wi] = p
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(wi), 7))
			for bud.take(1) == 1 {
				at, ok := pace.wait(stop)
				if !ok {
					return
				}
				cctx, ccancel := e.call(ctx)
				a, err := c.Resolve(cctx, ids.pick(r), nil, nil)
				ccancel()
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					p.errs++
					p.firstErr = cmpErr(p.firstErr, err)
				} else {
					p.outcomes[outcomeName(handleclient.Outcome(a.RC))]++
				}
				p.hist.Record(time.Since(at))
				p.ops++
			}
		}()
	}
	wg.Wait()
	transport := "tcp"
	if o.udp {
		transport = "udp"
	}
	rep := &benchReport{Mode: "handle " + transport, Target: e.Server, Conns: workers, Concurrency: 1, Unit: "requests", Sample: "request"}
	rep.Seconds = time.Since(start).Seconds()
	_, first := mergeParts(parts, rep)
	rep.PerSecond = float64(rep.Ops) / rep.Seconds
	if rep.Ops > 0 && rep.Errors == rep.Ops {
		return nil, first
	}
	return rep, nil
}

// handleBenchIDs reads --file: identifiers one a line (# comments), or
// the JSON lines of idres bench gen / idres export.
func handleBenchIDs(o benchOpts) (*picker, error) {
	b := &picker{o: o}
	if o.file == "" {
		return b, nil
	}
	f, err := os.Open(o.file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	if head, _ := br.Peek(1); len(head) == 1 && head[0] == '{' {
		rd, err := bulkfile.NewReader(br, bulkfile.JSONL)
		if err != nil {
			return nil, err
		}
		dr, ok := rd.(bulkfile.DeferredReader)
		if !ok {
			return nil, fmt.Errorf("%s: JSON lines reader cannot defer decoding", o.file)
		}
		for {
			p, err := dr.NextPending()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", o.file, err)
			}
			id := p.Identifier
			if id == "" {
				it, err := p.Decode()
				if err != nil {
					return nil, fmt.Errorf("%s: %w", o.file, err)
				}
				id = it.Identifier
			}
			b.list = append(b.list, id)
		}
	} else {
		s := bufio.NewScanner(br)
		for s.Scan() {
			if id := strings.TrimSpace(s.Text()); id != "" && !strings.HasPrefix(id, "#") {
				b.list = append(b.list, id)
			}
		}
		if err := s.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", o.file, err)
		}
	}
	if len(b.list) == 0 {
		return nil, fmt.Errorf("%s: no identifiers", o.file)
	}
	return b, nil
}
