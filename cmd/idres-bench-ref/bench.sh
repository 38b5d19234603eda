#!/bin/sh
# make bench: builds idres, installs the reference tooling (dnsperf from
# Debian, CoreDNS from the Go module proxy into a bench-local GOBIN), then
# runs `idres-bench-ref run`, which measures idres and the references side
# by side and writes cmd/idres-bench-ref/results/results.md and cmd/idres-bench-ref/results/results.svg.
#
#   N=1000000 RUNS=3 DURATION=10s OUT=cmd/idres-bench-ref/results/results.md cmd/idres-bench-ref/bench.sh
#
# Large N (e.g. 10000000): the import runs once above 2M identifiers
# (IMPORT_RUNS to change) and CoreDNS is given the first DNS_IDS (1M)
# identifiers, since it holds its zone in memory. CNRI's Handle server holds
# the first HANDLE_IDS (100000; see the Handle reference section below).
set -eu
cd "$(dirname "$0")/../.."
N=${N:-1000000}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10s}
OUT=${OUT:-cmd/idres-bench-ref/results/results.md}
WORK=${WORK:-${TMPDIR:-/tmp}/idres-bench}
COREDNS_VERSION=${COREDNS_VERSION:-v1.15.0}
GO=${GO:-go}
TOOLS=$(pwd)/cmd/idres-bench-ref/.tools

echo "bench: building"
mkdir -p bin "$TOOLS"
$GO build -o bin/ ./cmd/...

# dnsperf: Debian package, as CI installs its tools.
DNSPERF=$(command -v dnsperf || true)
if [ -z "$DNSPERF" ]; then
	echo "bench: installing dnsperf (apt-get)"
	SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
	{ $SUDO apt-get install -y dnsperf || { $SUDO apt-get update && $SUDO apt-get install -y dnsperf; }; } >"$TOOLS/apt.log" 2>&1 || echo "bench: dnsperf not installed (see $TOOLS/apt.log); DNS comparison will be skipped"
	DNSPERF=$(command -v dnsperf || true)
fi

# CoreDNS: built from the module proxy, pinned, into cmd/idres-bench-ref/.tools.
COREDNS="$TOOLS/coredns"
if [ ! -x "$COREDNS" ] || ! "$COREDNS" -version 2>/dev/null | grep -q "${COREDNS_VERSION#v}"; then
	echo "bench: building CoreDNS $COREDNS_VERSION (go install, once)"
	(cd "$TOOLS" && GOBIN="$TOOLS" GOFLAGS=-mod=mod $GO install "github.com/coredns/coredns@$COREDNS_VERSION") >"$TOOLS/coredns-build.log" 2>&1 \
		|| { echo "bench: CoreDNS build failed (see $TOOLS/coredns-build.log); DNS comparison will be skipped"; COREDNS=""; }
fi
[ -x "${COREDNS:-/nonexistent}" ] || COREDNS=""

# --- Handle reference: CNRI's HANDLE.NET server --------------------------
# cmd/idres-bench-ref/cnri-handle.sh runs CNRI's HANDLE.NET 7.3.1 (the jar in
# shared/handle-client/lib, beside the repository) beside idresd --handle. It
# needs a Java runtime, from Debian as CI installs its tools. It holds the
# first HANDLE_IDS (default 100000) identifiers, PREFIX/item-0 .. item-(K-1),
# registered by CNRI's batch tool at a few hundred a second; both Handle
# servers are asked those. Without Java or the jar the Handle rows show idres
# alone and the report says why.
export HANDLE_IDS=${HANDLE_IDS:-100000}
if ! command -v "${JAVA:-java}" >/dev/null 2>&1; then
	echo "bench: installing a Java runtime for CNRI's Handle server (apt-get)"
	SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
	{ $SUDO apt-get install -y openjdk-17-jre-headless || { $SUDO apt-get update && $SUDO apt-get install -y openjdk-17-jre-headless; }; } >"$TOOLS/apt-java.log" 2>&1 \
		|| echo "bench: no Java runtime (see $TOOLS/apt-java.log); the Handle reference will be skipped"
fi
# --------------------------------------------------------------------------

exec bin/idres-bench-ref run --bin bin --work "$WORK" --out "$OUT" --n "$N" --runs "$RUNS" --duration "$DURATION" \
	--dnsperf "$DNSPERF" --coredns "$COREDNS" --import-runs "${IMPORT_RUNS:-0}" --dns-ids "${DNS_IDS:-1000000}"
