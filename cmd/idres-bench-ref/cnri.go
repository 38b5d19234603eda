package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CNRI's HANDLE.NET server (7.3.1, the jar under shared/handle-client) is
// the reference beside idresd --handle: cnri-handle.sh builds it from
// scratch on loopback, loads the bench data set with CNRI's batch tool and
// serves it; the Handle rows then measure both with `idres bench handle`.

func init() { handleReference = cnriReference }

// defaultCNRIIDs is how many identifiers the CNRI server holds unless
// HANDLE_IDS says otherwise: its batch tool registers a few hundred a
// second on this machine, so a million would take over an hour. It is the
// size the issue quotes CNRI's figures for.
const defaultCNRIIDs = 100000

// cnriIDs is HANDLE_IDS (0: all), or defaultCNRIIDs.
func cnriIDs() int {
	if v, err := strconv.Atoi(os.Getenv("HANDLE_IDS")); err == nil && v >= 0 {
		return v
	}
	return defaultCNRIIDs
}

// cnriLoad is the line cnri-handle.sh writes to DIR/ready.
type cnriLoad struct {
	Loaded    int     `json:"loaded"`
	Failed    int     `json:"failed"`
	Records   int     `json:"records"`
	Jobs      int     `json:"jobs"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
}

// cnriReference starts CNRI's server holding PREFIX/item-0 .. item-(k-1)
// of data, k = min(ids, HANDLE_IDS), and waits until it serves them. The
// target's IDs says k: the rows ask both servers those identifiers.
func cnriReference(r *runner, data string, ids int) (handleTarget, func(), error) {
	var t handleTarget
	script := os.Getenv("CNRI_HANDLE_SH")
	if script == "" {
		script = filepath.Join("cmd", "idres-bench-ref", "cnri-handle.sh")
	}
	if _, err := os.Stat(script); err != nil {
		return t, nil, err
	}
	if _, err := exec.LookPath(envOr("JAVA", "java")); err != nil {
		return t, nil, errors.New("no Java runtime for CNRI's server (Debian: openjdk-17-jre-headless)")
	}
	held := ids
	if lim := cnriIDs(); lim > 0 && held > lim {
		held = lim
	}
	dir := filepath.Join(r.work, "cnri")
	ready := filepath.Join(dir, "ready")
	os.Remove(ready)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort())
	_, port, _ := strings.Cut(addr, ":")
	r.say("CNRI HANDLE.NET: setting up %s and loading %d identifiers with its batch tool (a few hundred a second)", dir, held)
	cmd, err := r.start("bash", script, "serve", dir, port, data, strconv.Itoa(held))
	if err != nil {
		return t, nil, err
	}
	// SIGTERM first: the JVM runs its shutdown hooks (the server closes
	// its storage and queue lock) on SIGINT too, but not when it was
	// started with SIGINT ignored, as under a backgrounded make bench.
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		r.stop(cmd)
	}
	exited := make(chan struct{})
	go func() { cmd.Process.Wait(); close(exited) }() //nolint:errcheck // the exit is what matters
	var load cnriLoad
	for start, last := time.Now(), time.Now(); ; {
		if b, err := os.ReadFile(ready); err == nil {
			if err := json.Unmarshal(b, &load); err != nil {
				stop()
				return t, nil, fmt.Errorf("%s: %w", ready, err)
			}
			break
		}
		select {
		case <-exited:
			return t, nil, fmt.Errorf("cnri-handle.sh serve ended before serving (see %s and %s)", r.log.Name(), filepath.Join(dir, "load"))
		case <-time.After(time.Second):
		}
		if time.Since(last) > time.Minute {
			last = time.Now()
			r.say("  CNRI load still running (%s)", time.Since(start).Round(time.Second))
		}
	}
	if load.Failed > 0 || load.Loaded != held {
		stop()
		return t, nil, fmt.Errorf("CNRI batch load: %d of %d created, %d failed (see %s)", load.Loaded, held, load.Failed, filepath.Join(dir, "load"))
	}
	t = handleTarget{System: "CNRI HANDLE.NET 7.3.1", Addr: addr, PID: cmd.Process.Pid, IDs: held}
	r.say("  CNRI holds %d identifiers, loaded in %.0f s (%.0f/s, %d batch clients)", load.Loaded, load.Seconds, load.PerSecond, load.Jobs)
	// The JVM starts cold: a few seconds of both transports first, not
	// counted, so the timed runs see the server as it runs for long.
	for _, udp := range []string{"", "--udp"} {
		args := []string{"handle", "--conns", strconv.Itoa(r.conns), "--concurrency", strconv.Itoa(r.conc), "--duration", "3s", "--ids", strconv.Itoa(held)}
		if udp != "" {
			args = append(args, udp)
		}
		if _, _, err := r.bench(addr, args...); err != nil {
			stop()
			return handleTarget{}, nil, fmt.Errorf("CNRI warm-up: %w", err)
		}
	}
	r.notes = append(r.notes, fmt.Sprintf("Handle reference: CNRI's HANDLE.NET server 7.3.1 (OpenJDK %s, the JVM's default settings) built from scratch by `cmd/idres-bench-ref/cnri-handle.sh`: "+
		"its own setup tool's answers (primary server, keys without passphrase), JDB storage, TCP and UDP on loopback with its default 15 handler threads each, no HTTP interface, "+
		"no recursion, and root_info/resolver_site naming itself, so it never asks the global registry. It holds %d identifiers of the data set (PREFIX/item-0 .. item-%d, "+
		"the same 4 values each as idres, no HS_ADMIN), registered by CNRI's batch tool (GenericBatch, %d clients) in %.0f s, %.0f identifiers/s; "+
		"HANDLE_IDS sets how many. Its JVM is warmed for 3 s per transport before the timed runs. "+
		"HANDLE.NET 7.3 closes a TCP connection after each answer (it ignores the keep-connection flag), so over TCP it accepts a connection per request, "+
		"as hdllib, which opens one per request, expects; idresd keeps the load generator's connections.",
		javaVersion(), load.Loaded, load.Loaded-1, load.Jobs, load.Seconds, load.PerSecond))
	return t, stop, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// javaVersion is the runtime's version line, e.g. "17.0.15".
func javaVersion() string {
	out, err := exec.Command(envOr("JAVA", "java"), "-version").CombinedOutput()
	if err != nil {
		return "?"
	}
	line, _, _ := strings.Cut(string(out), "\n")
	if i := strings.IndexByte(line, '"'); i >= 0 {
		if j := strings.IndexByte(line[i+1:], '"'); j >= 0 {
			return line[i+1 : i+1+j]
		}
	}
	return strings.TrimSpace(line)
}

// procCPU is the CPU time, user and system, that process pid has used so
// far (/proc/PID/stat; Linux counts it in USER_HZ, 100 a second).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// After the name: state (3), ... utime (14), stime (15).
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: utime %q stime %q", pid, f[11], f[12])
	}
	return time.Duration(ut+st) * (time.Second / 100), nil
}
