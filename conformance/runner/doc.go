// Package runner loads the conformance cases (conformance/cases/*.yaml),
// runs them against a target of one or more nodes over gRPC, DNS and HTTP,
// and reports the verdicts (text lines, JSON, JUnit XML) and the coverage
// of SPEC.md's requirements. It talks to nodes only through their public
// interfaces, so it can judge any implementation; it never reads a node's
// store or starts one (conformance/spawn does that).
//
// # Case files
//
// A file holds one area's cases:
//
//	area: values                     # default: the file name
//	cases:
//	  - name: defaults-ttl-and-public  # unique, [a-z0-9-]
//	    requirements: [VAL-004]        # SPEC.md ids the case checks
//	    summary: one sentence
//	    needs: [http]                  # optional: dns, http, child, recursive, root
//	    negative_ttl: 120              # optional: for the case's own prefix {P}
//	    setup:                         # calls that must succeed
//	      - CreateIdentifier: {identifier: "{P}/d", values: [{index: 1, type: URL, data: "https://example.org/"}]}
//	    steps:                         # checked in order; the first failure ends the case
//	      - resolve: {identifier: "{P}/d"}
//	        expect: {outcome: OK, ttl: 86400, values: [{index: 1, public_read: true}]}
//
// A step is one query, with optional node (server, child, recursive or
// root; see the idres conform flags of the same names), as
// (tester, none, bad, wrong, or a saved token such as "{$tok}"), expect and
// save (variable: dotted response path):
//
//   - a gRPC call: "resolve: REQUEST" (Resolver.Resolve), "MethodName:
//     REQUEST" for any unary method of package idres.v1, or "call: Name" with
//     "request: REQUEST". The request is the method's input message in
//     protobuf JSON with proto field names; a value's data is text, or
//     {base64: ...}. expect holds "code" (a gRPC code name; default OK),
//     "error" (matching the status message) and response fields. A client-
//     or bidi-streaming method takes a list of messages, all sent before
//     reading; its expect holds "responses" (the messages received) and
//     "merged" (their list fields concatenated, whatever the packing). A
//     server-streaming method takes one request and is read likewise until
//     the server ends the stream (Watch with backlog_only).
//   - a DNS question: "dns: {name, type, class, tcp, bufsize, do, rd}";
//     expect holds rcode, aa, tc, ra, answer, authority, additional (lists
//     of {name, type, class, ttl, data, txt, text}) and edns {bufsize, do}.
//     With "walk: true" the runner follows NS and glue from the step's node
//     to the final answer (glue has no port: every bridge must listen on
//     the first one's port) and adds path, the servers asked. "raw: HEX"
//     sends those bytes as the datagram; expect then holds answered and
//     rcode (from the answer's header).
//   - an HTTP request: "http: {method, path, headers, body}", redirects not
//     followed; expect holds status, headers (names case-insensitive), body
//     and json.
//
// Registry calls carry the tester's token unless "as" says otherwise;
// lookups (Resolve, DNS, HTTP) carry none. Every case runs under its own
// prefix {P}, a child of the run prefix, created on the server before the
// setup; what the case created (prefixes, delegations, credentials,
// templates) is removed after it, and {P} is force-deleted.
//
// Expectations match by the rules of match: mappings check the keys they
// name, lists match element by element and must have the same length,
// scalars compare as text ("OK" also matches the enum "OUTCOME_OK"), and
// operators ($ne, $contains, $regex, $absent, $present, $len, $lt, $le,
// $gt, $ge, $not, $any) say more. Placeholders ({P}, {PU}, {R}, {ZONE},
// {PDNS}, {GRPC:role}, {DNSADDR:role}, {HTTP:role}, {$var},
// {repeat:TEXT:N}) are expanded in requests and expectations.
//
// Errors in a case file are reported with file and line, all at once.
package runner
