# Sourced by run-demo.sh: DNS bridges for the demo nodes (README "DNS bridge").
#
# Glue in a DNS referral carries an address but no port, so a bridge that a
# stock resolver should walk listens on port 53, each node on its own
# loopback address (127.0.0.11, .12, ...). Binding port 53 needs root; when
# that is not possible the bridge goes on a free high port of 127.0.0.1,
# where dig still works with -p but resolvers cannot follow referrals.
#
# Environment:
#   DEMO_DNS_ZONE  the zone every bridge serves (default id.example.)
#   DEMO_DNS       set to "off" to start no bridges

DEMO_DNS_ZONE=${DEMO_DNS_ZONE:-id.example.}
declare -A node_dns   # NAME -> bound DNS address, from the ready file

# port53_free IP: true when this process may bind IP:53 and no UDP or TCP
# socket is bound there (or on the wildcard address) already.
port53_free() {
  local ip=$1 hex
  [ "$(id -u)" = 0 ] || return 1
  # /proc/net/{udp,tcp} list local addresses as little-endian hex: 127.0.0.11:53 is 0B00007F:0035.
  hex=$(printf '%02X%02X%02X%02X:0035' $(echo "$ip" | awk -F. '{print $4, $3, $2, $1}'))
  ! grep -qE " ($hex|00000000:0035) " /proc/net/udp /proc/net/tcp 2>/dev/null
}

# dns_flags IP: the idresd flags for a bridge on IP:53, or on a high port
# of 127.0.0.1 when IP:53 cannot be bound.
dns_flags() {
  [ "${DEMO_DNS:-}" = off ] && return 0
  if port53_free "$1"; then
    printf -- '--dns %s:53 --dns-zone %s' "$1" "$DEMO_DNS_ZONE"
  else
    printf -- '--dns 127.0.0.1:0 --dns-zone %s' "$DEMO_DNS_ZONE"
  fi
}

# dns_from_ready NAME READY_FILE: records the bridge address a node bound.
dns_from_ready() {
  node_dns[$1]=$(sed -n 's/.*"dns":"\([^"]*\)".*/\1/p' "$2")
}

# dns_delegate_flags NAME: the --dns flag for `idres delegate` to node NAME
# (empty when it runs no bridge).
dns_delegate_flags() {
  [ -n "${node_dns[$1]:-}" ] && printf -- '--dns %s' "${node_dns[$1]}"
}

# dns_tour NAME ID...: dig lines for identifiers served by node NAME.
dns_tour() {
  local n=$1; shift
  local addr=${node_dns[$n]:-}
  [ -n "$addr" ] || return 0
  local host=${addr%:*} port=${addr##*:} p="" id name
  [ "$port" = 53 ] || p="-p $port "
  say ""
  say "DNS bridge of $n on $addr (zone $DEMO_DNS_ZONE):"
  for id in "$@"; do
    name=$("$BIN/idres" dnsname --zone "$DEMO_DNS_ZONE" "$id")
    say "  dig @$host ${p}+norecurse $name TXT"
  done
  if [ "$port" != 53 ]; then
    say "  (port 53 on 127.0.0.x was not available, e.g. not root: dig works with -p, but a recursive"
    say "   resolver cannot follow referrals to this bridge, since glue carries no port)"
  fi
}

# dns_chain_tour ID: when the root, national, secondary and parts bridges
# are all on port 53, how a stock resolver walks them from the root.
dns_chain_tour() {
  local id=$1 n name
  for n in root national secondary parts; do
    case "${node_dns[$n]:-}" in *:53) ;; *) return 0 ;; esac
  done
  name=$("$BIN/idres" dnsname --zone "$DEMO_DNS_ZONE" "$id")
  say ""
  say "The four bridges are on port 53, so a stock resolver walks them from the root:"
  say "  dig @${node_dns[root]%:*} +norecurse $name TXT     # the root's referral to 88"
  say "  unbound with: stub-zone: name: \"$DEMO_DNS_ZONE\" stub-addr: ${node_dns[root]%:*}@53"
  say "                server: do-not-query-localhost: no   (README \"DNS bridge\" has the whole config)"
}
