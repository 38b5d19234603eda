// Package registry is the gRPC Registry service: it authenticates nothing
// itself (auth's interceptor does), authorises every call through policy
// (policy.go, before any lookup), validates requests, and turns them into
// store transactions. Every change is written through update (audit.go),
// which appends its audit record in the same transaction; values are
// checked against the prefix's metadata template (templates.go) there
// too. Patterns (patterns.go) are checked by package pattern before they
// are stored; a delete may leave a tombstone (tombstones.go). Errors leave
// through rpcerr.Status only.
package registrar
