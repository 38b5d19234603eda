#!/usr/bin/env bash
# make run-replicas: a three-member etcd cluster and two idresd replicas of
# one node (prefix 88.100.1) sharing it, on loopback. Registers a part
# through replica 1, shows it resolved through replica 2, prints what to
# try, and stays in the foreground until Ctrl-C stops everything by PID.
#
# Environment:
#   REPLICAS_DIR   data root, removed first (default demo-data-replicas)
#   ETCD           the etcd binary (default /usr/bin/etcd, else etcd on PATH)
#   ETCD_PORT      first of the members' client ports; peers use +10
#                  (default 23791: clients 23791-23793, peers 23801-23803)
#   IDRES_REPLICA_GRPC  gRPC addresses of the replicas (default
#                  "127.0.0.1:7441 127.0.0.1:7442")
#   BIN            where idres and idresd are (default bin; make builds them)
set -euo pipefail
cd "$(dirname "$0")/../../.."

BIN=${BIN:-bin}
DIR=${REPLICAS_DIR:-demo-data-replicas}
ETCD_PORT=${ETCD_PORT:-23791}
read -r -a REPLICA_GRPC <<<"${IDRES_REPLICA_GRPC:-127.0.0.1:7441 127.0.0.1:7442}"
PREFIX_KEY=/idres/88.100.1 # the replicas' --etcd-prefix

pids=()    # every process started here, stopped by PID on exit
names=()   # what each of pids is, for messages
endpoints=""

say() { printf '%s\n' "$*"; }
die() { printf 'run-replicas: %s\n' "$*" >&2; exit 1; }

on_exit() {
  local code=$? i
  trap - EXIT INT TERM
  if [ ${#pids[@]} -gt 0 ]; then
    say ""
    say "Stopping ${names[*]} (pid ${pids[*]})..."
    # Replicas first, then the cluster they write to.
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
      kill -TERM "${pids[$i]}" 2>/dev/null || true
      wait "${pids[$i]}" 2>/dev/null || true
    done
    say "Stopped. Data stays in $DIR/ until the next make run-replicas."
  fi
  exit "$code"
}
trap on_exit EXIT
trap 'exit 0' INT  # Ctrl-C is how the demo is meant to end
trap 'exit 143' TERM

# spawn NAME LOG CMD...: runs CMD in its own session (so Ctrl-C reaches
# only this script, which stops it by PID), output to LOG.
spawn() {
  local name=$1 log=$2; shift 2
  printf '%s\n' "$*" >"$log"  # how to start it again by hand
  setsid "$@" >>"$log" 2>&1 &
  pids+=("$!")
  names+=("$name")
}

# Every write rewrites the fence key, so etcd's history grows with writes:
# compact it hourly. Bigger transactions than etcd's default of 128 keys
# let an import batch commit in fewer pieces.
MAX_TXN_OPS=4096

start_etcd() {
  local etcd=${ETCD:-}
  if [ -z "$etcd" ]; then
    if [ -x /usr/bin/etcd ]; then etcd=/usr/bin/etcd; else etcd=$(command -v etcd || true); fi
  fi
  [ -n "$etcd" ] || die "etcd not installed: apt-get install etcd-server"
  local i cluster="" eps=()
  for i in 0 1 2; do
    cluster+="${cluster:+,}m$i=http://127.0.0.1:$((ETCD_PORT + 10 + i))"
    eps+=("http://127.0.0.1:$((ETCD_PORT + i))")
  done
  endpoints=$(IFS=,; echo "${eps[*]}")
  for i in 0 1 2; do
    spawn "etcd-m$i" "$DIR/etcd-m$i.log" "$etcd" --name "m$i" --data-dir "$DIR/etcd-m$i" \
      --listen-client-urls "${eps[$i]}" --advertise-client-urls "${eps[$i]}" \
      --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 10 + i))" \
      --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 10 + i))" \
      --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token idres-demo-replicas \
      --auto-compaction-mode periodic --auto-compaction-retention 1h --max-txn-ops "$MAX_TXN_OPS" \
      --logger zap --log-outputs stderr
  done
  for i in $(seq 1 300); do
    if etcdctl --endpoints "$endpoints" endpoint health >/dev/null 2>&1; then
      return 0
    fi
    for p in "${pids[@]}"; do
      kill -0 "$p" 2>/dev/null || { tail -n 20 "$DIR"/etcd-m*.log >&2; die "an etcd member exited; ports $ETCD_PORT.. in use? Set ETCD_PORT."; }
    done
    sleep 0.1
  done
  die "etcd cluster not healthy after 30s; see $DIR/etcd-m*.log"
}

# start_replica N: idresd replica N (1 or 2) of the node, on the cluster.
start_replica() {
  local n=$1 addr=${REPLICA_GRPC[$(($1 - 1))]}
  local ready="$DIR/replica$n.ready" log="$DIR/replica$n.log"
  spawn "idresd-replica$n" "$log" "$BIN/idresd" --data "$DIR/replica$n" --grpc "$addr" --ready-file "$ready" \
    --store etcd --etcd-endpoints "$endpoints" --etcd-prefix "$PREFIX_KEY" --etcd-max-txn-ops "$MAX_TXN_OPS"
  local pid=${pids[-1]} i
  for i in $(seq 1 300); do
    [ -s "$ready" ] && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      sed 's/^/  /' "$log" >&2
      die "replica $n failed to start; is $addr in use? Set IDRES_REPLICA_GRPC."
    fi
    sleep 0.1
  done
  die "replica $n did not become ready in 30s; see $log"
}

# idres_on N ARGS...: the idres CLI against replica N with the node's
# administrator token (written by replica 1, which created it).
idres_on() {
  local n=$1; shift
  "$BIN/idres" --server "${REPLICA_GRPC[$(($n - 1))]}" --token-file "$DIR/replica1/admin.token" "$@"
}

main() {
  [ -x "$BIN/idresd" ] && [ -x "$BIN/idres" ] || die "$BIN/idresd and $BIN/idres not built; run make run-replicas"
  command -v etcdctl >/dev/null || die "etcdctl not installed: apt-get install etcd-client"
  rm -rf "$DIR"
  mkdir -p "$DIR"

  start_etcd
  say "etcd: 3 members on $endpoints (logs $DIR/etcd-m*.log)"
  start_replica 1
  start_replica 2
  say "idresd: replica 1 on ${REPLICA_GRPC[0]}, replica 2 on ${REPLICA_GRPC[1]}, both --etcd-prefix $PREFIX_KEY"

  idres_on 1 prefix create 88.100.1 >/dev/null
  idres_on 1 create 88.100.1/PUMP-0042 \
    "URL=https://parts.example.com/88.100.1/PUMP-0042" \
    "manufacturer=ACME Pumps GmbH" "batch=B-2026-117" >/dev/null
  say ""
  say "Registered 88.100.1/PUMP-0042 through replica 1; resolved through replica 2:"
  local i
  for i in $(seq 1 50); do
    if out=$("$BIN/idres" --server "${REPLICA_GRPC[1]}" resolve 88.100.1/PUMP-0042 2>&1); then
      printf '%s\n' "$out" | sed 's/^/  /'
      break
    fi
    sleep 0.1
  done
  [ "$i" -lt 50 ] || die "replica 2 did not resolve 88.100.1/PUMP-0042: $out"

  local idres="$BIN/idres" tok="--token-file $DIR/replica1/admin.token"
  cat <<EOF

Try, in another terminal:
  $idres --server ${REPLICA_GRPC[1]} $tok create 88.100.1/VALVE-0007 URL=https://parts.example.com/88.100.1/VALVE-0007
  $idres --server ${REPLICA_GRPC[0]} resolve 88.100.1/VALVE-0007
  etcdctl --endpoints $endpoints endpoint status -w table
  etcdctl --endpoints $endpoints get --prefix $PREFIX_KEY/ --keys-only | head
Stop etcd members by PID (${names[0]}: ${pids[0]}, ${names[1]}: ${pids[1]}, ${names[2]}: ${pids[2]}):
  with one down, both replicas read and write; with two down, reads go on
  from each replica's copy for --etcd-stale-limit (1m) and writes answer
  Unavailable; restart the member (its command line is the first line of
  its log, run from $(pwd)) and writes resume.

Press Ctrl-C to stop.
EOF
  # Stay up until a replica exits or Ctrl-C; etcd members may come and go.
  local code=0
  wait -n "${pids[3]}" "${pids[4]}" || code=$?
  die "a replica exited unexpectedly (status $code); see $DIR/replica*.log"
}

main "$@"
