// Package httpgw is the HTTP gateway of a node (design §8): the Handle.net
// REST shaped JSON API under /api/handles/, landing pages for people (a
// scanned QR code) at /{identifier}, and /healthz, /readyz and /metrics.
//
// It owns the mapping of resolution outcomes to Handle REST response codes
// and HTTP statuses (status.go), the identifier's place in a URL (path.go)
// and the HTML of a landing page. It answers every lookup through a
// resolver.Resolver, so HTTP gives the same answers as gRPC and DNS; it
// never touches the store itself and serves public values only (it carries
// no credentials).
//
// Routing is done here rather than with http.ServeMux on purpose: ServeMux
// cleans paths (redirecting "//" and "/../"), and an identifier's suffix may
// legitimately contain such sequences.
package httpgw
