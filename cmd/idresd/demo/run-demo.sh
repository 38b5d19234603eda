#!/usr/bin/env bash
# make run: start a demo idres node on a fresh data directory, register the
# demo prefix 88.100.1 with a few parts through the idres CLI, print what to
# try, and stay in the foreground until Ctrl-C stops everything cleanly.
#
# The script is built from small functions (start_node, idres_on,
# register_*) so that more nodes (a root, a national node, delegations) can
# be added as more calls in main.
#
# Environment:
#   DEMO_DIR         data directory root, removed first (default demo-data)
#   IDRES_DEMO_GRPC  gRPC address of the parts node (default 127.0.0.1:7420)
#   BIN              where idres and idresd are (default bin; make run builds them)
set -euo pipefail
cd "$(dirname "$0")/../../.."

BIN=${BIN:-bin}
DEMO_DIR=${DEMO_DIR:-demo-data}
PARTS_GRPC=${IDRES_DEMO_GRPC:-127.0.0.1:7420}

pids=()     # idresd processes started here, stopped by PID on exit
declare -A node_addr node_dir
# The demo hierarchy (root, national, secondary, recursive): start_hierarchy, print_hierarchy_tour.
source cmd/idresd/demo/demo-hierarchy.sh
# DNS bridges: dns_flags, dns_from_ready, dns_delegate_flags, dns_tour.
source cmd/idresd/demo/demo-dns.sh
# HTTP gateways: http_flags, http_from_ready, http_delegate_flags, http_tour.
source cmd/idresd/demo/demo-http.sh

say() { printf '%s\n' "$*"; }
die() { printf 'run-demo: %s\n' "$*" >&2; exit 1; }

# stop_nodes sends SIGTERM to every idresd started here and waits for it.
stop_nodes() {
  local pid
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  pids=()
}

on_exit() {
  local code=$?
  trap - EXIT INT TERM
  if [ ${#pids[@]} -gt 0 ]; then
    say ""
    say "Stopping idresd (pid ${pids[*]})..."
    stop_nodes
    say "Stopped. Data stays in $DEMO_DIR/ until the next make run."
  fi
  exit "$code"
}
trap on_exit EXIT
trap 'exit 0' INT  # Ctrl-C is how the demo is meant to end
trap 'exit 143' TERM

# start_node NAME GRPC_ADDR [idresd flags...]: starts idresd with data in
# $DEMO_DIR/NAME, logs in $DEMO_DIR/NAME.log, and waits until it serves.
# Sets node_addr[NAME] to the bound gRPC address.
start_node() {
  local name=$1 addr=$2; shift 2
  local dir="$DEMO_DIR/$name" ready="$DEMO_DIR/$name.ready" log="$DEMO_DIR/$name.log"
  rm -f "$ready"
  # setsid: the node gets its own session, so Ctrl-C in the terminal reaches
  # only this script, which then stops the nodes by PID (setsid execs in
  # place here, so $! is idresd's PID).
  setsid "$BIN/idresd" --data "$dir" --grpc "$addr" --ready-file "$ready" "$@" >"$log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  local i
  for i in $(seq 1 300); do
    if [ -s "$ready" ]; then
      node_addr[$name]=$(sed -n 's/.*"grpc":"\([^"]*\)".*/\1/p' "$ready")
      node_dir[$name]=$dir
      dns_from_ready "$name" "$ready"
      http_from_ready "$name" "$ready"
      [ -n "${node_addr[$name]}" ] || die "node $name: no gRPC address in $ready"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null || true
      local rest=() p
      for p in "${pids[@]}"; do [ "$p" = "$pid" ] || rest+=("$p"); done
      pids=("${rest[@]}")
      say "idresd ($name) failed to start; its log ($log):" >&2
      sed 's/^/  /' "$log" >&2
      die "is $addr already in use? Set IDRES_DEMO_GRPC=127.0.0.1:PORT to pick another address."
    fi
    sleep 0.1
  done
  die "node $name did not become ready in 30s; see $log"
}

# idres_on NAME ARGS...: runs the idres CLI against node NAME with its
# administrator token; output is discarded unless the command fails.
idres_on() {
  local name=$1; shift
  local out
  if ! out=$("$BIN/idres" --server "${node_addr[$name]}" --token-file "${node_dir[$name]}/admin.token" "$@" 2>&1); then
    printf '%s\n' "$out" >&2
    die "idres $* failed"
  fi
}

# register_parts NAME: the demo prefix 88.100.1 with a few industrial parts.
register_parts() {
  local n=$1
  idres_on "$n" prefix create 88.100.1
  idres_on "$n" create 88.100.1/PUMP-0042 \
    "URL=https://parts.example.com/88.100.1/PUMP-0042" \
    "manufacturer=ACME Pumps GmbH" \
    "batch=B-2026-117" \
    "production_date=2026-03-14" \
    "model=CP-200 centrifugal pump"
  idres_on "$n" create 88.100.1/VALVE-0007 \
    "URL=https://parts.example.com/88.100.1/VALVE-0007" \
    "manufacturer=Flowtec AG" \
    "batch=V-0925" \
    "production_date=2025-09-30"
  # A value only authorised callers see: resolve hides it, get shows it.
  idres_on "$n" set 88.100.1/VALVE-0007 --private "10:supplier_price=EUR 412.00"
  idres_on "$n" create 88.100.1/MOTOR-0100 \
    "URL=https://parts.example.com/88.100.1/MOTOR-0100" \
    "manufacturer=Elmo Drives" \
    "batch=M-2026-002" \
    "production_date=2026-01-08" \
    "rated_power=5.5 kW"
  idres_on "$n" create 88.100.1/SENSOR-0815 \
    "URL=https://parts.example.com/88.100.1/SENSOR-0815" \
    "manufacturer=Messwerk KG" \
    "batch=S-77" \
    "production_date=2026-02-20"
}

# print_tour NAME: the commands to try against node NAME.
print_tour() {
  local n=$1 idres="$BIN/idres"
  local server="" token="--token-file ${node_dir[$n]}/admin.token"
  if [ "${node_addr[$n]}" != "127.0.0.1:7420" ]; then
    server="--server ${node_addr[$n]} "
  fi
  cat <<EOF

idres demo node serving on ${node_addr[$n]} (data: ${node_dir[$n]}, log: $DEMO_DIR/$n.log)
Registered prefix 88.100.1 with PUMP-0042, VALVE-0007, MOTOR-0100, SENSOR-0815.

Try, in another terminal:
  $idres ${server}resolve 88.100.1/PUMP-0042
  $idres ${server}resolve 88.100.1/pump-0042 --type manufacturer
  $idres ${server}resolve 88.100.1/VALVE-0007 --json
  $idres ${server}resolve 88.100.1/NOPE; echo "exit \$?"
  $idres ${server}resolve 0.NA/88.100.1
  $idres ${server}$token get 88.100.1/VALVE-0007
  $idres ${server}$token list 88.100.1
  $idres ${server}$token set 88.100.1/PUMP-0042 4:production_date=2026-03-15
  $idres ${server}$token create 88.100.1/PUMP-0043 URL=https://parts.example.com/88.100.1/PUMP-0043 manufacturer="ACME Pumps GmbH"
  $idres help
  grpcurl -plaintext ${node_addr[$n]} list

Press Ctrl-C to stop.
EOF
}

main() {
  [ -x "$BIN/idresd" ] && [ -x "$BIN/idres" ] || die "$BIN/idresd and $BIN/idres not built; run make run"
  rm -rf "$DEMO_DIR"
  mkdir -p "$DEMO_DIR"

  # shellcheck disable=SC2046 # dns_flags prints words on purpose
  start_node parts "$PARTS_GRPC" $(dns_flags 127.0.0.14) $(http_flags 8080)
  register_parts parts
  register_http_parts parts
  start_hierarchy
  print_hierarchy_tour
  print_tour parts
  dns_tour parts 88.100.1/PUMP-0042 88.100.1/VALVE-0007
  dns_chain_tour 88.100.1/PUMP-0042
  http_tour parts

  # Stay in the foreground until a node exits or Ctrl-C (the traps stop
  # the nodes).
  local code=0
  wait -n "${pids[@]}" || code=$?
  die "an idresd exited unexpectedly (status $code); see $DEMO_DIR/*.log"
}

main "$@"
