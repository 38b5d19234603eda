#!/usr/bin/env bash
# cnri-handle.sh: CNRI's HANDLE.NET server (7.3.1, the jar in
# shared/handle-client/lib) as the reference for idres's Handle-protocol
# front end in `make bench`: a server built from scratch on loopback, loaded
# with the bench data set by CNRI's own batch tool, measured with the same
# load generator as idresd --handle.
#
#   cnri-handle.sh setup DIR PORT            fresh server directory: keys (no passphrase), siteinfo,
#                                            config.dct (TCP+UDP on 127.0.0.1:PORT, JDB storage, no HTTP)
#   cnri-handle.sh start DIR [--admin]       starts it in the background, waits until it accepts
#                                            connections, prints its PID (--admin: open to writes for a load)
#   cnri-handle.sh load DIR DATA.jsonl [N]   registers PREFIX/item-0 .. item-(N-1) of DATA (idres bench gen's
#                                            JSON lines, in the file's order; all of it without N) with
#                                            GenericBatch; prints one JSON line with the time
#   cnri-handle.sh stop PID                  stops a server started by `start` (by its PID)
#   cnri-handle.sh serve DIR PORT DATA N     setup, start --admin, load, stop, then runs the server in the
#                                            foreground (for idres-bench-ref run); writes DIR/ready (the
#                                            load's JSON line) once it serves the loaded handles
#
# Environment: HANDLE_LIB (the jars; default shared/handle-client/lib beside the repo or /work/shared),
# JAVA (java), CNRI_JAVA_OPTS (server JVM options; default none: the JVM's defaults), LOAD_JOBS
# (concurrent batch clients; default 2), PREFIX (88.100).
#
# Everything stays on loopback: the server's own resolver and the batch tool get a home directory whose
# .handle/root_info and resolver_site name this server, so nothing is ever asked of the global registry.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
JAVA=${JAVA:-java}
PREFIX=${PREFIX:-88.100}
LOAD_JOBS=${LOAD_JOBS:-2}
if [ -z "${HANDLE_LIB:-}" ]; then
	for d in "$here/../../../shared/handle-client/lib" /work/shared/handle-client/lib; do
		if [ -f "$d/handle.jar" ]; then HANDLE_LIB=$(cd "$d" && pwd); break; fi
	done
fi
[ -f "${HANDLE_LIB:-}/handle.jar" ] || { echo "cnri-handle: handle.jar not found (set HANDLE_LIB)" >&2; exit 2; }
CP="$HANDLE_LIB/handle.jar:$HANDLE_LIB/cnriutil.jar"
# Java 17 refuses a Diffie-Hellman secret for a named cipher (DES, AES) unless
# told to allow the legacy derivation; HANDLE.NET 7.3's session setup, which
# its batch tool uses for administration, needs it. Resolution does not.
JLEGACY=-Djdk.crypto.KeyAgreement.legacyKDF=true

die() { echo "cnri-handle: $*" >&2; exit 1; }
now() { date +%s.%N; }

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2; }

# setup DIR PORT
setup() {
	local dir=$1 port=$2
	[ "$port" -gt 0 ] 2>/dev/null || die "bad port $port"
	rm -rf "$dir"
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	# CNRI's SimpleSetup, answered on stdin: a regular primary server, not
	# dual-stack; it insists on a network-reachable address to publish (any
	# 127.x is refused) and on ports below 32001, so it is given a
	# documentation address (192.0.2.1, never contacted) and 2641/8000, and
	# the site record is rewritten below. Keys are DSA (its default) and
	# stored unencrypted (no passphrase); no access log.
	printf '%s\n' 1 y n 192.0.2.1 127.0.0.1 2641 8000 n 1 "idres bench reference" idres-bench "" "" bench@example.invalid n n n n n n \
		| "$JAVA" -cp "$CP" net.handle.server.SimpleSetup "$dir" >"$dir/setup.log" 2>&1 \
		|| die "SimpleSetup failed (see $dir/setup.log)"
	[ -f "$dir/siteinfo.bin" ] && [ -f "$dir/privkey.bin" ] && [ -f "$dir/admpriv.bin" ] || die "SimpleSetup wrote no keys or siteinfo (see $dir/setup.log)"
	# The site record (HS_SITE, RFC 3651): the server's address becomes
	# 127.0.0.1 and its interfaces TCP (admin+query) and UDP (query) on PORT,
	# no HTTP.
	perl -e '
		my ($f, $port) = @ARGV;
		open my $in, "<:raw", $f or die "$f: $!"; local $/; my $s = <$in>; close $in;
		my $addr = ("\0" x 12) . pack("C4", 192, 0, 2, 1);
		my $n = () = $s =~ /\Q$addr\E/g; $n == 1 or die "site address found $n times\n";
		$s =~ s/\Q$addr\E/("\0" x 12) . pack("C4", 127, 0, 0, 1)/e;
		my $ifs = pack("N CCN CCN CCN", 3, 3, 1, 2641, 2, 0, 2641, 3, 2, 8000);
		substr($s, -length $ifs) eq $ifs or die "unexpected interface list\n";
		substr($s, -length $ifs) = pack("N CCN CCN", 2, 3, 1, $port, 2, 0, $port);
		open my $out, ">:raw", $f or die; print $out $s; close $out;
	' "$dir/siteinfo.bin" "$port" || die "could not rewrite siteinfo.bin"
	write_config "$dir" "$port" no
	# A home directory for the server's JVM and the batch tool: root_info (the
	# values of 0.NA/0.NA, one HS_SITE) and resolver_site name this server,
	# and local_nas "*" sends every request there.
	mkdir -p "$dir/home/.handle"
	cp "$dir/siteinfo.bin" "$dir/home/.handle/resolver_site"
	echo '*' >"$dir/home/.handle/local_nas"
	perl -e '
		open my $in, "<:raw", $ARGV[0] or die; local $/; my $s = <$in>;
		my $v = pack("N N C N C", 1, 0, 0, 86400, 0x0e) . pack("N/a*", "HS_SITE") . pack("N/a*", $s) . pack("N", 0);
		print pack("N N", 4 + length $v, 1) . $v;
	' "$dir/siteinfo.bin" >"$dir/home/.handle/root_info"
	echo "$port" >"$dir/port"
}

# write_config DIR PORT ADMIN(yes|no)
write_config() {
	local dir=$1 port=$2 admin=$3 open=""
	# Open to anonymous writes only while loading (the admin's identity,
	# 0.NA/PREFIX, would otherwise have to be resolved at the global
	# registry); the measured server runs without it.
	[ "$admin" = yes ] && open='    "anonymous_admin_full_access" = "yes"'
	cat >"$dir/config.dct" <<EOF
{
  "server_type" = "server"
  "interfaces" = (
    "hdl_udp"
    "hdl_tcp"
  )
  "hdl_udp_config" = {
    "bind_address" = "127.0.0.1"
    "bind_port" = "$port"
    "num_threads" = "15"
    "log_accesses" = "no"
  }
  "hdl_tcp_config" = {
    "bind_address" = "127.0.0.1"
    "bind_port" = "$port"
    "num_threads" = "15"
    "backlog" = "50"
    "log_accesses" = "no"
  }
  "log_save_config" = {
    "log_save_directory" = "logs"
    "log_save_interval" = "Never"
  }
  "no_udp_resolution" = "no"
  "server_config" = {
    "storage_type" = "JDB"
    "this_server_id" = "1"
    "server_admins" = (
      "300:0.NA/$PREFIX"
    )
    "replication_admins" = (
      "300:0.NA/$PREFIX"
    )
    "backup_admins" = (
      "300:0.NA/$PREFIX"
    )
    "max_session_time" = "86400000"
    "max_auth_time" = "60000"
    "case_sensitive" = "no"
    "allow_recursion" = "no"
    "enable_monitor_daemon" = "no"
$open
  }
}
EOF
}

# server_cmd DIR: sets SERVER_CMD, the server's command line.
server_cmd() {
	local dir=$1
	# shellcheck disable=SC2206
	SERVER_CMD=("$JAVA" $JLEGACY ${CNRI_JAVA_OPTS:-} -Duser.home="$dir/home" -cp "$CP" net.handle.server.Main "$dir")
}

# wait_port PORT PID: until the server accepts a TCP connection.
wait_port() {
	local port=$1 pid=$2
	for _ in $(seq 1 600); do
		kill -0 "$pid" 2>/dev/null || return 1
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	return 1
}

# start DIR [--admin]
start() {
	local dir=$1 admin=no
	[ "${2:-}" = --admin ] && admin=yes
	dir=$(cd "$dir" && pwd)
	local port
	port=$(cat "$dir/port")
	write_config "$dir" "$port" "$admin"
	rm -f "$dir/ready"
	server_cmd "$dir"
	setsid "${SERVER_CMD[@]}" >>"$dir/server.out" 2>&1 </dev/null &
	local pid=$!
	echo "$pid" >"$dir/server.pid"
	wait_port "$port" "$pid" || { stop "$pid"; die "server did not start (see $dir/server.out and $dir/logs/error.log)"; }
	echo "$pid"
}

# stop PID: SIGTERM (the JVM's shutdown hook closes the storage), then waits.
stop() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 300); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}

# batch_values N: idres bench gen's JSON lines on stdin -> GenericBatch
# CREATE blocks on stdout (each value UTF8 text, TTL 86400, admin
# read/write + public read, as idres serves them; no HS_ADMIN value, as
# idres has none). N > 0 keeps PREFIX/item-K for K < N only, the
# identifiers `idres bench handle --ids N` asks.
batch_values() {
	perl -MJSON::PP -ne '
		BEGIN { $j = JSON::PP->new->utf8(0); $max = shift @ARGV }
		if ($max > 0) { /"identifier":"[^"\/]*\/item-(\d+)"/ && $1 < $max or next }
		my $r = $j->decode($_);
		print "CREATE $r->{identifier}\n";
		for my $v (@{$r->{values}}) {
			my $d = $v->{data};
			die "line $.: a value with a line break cannot go into a batch file\n" if $d =~ /[\r\n]/;
			print "$v->{index} $v->{type} ", ($v->{ttl} // 86400), " 1110 UTF8 $d\n";
		}
		print "\n";
	' "$1"
}

# load DIR DATA [N]: prints {"loaded":..,"failed":..,"seconds":..,"per_second":..}
load() {
	local dir=$1 data=$2 n=${3:-0}
	dir=$(cd "$dir" && pwd)
	local port work
	port=$(cat "$dir/port")
	work="$dir/load"
	rm -rf "$work"
	mkdir -p "$work"
	# The batch tool signs in as the server admin (the key SimpleSetup made);
	# while the server is open to writes it is never challenged.
	auth() { printf 'AUTHENTICATE PUBKEY:300:0.NA/%s\n%s|\n\n' "$PREFIX" "$dir/admpriv.bin"; }
	batch_values "$n" <"$data" >"$work/all.body"
	local total
	total=$(grep -c '^CREATE ' "$work/all.body" || true)
	# The prefix: the server takes handles only under prefixes homed on it.
	{ auth; printf 'HOME 127.0.0.1:%s:TCP\n0.NA/%s\n\n' "$port" "$PREFIX"; } >"$work/home.batch"
	(cd "$work" && "$JAVA" $JLEGACY -Duser.home="$dir/home" -cp "$CP" net.handle.apps.batch.GenericBatch home.batch home.log >/dev/null 2>&1) || true
	grep -q 'SUCCESS' "$work/home.log" || die "homing $PREFIX failed (see $work/home.log)"
	# LOAD_JOBS batch clients side by side, each on its share of the blocks.
	local jobs=$LOAD_JOBS
	[ "$total" -lt "$jobs" ] && jobs=1
	# Whole CREATE blocks (blank-line separated), dealt out in turn.
	awk -v k="$jobs" -v dir="$work" 'BEGIN { RS = ""; ORS = "\n\n" } { print > sprintf("%s/part.%02d", dir, (NR - 1) % k) }' "$work/all.body"
	local t0 t1 f
	t0=$(now)
	for f in "$work"/part.??; do
		{ auth; cat "$f"; } >"$f.batch"
		rm -f "$f"
		(cd "$work" && exec "$JAVA" $JLEGACY -Duser.home="$dir/home" -cp "$CP" net.handle.apps.batch.GenericBatch "$f.batch" "$f.log" >/dev/null 2>&1) &
	done
	wait
	t1=$(now)
	local ok failed
	ok=$(cat "$work"/part.??.log | grep -c '^==>SUCCESS' || true)
	failed=$(cat "$work"/part.??.log | grep -c '^==>FAIL\|^==>INVALID' || true)
	rm -f "$work/all.body" "$work"/part.??.batch
	perl -e 'my ($ok, $failed, $total, $jobs, $s) = @ARGV; printf "{\"loaded\":%d,\"failed\":%d,\"records\":%d,\"jobs\":%d,\"seconds\":%.1f,\"per_second\":%.1f}\n", $ok, $failed, $total, $jobs, $s, $s > 0 ? $ok / $s : 0' \
		"$ok" "$failed" "$total" "$jobs" "$(perl -e 'print $ARGV[0] - $ARGV[1]' "$t1" "$t0")"
	[ "$failed" -eq 0 ] || echo "cnri-handle: $failed creates failed (see $work/part.*.log)" >&2
}

# serve DIR PORT DATA N: everything, then the server in the foreground.
serve() {
	local dir=$1 port=$2 data=$3 n=$4
	setup "$dir" "$port"
	dir=$(cd "$dir" && pwd)
	local pid res
	pid=$(start "$dir" --admin)
	res=$(load "$dir" "$data" "$n") || { stop "$pid"; exit 1; }
	stop "$pid"
	write_config "$dir" "$port" no
	# The ready file is written once the restarted server accepts
	# connections; exec keeps the PID, so the caller's signals reach the JVM.
	(
		for _ in $(seq 1 600); do
			if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$res" >"$dir/ready.tmp" && mv "$dir/ready.tmp" "$dir/ready"; exit 0; fi
			sleep 0.1
		done
	) &
	server_cmd "$dir"
	exec "${SERVER_CMD[@]}"
}

[ $# -ge 1 ] || usage
cmd=$1
shift
case "$cmd" in
setup) [ $# -eq 2 ] || usage; setup "$@" ;;
start) [ $# -ge 1 ] || usage; start "$@" ;;
load) [ $# -ge 2 ] || usage; load "$@" ;;
stop) [ $# -eq 1 ] || usage; stop "$@" ;;
serve) [ $# -eq 4 ] || usage; serve "$@" ;;
*) usage ;;
esac
