# Sourced by run-demo.sh: the demo hierarchy around the parts node.
#
#   root (holds "")  --delegates 88-->        national (holds 88)
#   national         --delegates 88.100-->    secondary (holds 88.100)
#   secondary        --delegates 88.100.1-->  parts (holds 88.100.1, the demo parts)
#   recursive (holds nothing, --root <root>)  walks that chain and caches
#
# Delegations are registered through the idres CLI (the Registry API), as
# an operator would. Uses start_node, idres_on, node_addr and node_dir of
# run-demo.sh.
#
# Environment:
#   IDRES_DEMO_RECURSIVE  gRPC address of the recursive node (default 127.0.0.1:7430)
# The root, national and secondary nodes listen on free loopback ports.

RECURSIVE_GRPC=${IDRES_DEMO_RECURSIVE:-127.0.0.1:7430}

# start_hierarchy: starts root, national and secondary, creates their zones,
# delegates 88 -> national -> 88.100 -> secondary -> 88.100.1 -> parts,
# then starts the recursive node pointed at the root.
start_hierarchy() {
  # Each authoritative node runs a DNS bridge (demo-dns.sh): port 53 of its
  # own loopback address when possible, so resolvers can walk the chain.
  # shellcheck disable=SC2046 # dns_flags prints words on purpose
  start_node root 127.0.0.1:0 $(dns_flags 127.0.0.11)
  # shellcheck disable=SC2046
  start_node national 127.0.0.1:0 $(dns_flags 127.0.0.12)
  # shellcheck disable=SC2046
  start_node secondary 127.0.0.1:0 $(dns_flags 127.0.0.13)
  idres_on root prefix create ""
  idres_on national prefix create 88
  idres_on secondary prefix create 88.100
  # shellcheck disable=SC2046 # dns_delegate_flags prints words on purpose
  idres_on root delegate 88 --grpc "${node_addr[national]}" $(dns_delegate_flags national)
  # shellcheck disable=SC2046
  idres_on national delegate 88.100 --grpc "${node_addr[secondary]}" $(dns_delegate_flags secondary)
  # shellcheck disable=SC2046
  idres_on secondary delegate 88.100.1 --grpc "${node_addr[parts]}" $(dns_delegate_flags parts) $(http_delegate_flags parts)
  # shellcheck disable=SC2046 # http_flags prints words on purpose
  start_node recursive "$RECURSIVE_GRPC" --recursive --root "${node_addr[root]}" $(http_flags 8081)
}

# show CMD...: prints a command as typed, then runs it and prints its output.
show() {
  printf '\n$ %s\n' "$*"
  "$@" 2>&1 || true
}

# print_hierarchy_tour: resolves a part through the recursive node (then a
# filter of it, from the cache), traces the walk from the root, and shows
# a denial.
print_hierarchy_tour() {
  local idres="$BIN/idres" rec=${node_addr[recursive]} root=${node_addr[root]}
  cat <<EOF

Hierarchy on loopback:
  root       ${node_addr[root]}  holds ""        delegates 88       -> national
  national   ${node_addr[national]}  holds 88        delegates 88.100   -> secondary
  secondary  ${node_addr[secondary]}  holds 88.100    delegates 88.100.1 -> parts
  parts      ${node_addr[parts]}  holds 88.100.1  (the demo parts)
  recursive  $rec  holds nothing, --root $root, caches what it learns
EOF
  show "$idres" --server "$rec" resolve 88.100.1/PUMP-0042
  show "$idres" --server "$rec" resolve 88.100.1/PUMP-0042 --type manufacturer
  show "$idres" --server "$root" resolve --trace 88.100.1/PUMP-0042
  show "$idres" --server "$rec" resolve 88.100.9/X
  cat <<EOF

More to try:
  $idres --server $rec resolve 0.NA/88.100.1
  $idres --server $root resolve --trace 88.100.1/NOPE
  $idres --server ${node_addr[secondary]} --token-file ${node_dir[secondary]}/admin.token delegations
  $idres --server $rec --token-file ${node_dir[recursive]}/admin.token flush-cache
EOF
}
