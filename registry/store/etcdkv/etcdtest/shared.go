package etcdtest

import (
	"fmt"
	"os"
	"testing"
)

// StartShared starts a cluster for a whole test binary, from TestMain,
// where there is no testing.TB; Shutdown ends it. Stop, Kill and Restart
// are for clusters of one test (Start).
func StartShared(n int, opts ...Option) *Cluster {
	tb := &mainTB{}
	c := Start(tb, n, opts...)
	c.shared = tb
	return c
}

// Shutdown kills the members of a shared cluster and removes its files.
func (c *Cluster) Shutdown() {
	if c.shared != nil {
		c.shared.finish()
	}
}

// mainTB is the little of testing.TB that Start uses, outside a test.
// The embedded nil interface only satisfies testing.TB's private method;
// any other method would panic, which Start does not call.
type mainTB struct {
	testing.TB
	dirs     []string
	cleanups []func()
}

func (m *mainTB) Helper()          {}
func (m *mainTB) Failed() bool     { return false }
func (m *mainTB) Log(args ...any)  { fmt.Fprintln(os.Stderr, args...) }
func (m *mainTB) Cleanup(f func()) { m.cleanups = append(m.cleanups, f) }

func (m *mainTB) TempDir() string {
	dir, err := os.MkdirTemp("", "etcdtest-")
	if err != nil {
		m.Fatalf("etcdtest: temporary directory: %v", err)
	}
	m.dirs = append(m.dirs, dir)
	return dir
}

// Fatalf ends what was started, then stops the binary: outside a test
// there is nothing to fail but the run.
func (m *mainTB) Fatalf(format string, args ...any) {
	m.finish()
	panic(fmt.Sprintf(format, args...))
}

func (m *mainTB) finish() {
	for i := len(m.cleanups) - 1; i >= 0; i-- {
		m.cleanups[i]()
	}
	m.cleanups = nil
	for _, d := range m.dirs {
		os.RemoveAll(d)
	}
	m.dirs = nil
}
