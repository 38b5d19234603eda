package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
)

// handleTarget is a Handle-protocol server handleCompare measures.
type handleTarget struct {
	System string // the report's row label, e.g. "idresd --handle"
	Addr   string // host:port, answering over TCP and UDP
	// PID, when not 0, is the server's process: its CPU time is read
	// around each run (server CPU per request) and its memory sampled
	// after the runs.
	PID int
	// IDs, when not 0, is how many identifiers of the data set the
	// server holds (PREFIX/item-0 .. item-(IDs-1)); every target is asked
	// the same ones, the fewest any holds.
	IDs int
}

// handleReference is the hook for a reference Handle server beside
// idresd --handle (CNRI's HANDLE.NET, cmd/idres-bench-ref/cnri-handle.sh).
// The file that runs the reference sets it from an init function: it
// starts the server holding the first ids identifiers of data (the JSON
// lines of idres bench gen, PREFIX/item-N) and returns it, with what
// stops it. nil: the idres rows alone.
var handleReference func(r *runner, data string, ids int) (t handleTarget, stop func(), err error)

// handleFrontEnd measures the main node's Handle front end over TCP and
// UDP, with the reference (handleReference) alternating beside it.
func (r *runner) handleFrontEnd(main *node, data string) error {
	if main.handle == "" {
		return errors.New("idresd runs without --handle")
	}
	targets := []handleTarget{{System: "idresd --handle", Addr: main.handle, IDs: r.n, PID: main.cmd.Process.Pid}}
	if handleReference != nil {
		t, stop, err := handleReference(r, data, r.n)
		if err != nil {
			r.notes = append(r.notes, "Handle reference not measured: "+err.Error())
			r.say("Handle reference skipped: %v", err)
		} else {
			defer stop()
			targets = append(targets, t)
		}
	}
	ids := r.n
	for _, t := range targets {
		if t.IDs > 0 {
			ids = min(ids, t.IDs)
		}
	}
	if err := r.handleCompare(ids, targets...); err != nil {
		return err
	}
	r.sampleMem("after the Handle runs", "idresd", main.cmd)
	for _, t := range targets[1:] {
		if p, err := os.FindProcess(t.PID); t.PID != 0 && err == nil {
			r.sampleMem("after the Handle runs", t.System, &exec.Cmd{Process: p})
		}
	}
	r.notes = append(r.notes, fmt.Sprintf("Handle rows: `idres bench handle`, the unary Resolve load's shape (%d×%d = %d workers), each worker with its own kept "+
		"connection (TCP, with the KC flag) or UDP socket and one request at a time, asking identifiers at random of all %d; "+
		"answers larger than a datagram come back truncated over UDP and are asked again over TCP, as hdllib does.", r.conns, r.conc, r.conns*r.conc, ids))
	return nil
}

// handleCompare runs `idres bench handle` against each target, over TCP
// then over UDP, --runs times, the targets back to back within each run,
// every identifier asked of the first ids of the data set. A run with an
// answer other than OK fails the comparison: the servers must hold the
// same records.
func (r *runner) handleCompare(ids int, targets ...handleTarget) error {
	for _, udp := range []bool{false, true} {
		name, flag := "Handle resolution over TCP", []string(nil)
		if udp {
			name, flag = "Handle resolution over UDP", []string{"--udp"}
		}
		rows := make([]*result, len(targets))
		for j, t := range targets {
			rows[j] = r.add(&result{Name: name, System: t.System, Unit: "requests/s"})
		}
		args := append([]string{"handle", "--conns", strconv.Itoa(r.conns), "--concurrency", strconv.Itoa(r.conc),
			"--duration", r.dur.String(), "--ids", strconv.Itoa(ids)}, flag...)
		for i := range r.runs {
			for j, t := range targets {
				cpu0, cpuErr := procCPU(t.PID)
				b, cmdline, err := r.bench(t.Addr, args...)
				if err != nil {
					return fmt.Errorf("%s, %s: %w", name, t.System, err)
				}
				if cpu1, err := procCPU(t.PID); cpuErr == nil && err == nil && b.Ops > 0 {
					rows[j].CPU = append(rows[j].CPU, float64((cpu1-cpu0).Microseconds())/float64(b.Ops))
				}
				if b.Outcomes["OK"] != b.Ops {
					return fmt.Errorf("%s, %s: %d of %d answers not OK: %v", name, t.System, b.Ops-b.Outcomes["OK"], b.Ops, b.Outcomes)
				}
				x := rows[j]
				x.Runs, x.P50, x.P99, x.Command = append(x.Runs, b.PerSecond), append(x.P50, b.Lat.P50), append(x.P99, b.Lat.P99), cmdline
				r.say("%s run %d/%d %s: %.0f/s p99 %.3f ms", name, i+1, r.runs, t.System, b.PerSecond, b.Lat.P99)
			}
		}
	}
	return nil
}
