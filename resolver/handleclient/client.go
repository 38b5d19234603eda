package handleclient

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idres/idres/resolver/handlewire"
)

// DefaultTimeout bounds a call when neither its context nor the Client
// sets a deadline: a UDP request to a silent server would otherwise wait
// for ever.
const DefaultTimeout = 10 * time.Second

// requestLifetime is how far ahead a request's expiration lies, as
// hdllib sets it.
const requestLifetime = 12 * time.Hour

// maxIdle bounds the connections a KeepAlive client keeps between calls.
const maxIdle = 64

// Errors a call wraps when the server's answer is unusable.
var (
	// ErrExpired: the answer's expiration time has passed (hdllib refuses
	// such an answer too).
	ErrExpired = errors.New("Handle answer expired")
	// ErrRequestID: a TCP answer carried another request's id.
	ErrRequestID = errors.New("Handle answer to another request")
	// ErrDigest: the answer's request digest is not that of the request
	// sent.
	ErrDigest = errors.New("Handle answer's request digest does not match the request")
	// ErrUnsupported: the answer uses what this client does not speak
	// (an encrypted or compressed envelope, another major version).
	ErrUnsupported = errors.New("unsupported Handle answer")
)

// Client asks one Handle server. The zero value with Addr set resolves
// over TCP as hdllib would. A Client is safe for concurrent use; its
// fields must not change once calls have started.
type Client struct {
	// Addr is the server's host:port.
	Addr string
	// UDP sends each request as datagrams; an answer the server marks
	// truncated is asked again over TCP.
	UDP bool
	// Timeout bounds each call, together with the context's deadline
	// (the earlier wins). Zero: DefaultTimeout when the context has no
	// deadline.
	Timeout time.Duration
	// Version is the protocol version of the requests. Zero: 2.5.
	Version handlewire.Version
	// Authoritative sets AT: the answer must come from a primary server.
	Authoritative bool
	// Certify sets CT (a signed answer; see Answer.Credential) and RD.
	Certify bool
	// RequestDigest sets RD: the answer carries a digest of the request,
	// which the client checks.
	RequestDigest bool
	// KeepAlive keeps connections (TCP, with the KC flag) and UDP sockets
	// open for the next call instead of closing them; Close releases them.
	// A kept TCP connection the server has closed meanwhile is replaced
	// transparently.
	KeepAlive bool

	ids    atomic.Uint32
	seeded sync.Once

	mu      sync.Mutex
	idleTCP []net.Conn
	idleUDP []net.Conn
}

// Answer is a server's answer to a request.
type Answer struct {
	// RC is the response code, e.g. handlewire.RCSuccess.
	RC uint32
	// Handle is the handle the body names: the one resolved, or for a
	// referral the prefix handle that refers; the handle asked when the
	// body names none.
	Handle string
	// Values of the handle (or of the referring prefix handle).
	Values []handlewire.Value
	// Message is an error answer's text.
	Message string
	// Version is the protocol version the server answered in.
	Version handlewire.Version
	// OpFlags are the answer's operation flags.
	OpFlags uint32
	// Digest is the request digest the answer carried (algorithm octet
	// first), checked against the request; nil when it carried none.
	Digest []byte
	// Credential is the answer's credential section (a signature when
	// Certify was asked), unverified; nil when empty. Verify checks it.
	Credential []byte
	// Signed is the answer's header and body as received: what its
	// signature covers.
	Signed []byte
	// ViaTCP reports that a UDP answer came back truncated and the
	// request was asked again over TCP.
	ViaTCP bool

	asked string // the handle of the request
}

// RCError is a non-success answer where the call needs success
// (SiteInfo).
type RCError struct {
	RC      uint32
	Message string
}

func (e *RCError) Error() string {
	if e.Message == "" {
		return "Handle server answered " + handlewire.RCName(e.RC)
	}
	return fmt.Sprintf("Handle server answered %s: %s", handlewire.RCName(e.RC), e.Message)
}

// Resolve asks for handle's values: those whose type is in types or
// whose index is in indexes, every value when both are empty.
func (c *Client) Resolve(ctx context.Context, handle string, types []string, indexes []uint32) (*Answer, error) {
	if handle == "" {
		return nil, errors.New("resolve: empty handle")
	}
	q := handlewire.ResolutionRequest{Handle: []byte(handle), Indexes: indexes}
	for _, t := range types {
		q.Types = append(q.Types, []byte(t))
	}
	r, err := c.call(ctx, handlewire.OpResolution, q.Append(nil))
	if err != nil {
		return nil, fmt.Errorf("resolve %s at %s: %w", handle, c.Addr, err)
	}
	a := r.answer(handle)
	switch a.RC {
	case handlewire.RCSuccess, handlewire.RCServiceReferral, handlewire.RCPrefixReferral:
		// A referral's body is the referring prefix handle and its
		// HS_SITE/HS_SERV values; RC_SERVER_NOT_RESP is a plain error.
		hv, err := handlewire.DecodeHandleValues(r.body)
		if err != nil {
			return nil, fmt.Errorf("resolve %s at %s: %s answer: %w", handle, c.Addr, handlewire.RCName(a.RC), err)
		}
		if len(hv.Handle) > 0 {
			a.Handle = string(hv.Handle)
		}
		a.Values = hv.Values
	default:
		a.Message = handlewire.DecodeError(r.body)
	}
	return a, nil
}

// SiteInfo asks the server for its site (OC_GET_SITEINFO): the HS_SITE
// data a client needs to reach it.
func (c *Client) SiteInfo(ctx context.Context) (handlewire.SiteInfo, error) {
	r, err := c.call(ctx, handlewire.OpGetSiteInfo, handlewire.AppendGenericRequest(nil, []byte("/")))
	if err != nil {
		return handlewire.SiteInfo{}, fmt.Errorf("site info of %s: %w", c.Addr, err)
	}
	if r.msg.ResponseCode != handlewire.RCSuccess {
		return handlewire.SiteInfo{}, fmt.Errorf("site info of %s: %w", c.Addr, &RCError{RC: r.msg.ResponseCode, Message: handlewire.DecodeError(r.body)})
	}
	s, err := handlewire.DecodeSiteInfo(r.body)
	if err != nil {
		return s, fmt.Errorf("site info of %s: %w", c.Addr, err)
	}
	return s, nil
}

// Close closes the connections kept for reuse. The Client stays usable:
// a later call dials again.
func (c *Client) Close() error {
	c.mu.Lock()
	idle := append(c.idleTCP, c.idleUDP...)
	c.idleTCP, c.idleUDP = nil, nil
	c.mu.Unlock()
	for _, conn := range idle {
		conn.Close()
	}
	return nil
}

// reply is a checked answer before its body is interpreted.
type reply struct {
	env    handlewire.Envelope
	msg    handlewire.Message
	digest []byte
	body   []byte // after the digest
	viaTCP bool
}

func (r *reply) answer(asked string) *Answer {
	return &Answer{RC: r.msg.ResponseCode, Handle: asked, asked: asked, Version: r.env.Version, OpFlags: r.msg.OpFlags,
		Digest: r.digest, Credential: r.msg.Credential, Signed: r.msg.Signed, ViaTCP: r.viaTCP}
}

func (c *Client) version() (handlewire.Version, error) {
	v := c.Version
	if v == (handlewire.Version{}) {
		return handlewire.Latest, nil
	}
	if v.Major != handlewire.Latest.Major || v.Minor > handlewire.Latest.Minor {
		return v, fmt.Errorf("protocol version %s: this client speaks %s to %s", v, handlewire.Oldest, handlewire.Latest)
	}
	return v, nil
}

// requestID hands out request ids from a random start, as hdllib draws
// them, so two clients rarely share one; they stay positive, since
// hdllib holds them in a Java int.
func (c *Client) requestID() uint32 {
	c.seeded.Do(func() { c.ids.Store(rand.Uint32()) })
	for {
		if id := c.ids.Add(1) & 0x7fffffff; id != 0 {
			return id
		}
	}
}

// frame encodes a request as hdllib 7.3 does.
func (c *Client) frame(v handlewire.Version, op, id uint32, body []byte, keepAlive bool) []byte {
	flags := handlewire.FlagRecursive | handlewire.FlagCacheCertify | handlewire.FlagPublicOnly
	if c.Authoritative {
		flags |= handlewire.FlagAuthoritative
	}
	if c.Certify {
		flags |= handlewire.FlagCertify | handlewire.FlagRequestDigest
	}
	if c.RequestDigest {
		flags |= handlewire.FlagRequestDigest
	}
	if keepAlive {
		flags |= handlewire.FlagKeepAlive
	}
	f := handlewire.Frame{
		Envelope: handlewire.Envelope{Version: v, RequestID: id},
		Header: handlewire.Header{OpCode: op, OpFlags: flags, SiteInfoSerial: 0xffff,
			Expiration: uint32(time.Now().Add(requestLifetime).Unix())},
		Body: body,
	}
	return handlewire.AppendFrame(nil, &f)
}

// call sends one request and returns its checked answer.
func (c *Client) call(ctx context.Context, op uint32, body []byte) (*reply, error) {
	if c.Addr == "" {
		return nil, errors.New("no Handle server address")
	}
	v, err := c.version()
	if err != nil {
		return nil, err
	}
	ctx, cancel := c.bound(ctx)
	defer cancel()
	if c.UDP {
		id := c.requestID()
		req := c.frame(v, op, id, body, false)
		r, err := c.udp(ctx, id, req)
		if err != nil {
			return nil, err
		}
		if r != nil {
			return r, c.check(r, req)
		}
		// Truncated: ask again over TCP, as hdllib's resolver does.
		id = c.requestID()
		req = c.frame(v, op, id, body, c.KeepAlive)
		if r, err = c.tcp(ctx, id, req); err != nil {
			return nil, fmt.Errorf("after a truncated UDP answer: %w", err)
		}
		r.viaTCP = true
		return r, c.check(r, req)
	}
	id := c.requestID()
	req := c.frame(v, op, id, body, c.KeepAlive)
	r, err := c.tcp(ctx, id, req)
	if err != nil {
		return nil, err
	}
	return r, c.check(r, req)
}

// bound applies Timeout (or DefaultTimeout) to ctx.
func (c *Client) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	t := c.Timeout
	if t <= 0 {
		if _, ok := ctx.Deadline(); ok {
			return context.WithCancel(ctx)
		}
		t = DefaultTimeout
	}
	return context.WithTimeout(ctx, t)
}

// check decodes what hdllib checks of an answer: its version, that it is
// a response, its expiration and its request digest; it fills r's
// message, digest and body.
func (c *Client) check(r *reply, req []byte) error {
	if r.env.Version.Major != handlewire.Latest.Major {
		return fmt.Errorf("%w: protocol version %s", ErrUnsupported, r.env.Version)
	}
	if r.msg.ResponseCode == handlewire.RCReserved {
		return fmt.Errorf("%w: a message without a response code", handlewire.ErrFormat)
	}
	if exp := int64(r.msg.Expiration); exp < time.Now().Unix() {
		return fmt.Errorf("%w at %s", ErrExpired, time.Unix(exp, 0).UTC().Format(time.RFC3339))
	}
	digest, body, err := handlewire.SplitDigest(&r.msg)
	if err != nil {
		return err
	}
	if digest != nil && !digestMatches(digest, handlewire.SignedPart(req)) {
		return ErrDigest
	}
	r.digest, r.body = digest, body
	return nil
}

func (c *Client) getConn(ctx context.Context, network string) (conn net.Conn, reused bool, err error) {
	if c.KeepAlive {
		c.mu.Lock()
		pool := &c.idleTCP
		if network == "udp" {
			pool = &c.idleUDP
		}
		if n := len(*pool); n > 0 {
			conn = (*pool)[n-1]
			*pool = (*pool)[:n-1]
		}
		c.mu.Unlock()
		if conn != nil {
			return conn, true, nil
		}
	}
	var d net.Dialer
	conn, err = d.DialContext(ctx, network, c.Addr)
	return conn, false, err
}

// putConn keeps conn for the next call (KeepAlive) or closes it.
func (c *Client) putConn(network string, conn net.Conn) {
	if !c.KeepAlive {
		conn.Close()
		return
	}
	c.mu.Lock()
	pool := &c.idleTCP
	if network == "udp" {
		pool = &c.idleUDP
	}
	if len(*pool) < maxIdle {
		*pool = append(*pool, conn)
		conn = nil
	}
	c.mu.Unlock()
	if conn != nil {
		conn.Close()
	}
}

// netErr turns an I/O failure under ctx into an error that says what
// failed and, past the deadline, wraps context.DeadlineExceeded.
func netErr(ctx context.Context, what string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%s: %w", what, cerr)
	}
	// A socket deadline is always the context's, whose timer may not
	// have fired yet.
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%s: %w", what, context.DeadlineExceeded)
	}
	return fmt.Errorf("%s: %w", what, err)
}
