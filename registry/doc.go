// Package registry is the gRPC Registry service: it authenticates nothing
// itself (auth's interceptor does), authorises every call through policy,
// validates requests, and turns them into store transactions. Errors leave
// through rpcerr.Status only.
package registry
