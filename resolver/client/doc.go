// Package client is the Go client of an idres node, in the manner of
// etcd's client/v3: one connection carrying the whole idres.v1 API, and the
// pipelines that are more than one call. The idres CLI, the conformance
// runner, the recursive walker and the node's own feeds use it; a Go
// program that talks to a node should too.
//
// # What a Client holds
//
// Dial returns a Client that embeds the four service stubs of
// proto/idres/v1, so every RPC is a method of the Client:
//
//   - Resolver: Resolve, ResolveStream (public: no credential needed).
//   - Registry: prefixes, identifiers, delegations, credentials,
//     templates, patterns, audit, Search, Watch and the Import stream.
//   - Admin: FlushCache (a recursive node's cache).
//   - Backup: Snapshot (node administrator only).
//
// and adds what plain stubs lack: ImportFrom (the sorted, batched bulk
// load behind `idres import`) and SnapshotTo (a snapshot written out and
// checked against the node's own size and SHA-256).
//
// # Contract
//
//   - Dial never blocks and never fails because the node is down: the
//     connection is made lazily and an unreachable node is the error of
//     the first call (gRPC code Unavailable).
//   - Options.Token is sent on every call as "authorization: Bearer
//     <token>". A node authenticates every method except the public ones
//     (Resolve, ResolveStream, health); without a token those fail with
//     codes.Unauthenticated, and with a token of too small a role with
//     codes.PermissionDenied. WithToken sets a token for one call instead.
//   - Options.TLS secures the connection; nil means plaintext, which a
//     node accepts only on loopback. LoadTLS builds the configuration from
//     PEM files and is the one client-side TLS loader of idres.
//   - Errors are gRPC status errors: compare status.Code(err) with the
//     codes the spec (conformance/SPEC.md) gives each outcome. Deadlines
//     and cancellation come from the ctx of each call; the Client sets
//     none of its own.
//   - A Client is safe for concurrent use by many goroutines; Close ends
//     every call in flight.
//
// # What it must never do
//
// This package links no storage and no server: `go list -deps` of it
// shows neither bbolt nor etcd, so that a program embedding the client
// carries only gRPC, the generated API and the identifier and bulk-file
// parsers (registry/ident, registry/bulkfile).
package client
