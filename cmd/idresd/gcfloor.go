package main

import "os"

// gcBallast raises the garbage collector's heap goal by its size. idresd
// serves from the memory-mapped store, so its live heap is a few MiB and
// with Go's defaults the collector ran every few MiB allocated: a third of
// the node's CPU under Resolve load went to collecting. The ballast holds
// no pointers (never scanned) and is never written, so the OS never backs
// it with memory: it costs address space, not RSS. An operator who sets
// GOGC or GOMEMLIMIT tunes the collector and gets no ballast.
var gcBallast = newBallast()

const ballastBytes = 64 << 20

func newBallast() []byte {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return nil
	}
	return make([]byte, ballastBytes)
}
