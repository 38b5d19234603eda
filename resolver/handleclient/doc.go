// Package handleclient is a Go client of the Handle protocol (RFC 3652):
// it resolves handles and asks for site information at any Handle
// server, idres's own front end (resolver/handleserver) or CNRI's
// HANDLE.NET alike, over TCP or UDP.
//
// It sends what hdllib 7.3 sends (protocol 2.5, flags REC|CA|PO, site
// info serial 0xffff, an expiration twelve hours ahead, an empty
// credential) and accepts what hdllib accepts: the answer must echo the
// request id, must not have expired, and must fit MaxMessageLength. A
// UDP answer is reassembled from its datagrams as hdllib does (each
// carries MaxUDPPacket-EnvelopeSize bytes of the message at its sequence
// number); one marked truncated is asked again over TCP.
//
// A response code other than success is an answer, not an error: the
// caller reads Answer.RC (as a DNS client reads the rcode). Errors are
// failures to get a well-formed answer: unreachable server, deadline,
// malformed or expired message, an answer to another request.
//
// The client never follows referrals. A certified answer (Certify) comes
// back with its credential section unverified; Answer.Verify checks the
// signature with a server key the caller chooses (verify.go).
package handleclient
