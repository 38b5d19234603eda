package handleserver

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/resolver"
	"github.com/idres/idres/resolver/handlewire"
)

// Handler turns Handle requests into responses (Answer); it is safe for
// concurrent use. What it answers:
//
// The envelope. The response echoes the request's session and request
// ids. A request in protocol 2.0 to 2.5 is answered in its own version (as
// CNRI's server does; hdllib accepts its version echoed), a newer 2.x in
// 2.5 (handlewire.Latest); 2.5 answers suggest 2.5. Any other major
// version, an envelope whose message length is not the bytes that follow
// (a multi-packet UDP request included: requests fit one datagram), and a
// message that does not decode get RC_PROTOCOL_ERROR, answered in 2.5 when
// the version is not one this server speaks. Compressed envelopes get
// RC_PROTOCOL_ERROR and encrypted ones RC_OPERATION_NOT_SUPPORTED (no
// sessions), each with a message.
//
// The header. The response has the request's opcode, its flags as
// handlewire.ResponseFlags echoes them (AT cleared on a recursive node,
// whose answers come through its cache), the request's recursion count,
// the site's serial, and an expiration ExpirationWindow from now (hdllib
// refuses an expired response, and 0 is expired). With RD the body starts
// with the request digest (SHA-1 before 2.5, SHA-256 from 2.5); with CT and
// a Config.Credential the credential section carries its signature over
// the response's header and body.
//
// OC_RESOLUTION is asked of the resolver as an anonymous ResolveRequest
// (identifier = the handle, types and indexes as sent). A handle without
// "/" is asked as the prefix handle 0.NA/<handle>: Handle 8's slashless
// form, which hdllib sends to the site a prefix referral (303) names,
// asking there for "88.100.1" where it asked the root for
// "0.NA/88.100.1". The request asks for the Handle protocol's filter
// (FILTER_MODE_ANY), which the answer path applies: a value matches a
// listed index or a listed type, types in any case, "URL." for its
// subtypes. The front end filters nothing itself.
//
//	outcome             response code                body
//	OK                  RC_SUCCESS (1)               the handle as registered and its values
//	NOT_FOUND           RC_HANDLE_NOT_FOUND (100)    error message
//	PREFIX_NOT_FOUND    RC_HANDLE_NOT_FOUND (100)    error message
//	  (no ancestor held RC_SERVER_NOT_RESP (301)      error message
//	  or delegated here,
//	  not recursive)
//	GONE                RC_HANDLE_NOT_FOUND (100)    the tombstone (resolver.GoneMessage)
//	VALUES_NOT_FOUND    RC_VALUES_NOT_FOUND (200)    error message
//	INVALID_IDENTIFIER  RC_INVALID_HANDLE (102)      error message (where the syntax breaks)
//	REFERRAL, 0.NA/…    RC_PREFIX_REFERRAL (303)     0.NA/<delegated prefix> and its service
//	  handle, ≥ 2.5                                  values (resolver.ServiceValues: HS_SITE
//	                                                 per Handle address, IDRES_* endpoints)
//	REFERRAL otherwise  RC_SERVICE_REFERRAL (302)    the same
//	SERVER_FAILURE      RC_ERROR (2)                 "no authoritative node answered"
//	resolver error      RC_ERROR (2)                 "internal error" (the detail is logged)
//	answer too large    RC_ERROR (2)                 "answer too large" (over MaxMessageLength
//	                                                 or MaxValues, which hdllib refuses)
//
// Values keep their index, type and data; the TTL is relative (type 0),
// the timestamp in seconds, and the permissions are public read plus
// administrator read and write (administrator only for a value that is
// not public_read, which an anonymous caller never sees).
//
// OC_GET_SITEINFO answers RC_SUCCESS with the node's own HS_SITE
// (Config.Site) as the body, or RC_OPERATION_NOT_SUPPORTED without one.
// Every other opcode gets RC_OPERATION_NOT_SUPPORTED with a message:
// writes, sessions and listings go through idres's gRPC API.
type Handler struct {
	res        resolver.Resolver
	recursive  bool
	site       []byte // encoded Config.Site; nil without one
	siteSerial uint16
	log        *slog.Logger
	now        func() time.Time
	timeout    time.Duration
	credential func(handlewire.Version, []byte) ([]byte, error)
	observe    func(transport string, rc uint32, took time.Duration)
	limitUDP   rateLimiter
	limitTCP   rateLimiter
	limits     Limits
	signs      *signBudget
}

// ExpirationWindow is how long a response stays valid (its header's
// expiration is now plus this): hdllib refuses an expired response, so
// the window must cover clock skew between the node and its clients.
const ExpirationWindow = 12 * time.Hour

// Messages of the answers that say nothing of an identifier.
const (
	msgInternal      = "internal error"
	msgServerFailure = "no authoritative node answered"
	msgTooLarge      = "answer too large for the Handle protocol"
)

// Answer is the response to one request (raw holds its envelope and
// message) and the response code it carries. A request too short to hold
// an envelope has no ids to echo: Answer returns nil and the transport
// sends nothing. It never panics: a failure inside is logged and answered
// RC_ERROR.
func (h *Handler) Answer(ctx context.Context, raw []byte) (out []byte, rc uint32) {
	if len(raw) < handlewire.EnvelopeSize {
		return nil, handlewire.RCProtocolError
	}
	r := h.start(raw)
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("Handle handler panic", "panic", p, "stack", string(debug.Stack()))
			r.body, r.digest = handlewire.AppendError(nil, msgInternal), nil
			r.hdr.ResponseCode = handlewire.RCError
			out, rc = h.finish(r), handlewire.RCError
		}
	}()
	h.answer(ctx, r)
	return h.finish(r), r.hdr.ResponseCode
}

// reply is a response being built.
type reply struct {
	env     handlewire.Envelope // the request's
	envErr  error
	req     handlewire.Message
	decoded bool // req holds a decoded message
	raw     []byte
	hdr     handlewire.Header
	digest  []byte
	body    []byte
	// unsigned: no signature even if asked (the signing budget is spent).
	unsigned bool
}

// start reads what it can of the request: the envelope (which raw has)
// and, when it decodes, the message.
func (h *Handler) start(raw []byte) *reply {
	env, envErr := handlewire.DecodeEnvelope(raw)
	r := &reply{env: env, envErr: envErr, raw: raw}
	r.hdr = handlewire.Header{SiteInfoSerial: h.siteSerial}
	if env.Version.Major != 2 {
		return r
	}
	if envErr == nil && env.Flags&(handlewire.EnvCompressed|handlewire.EnvEncrypted) == 0 && int(env.MessageLength) == len(raw)-handlewire.EnvelopeSize {
		if m, err := handlewire.DecodeMessage(raw[handlewire.EnvelopeSize:]); err == nil {
			r.req, r.decoded = m, true
		}
	}
	if len(raw) >= handlewire.EnvelopeSize+handlewire.HeaderSize {
		// Echo what the header says even of a message that does not
		// decode, so that the client can match the answer.
		m, _ := handlewire.DecodeMessage(raw[handlewire.EnvelopeSize:])
		r.hdr.OpCode, r.hdr.RecursionCount = m.OpCode, m.RecursionCount
		r.hdr.OpFlags = handlewire.ResponseFlags(m.OpFlags, false)
	}
	return r
}

// answerVersion is the version a request in v is answered in.
func answerVersion(v handlewire.Version) handlewire.Version {
	if v.Major != 2 || v.Minor > handlewire.Latest.Minor {
		return handlewire.Latest
	}
	return v
}

func (r *reply) fail(rc uint32, msg string) {
	r.hdr.ResponseCode = rc
	r.body = handlewire.AppendError(nil, msg)
}

func (h *Handler) answer(ctx context.Context, r *reply) {
	env := r.env
	switch {
	case env.Version.Major != 2:
		r.fail(handlewire.RCProtocolError, fmt.Sprintf("protocol version %s not supported: this server speaks %s to %s", env.Version, handlewire.Oldest, handlewire.Latest))
		return
	case r.envErr != nil:
		r.fail(handlewire.RCProtocolError, r.envErr.Error())
		return
	case env.Flags&handlewire.EnvEncrypted != 0:
		r.fail(handlewire.RCOperationNotSupported, "encrypted messages are not supported: they need a session, which this server does not offer")
		return
	case env.Flags&handlewire.EnvCompressed != 0:
		r.fail(handlewire.RCProtocolError, "compressed messages are not supported")
		return
	case env.Flags&handlewire.EnvTruncated != 0 || env.SequenceNumber != 0:
		r.fail(handlewire.RCProtocolError, "multi-packet requests are not supported: send the request in one datagram, or over TCP")
		return
	case int64(env.MessageLength) != int64(len(r.raw)-handlewire.EnvelopeSize):
		r.fail(handlewire.RCProtocolError, fmt.Sprintf("the envelope announces a message of %d bytes, %d arrived", env.MessageLength, len(r.raw)-handlewire.EnvelopeSize))
		return
	case !r.decoded:
		_, err := handlewire.DecodeMessage(r.raw[handlewire.EnvelopeSize:])
		r.fail(handlewire.RCProtocolError, err.Error())
		return
	}
	m := &r.req
	r.digest = handlewire.RequestDigest(answerVersion(env.Version), m)
	if h.recursive {
		r.hdr.OpFlags &^= handlewire.FlagAuthoritative
	}
	if m.ResponseCode != handlewire.RCReserved {
		r.fail(handlewire.RCProtocolError, "a request must carry response code 0")
		return
	}
	if m.OpFlags&handlewire.FlagCertify != 0 && h.credential != nil && !h.signs.take(h.now()) {
		r.fail(handlewire.RCServerTooBusy, "too many signed answers asked of this server: ask again later, or without the certify flag")
		r.unsigned = true
		return
	}
	switch m.OpCode {
	case handlewire.OpResolution:
		h.resolve(ctx, r)
	case handlewire.OpGetSiteInfo:
		if _, err := handlewire.DecodeGenericRequest(m.Body); err != nil {
			r.fail(handlewire.RCProtocolError, err.Error())
			return
		}
		if h.site == nil {
			r.fail(handlewire.RCOperationNotSupported, "this server has no site information")
			return
		}
		r.hdr.ResponseCode, r.body = handlewire.RCSuccess, h.site
	default:
		r.fail(handlewire.RCOperationNotSupported, fmt.Sprintf("operation %d is not supported: this server resolves only; idres takes writes over its gRPC API", m.OpCode))
	}
}

func (h *Handler) resolve(ctx context.Context, r *reply) {
	q, err := handlewire.DecodeResolutionRequest(r.req.Body)
	if err != nil {
		r.fail(handlewire.RCProtocolError, err.Error())
		return
	}
	id := string(q.Handle)
	if !strings.Contains(id, "/") {
		// Handle 8's slashless form of a prefix handle, which hdllib
		// asks the site a prefix referral names.
		id = ident.PrefixHandlePrefix + "/" + id
	}
	req := &idresv1.ResolveRequest{
		Identifier: id, Indexes: q.Indexes,
		Recursive: r.req.OpFlags&handlewire.FlagRecursive != 0,
		Filter:    idresv1.FilterMode_FILTER_MODE_ANY,
	}
	for _, t := range q.Types {
		req.Types = append(req.Types, string(t))
	}
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	// No credential in ctx: the caller is anonymous.
	resp, err := h.res.Resolve(ctx, req)
	if err != nil {
		h.log.Error("Handle resolution failed", "handle", req.Identifier, "err", err)
		r.fail(handlewire.RCError, msgInternal)
		return
	}
	v := answerVersion(r.env.Version)
	switch resp.GetOutcome() {
	case idresv1.Outcome_OUTCOME_OK:
		// The registrant's spelling (ID-006), as gRPC and HTTP answer it;
		// a slashless prefix handle keeps the form hdllib asked.
		name := q.Handle
		if id == string(q.Handle) && resp.GetIdentifier() != "" {
			name = []byte(resp.GetIdentifier())
		}
		r.values(handlewire.RCSuccess, handlewire.HandleValues{Handle: name, Values: toWire(resp.GetValues())})
	case idresv1.Outcome_OUTCOME_NOT_FOUND:
		r.fail(handlewire.RCHandleNotFound, resp.GetMessage())
	case idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND:
		// A node that neither holds nor delegates any ancestor of the
		// prefix is not the server for it: Handle's "not responsible",
		// as CNRI's server answers for a prefix it does not home. A held
		// ancestor, or a recursive node's walk, knows the handle does
		// not exist.
		rc := handlewire.RCHandleNotFound
		if !resp.GetAuthoritative() && !h.recursive {
			rc = handlewire.RCServerNotResponsible
		}
		r.fail(rc, resp.GetMessage())
	case idresv1.Outcome_OUTCOME_GONE:
		r.fail(handlewire.RCHandleNotFound, resolver.GoneMessage(resp.GetTombstone()))
	case idresv1.Outcome_OUTCOME_VALUES_NOT_FOUND:
		r.fail(handlewire.RCValuesNotFound, resp.GetMessage())
	case idresv1.Outcome_OUTCOME_INVALID_IDENTIFIER:
		r.fail(handlewire.RCInvalidHandle, resp.GetMessage())
	case idresv1.Outcome_OUTCOME_REFERRAL:
		rc := handlewire.RCServiceReferral
		if isPrefixHandle(id) && v.AtLeast(2, 5) {
			rc = handlewire.RCPrefixReferral
		}
		r.values(rc, referralBody(resp.GetReferral()))
	case idresv1.Outcome_OUTCOME_SERVER_FAILURE:
		r.fail(handlewire.RCError, msgServerFailure)
	default:
		h.log.Error("Handle resolution: outcome without a mapping", "handle", req.Identifier, "outcome", resp.GetOutcome())
		r.fail(handlewire.RCError, msgInternal)
	}
}

// values sets a body of values, or RC_ERROR when hdllib would refuse it.
func (r *reply) values(rc uint32, hv handlewire.HandleValues) {
	size := 4 + len(hv.Handle) + 4
	for i := range hv.Values {
		size += hv.Values[i].Size()
	}
	// Room for the header, the digest and an empty credential section.
	if len(hv.Values) > handlewire.MaxValues || size+handlewire.HeaderSize+len(r.digest)+4 > handlewire.MaxMessageLength {
		r.fail(handlewire.RCError, msgTooLarge)
		return
	}
	r.hdr.ResponseCode = rc
	r.body = hv.Append(make([]byte, 0, size))
}

// isPrefixHandle reports whether the handle names a prefix (0.NA/...).
func isPrefixHandle(h string) bool {
	p := ident.PrefixHandlePrefix + "/"
	return len(h) >= len(p) && strings.EqualFold(h[:len(p)], p)
}

// finish encodes r, signed when the request asked for it.
func (h *Handler) finish(r *reply) []byte {
	v := answerVersion(r.env.Version)
	env := handlewire.Envelope{Version: v, SessionID: r.env.SessionID, RequestID: r.env.RequestID}
	if v.AtLeast(2, 5) {
		env.Suggest = handlewire.Latest
	}
	hdr := r.hdr
	hdr.Expiration = uint32(h.now().Add(ExpirationWindow).Unix())
	f := handlewire.Frame{Envelope: env, Header: hdr, Digest: r.digest, Body: r.body}
	out := handlewire.AppendFrame(nil, &f)
	if h.credential == nil || !r.decoded || r.req.OpFlags&handlewire.FlagCertify == 0 || r.unsigned {
		return out
	}
	cred, err := h.credential(v, handlewire.SignedPart(out))
	if err != nil {
		// Unsigned, the answer still serves clients that do not check;
		// one that does refuses it, as it would an error.
		h.log.Error("Handle response not signed", "err", err)
		return out
	}
	f.Credential = cred
	return handlewire.AppendFrame(out[:0], &f)
}
