package main

import (
	"os"
	"runtime/debug"
)

// idresd serves from the memory-mapped store, so its live heap is a few
// MiB, and with Go's defaults the collector ran every few MiB allocated: a
// third of the node's CPU under Resolve load went to collecting. A high
// GOGC spaces collections out (about 60 MiB allocated between them at a
// 6 MiB live heap), and a memory limit keeps that from growing with the
// heap: a node whose live heap is large (a recursive node's cache) gets
// collected as it nears the limit instead of at ten times its live heap.
// An operator who sets GOGC or GOMEMLIMIT tunes the collector alone.
const (
	defaultGCPercent   = 1000
	defaultMemoryLimit = 1 << 30
)

func init() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(defaultGCPercent)
	debug.SetMemoryLimit(defaultMemoryLimit)
}
