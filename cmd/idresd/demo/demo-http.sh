# Sourced by run-demo.sh: HTTP gateways of the demo (README "HTTP").
#
# The parts node serves HTTP on 127.0.0.1:8080 and the recursive node on
# 127.0.0.1:8081 (a free port when those are taken), so a browser or curl
# can ask either: the parts node answers from its zone, the recursive node
# walks the hierarchy and caches.
#
# Environment:
#   DEMO_HTTP  set to "off" to start no gateways

declare -A node_http  # NAME -> gateway base URL, from the ready file

# http_flags PORT: the idresd flag for a gateway on 127.0.0.1:PORT, or on a
# free port when something already listens there.
http_flags() {
  [ "${DEMO_HTTP:-}" = off ] && return 0
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    printf -- '--http 127.0.0.1:0'
  else
    printf -- '--http 127.0.0.1:%s' "$1"
  fi
}

# http_from_ready NAME READY_FILE: records the gateway a node bound.
http_from_ready() {
  local addr
  addr=$(sed -n 's/.*"http":"\([^"]*\)".*/\1/p' "$2")
  node_http[$1]=${addr:+http://$addr}
}

# http_delegate_flags NAME: the --http flag for `idres delegate` to node
# NAME (empty when it runs no gateway), so referrals name its gateway.
http_delegate_flags() {
  [ -n "${node_http[$1]:-}" ] && printf -- '--http %s' "${node_http[$1]}"
}

# register_http_parts NAME: a part without a URL value, whose landing page
# is therefore the HTML page of its values.
register_http_parts() {
  idres_on "$1" create 88.100.1/GASKET-0003 \
    "manufacturer=Dichtwerk GmbH" \
    "material=EPDM, 80 Shore A" \
    "batch=G-2026-031" \
    "production_date=2026-02-02" \
    "datasheet=https://parts.example.com/ds/GASKET-0003.pdf"
}

# http_tour NAME: curl lines, a browser URL and a QR label for node NAME's
# gateway (and the recursive node's, when it runs one).
http_tour() {
  local n=$1 base=${node_http[$1]:-} rec=${node_http[recursive]:-}
  [ -n "$base" ] || return 0
  say ""
  say "HTTP gateway of $n on $base (Handle REST JSON, landing pages, /metrics):"
  if command -v curl >/dev/null; then
    local url="$base/api/handles/88.100.1/PUMP-0042?type=manufacturer&pretty"
    say ""
    say "\$ curl -s '$url'"
    curl -s "$url" || true
    say ""
  fi
  say "  curl -s '$base/api/handles/88.100.1/PUMP-0042?pretty'"
  say "  curl -si $base/88.100.1/PUMP-0042        # 302 to its URL value"
  say "  curl -s $base/metrics | grep ^idres_"
  [ -z "$rec" ] || say "  curl -s '$rec/api/handles/88.100.1/GASKET-0003?pretty'   # recursive node: walks root -> 88 -> 88.100 -> parts"
  say "  $BIN/idres --server ${node_addr[$n]} qr 88.100.1/GASKET-0003 --out gasket.png"
  say "Open in a browser (no URL value, so its page): $base/88.100.1/GASKET-0003"
}
