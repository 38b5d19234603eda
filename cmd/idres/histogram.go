package main

import (
	"math/bits"
	"time"
)

// latencyHist is a log-linear histogram of durations in nanoseconds, in
// the manner of HdrHistogram: exact below 128 ns, then 64 sub-buckets per
// power of two, so any recorded value is reported within 1/64 (1.6%) of
// itself. It is not safe for concurrent use: give each worker its own and
// merge them.
type latencyHist struct {
	counts [128 + 58*64]uint64
	n      uint64
	max    uint64
	sum    uint64
}

func histIndex(v uint64) int {
	if v < 128 {
		return int(v)
	}
	e := bits.Len64(v) - 7 // v>>e is in [64, 128)
	return 128 + (e-1)*64 + int(v>>e) - 64
}

// histValue is the highest value that falls in bucket i.
func histValue(i int) uint64 {
	if i < 128 {
		return uint64(i)
	}
	e := (i-128)/64 + 1
	m := uint64((i-128)%64 + 64)
	return (m+1)<<e - 1
}

func (h *latencyHist) Record(d time.Duration) {
	v := uint64(max(d, 0))
	h.counts[histIndex(v)]++
	h.n++
	h.sum += v
	h.max = max(h.max, v)
}

func (h *latencyHist) Merge(o *latencyHist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

func (h *latencyHist) Count() uint64 { return h.n }

// Quantile is the value at or below which a fraction q of the recorded
// values lie (reported as the top of its bucket, never above the max).
func (h *latencyHist) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(histValue(i), h.max))
		}
	}
	return time.Duration(h.max)
}

func (h *latencyHist) Max() time.Duration { return time.Duration(h.max) }

func (h *latencyHist) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / h.n)
}
