// Package handlewire is the Handle protocol's wire format: the message
// envelope, header and bodies of RFC 3652 (protocol 2.0 to 2.5, as the
// CNRI hdllib client sends and accepts them) and the value and site
// formats of RFC 3651 (HS_SITE). It encodes and decodes bytes only; the
// server front end (resolver/handleserver) and the Go client
// (resolver/handleclient) own the transports.
//
// A message on the wire is an envelope (20 bytes) followed by the
// message: a header (24 bytes), the body (the header's BodyLength bytes)
// and a credential section (a length and that many bytes, or nothing).
// Every integer is big-endian; a string or byte array is a 4-byte length
// and its bytes.
//
// Decoders never trust a length: each is checked against the bytes left
// before anything is allocated, so a message costs at most its own size
// to decode.
package handlewire
