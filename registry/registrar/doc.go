// Package registrar is the gRPC Registry service, a service above the
// foundation (see README "Layout"): it authenticates nothing itself
// (resolver/grpcserver's interceptor does), authorises every call through
// registry/credential's policy before any lookup, validates requests, and
// turns them into store transactions. Every change is written through
// update (audit.go), which appends its audit record in the same
// transaction; values are checked against the prefix's metadata template
// (templates.go) there too. Patterns (patterns.go) are checked by package
// pattern before they are stored; a delete may leave a tombstone
// (tombstones.go). It returns wrapped Go errors; the gRPC transport maps
// them to status codes in one place (grpcserver.Status).
package registrar
