package handleclient

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/idres/idres/resolver/handlewire"
)

// udpData is the message bytes each datagram carries, and so the offset
// step of a sequence number (hdllib's MAX_UDP_DATA_SIZE).
const udpData = handlewire.MaxUDPPacket - handlewire.EnvelopeSize

// udpResend is when an unanswered UDP request is sent again: hdllib's
// retry scheme starts at half a second; each wait doubles up to the
// deadline.
const udpResend = 500 * time.Millisecond

// interrupt makes conn's blocked I/O return when ctx ends without a
// deadline (cancellation). The returned stop reports false when it came
// too late: the connection then has a past deadline and must not be
// reused.
func interrupt(ctx context.Context, conn net.Conn) (stop func() bool) {
	return context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
}

// tcp sends req over a connection (kept or new) and reads its answer.
// A kept connection that fails before any byte of the answer arrives is
// one the server closed while idle: the request goes again over a new
// one (resolution and site info requests change nothing).
func (c *Client) tcp(ctx context.Context, id uint32, req []byte) (*reply, error) {
	for {
		conn, reused, err := c.getConn(ctx, "tcp")
		if err != nil {
			return nil, netErr(ctx, "connect", err)
		}
		stop := interrupt(ctx, conn)
		r, answered, err := tcpExchange(ctx, conn, id, req)
		if stopped := stop(); err == nil {
			if stopped {
				c.putConn("tcp", conn)
			} else {
				conn.Close() // its deadline is in the past
			}
			return r, nil
		}
		conn.Close()
		if reused && !answered && ctx.Err() == nil {
			continue
		}
		return nil, err
	}
}

// tcpExchange reports answered once a byte of the answer has arrived.
func tcpExchange(ctx context.Context, conn net.Conn, id uint32, req []byte) (r *reply, answered bool, err error) {
	dl, _ := ctx.Deadline()
	conn.SetDeadline(dl)
	if _, err := conn.Write(req); err != nil {
		return nil, false, netErr(ctx, "send request", err)
	}
	var head [handlewire.EnvelopeSize]byte
	if n, err := io.ReadFull(conn, head[:]); err != nil {
		return nil, n > 0, netErr(ctx, "read answer", err)
	}
	env, err := handlewire.DecodeEnvelope(head[:])
	if err != nil {
		return nil, true, err
	}
	if env.Flags&(handlewire.EnvCompressed|handlewire.EnvEncrypted|handlewire.EnvTruncated) != 0 {
		return nil, true, fmt.Errorf("%w: envelope flags %#x over TCP", ErrUnsupported, env.Flags)
	}
	raw := make([]byte, env.MessageLength)
	if _, err := io.ReadFull(conn, raw); err != nil {
		return nil, true, netErr(ctx, "read answer", err)
	}
	// hdllib treats a TCP answer to another request as an error: the
	// connection is out of step.
	if env.RequestID != id {
		return nil, true, fmt.Errorf("%w: id %d, sent %d", ErrRequestID, env.RequestID, id)
	}
	m, err := handlewire.DecodeMessage(raw)
	if err != nil {
		return nil, true, err
	}
	return &reply{env: env, msg: m}, true, nil
}

// udp sends req as one datagram and reassembles the answer; nil without
// an error means the server marked its answer truncated.
func (c *Client) udp(ctx context.Context, id uint32, req []byte) (*reply, error) {
	if len(req) > handlewire.MaxUDPPacket {
		// Requests this client makes always fit; a multi-packet request
		// is not worth its code.
		return nil, fmt.Errorf("request of %d bytes is over one datagram (%d): ask over TCP", len(req), handlewire.MaxUDPPacket)
	}
	conn, _, err := c.getConn(ctx, "udp")
	if err != nil {
		return nil, netErr(ctx, "open UDP socket", err)
	}
	r, err := udpExchange(ctx, conn, id, req)
	if err != nil {
		// Keep no socket a late answer may still reach.
		conn.Close()
		return nil, err
	}
	c.putConn("udp", conn)
	return r, nil
}

func udpExchange(ctx context.Context, conn net.Conn, id uint32, req []byte) (*reply, error) {
	stop := interrupt(ctx, conn)
	defer stop()
	deadline, _ := ctx.Deadline()
	wait := udpResend
	buf := make([]byte, 64<<10)
	asm := assembler{id: id}
	for {
		if _, err := conn.Write(req); err != nil {
			return nil, netErr(ctx, "send request", err)
		}
		resend := time.Now().Add(wait)
		wait *= 2
		if !deadline.IsZero() && deadline.Before(resend) {
			resend = deadline
		}
		conn.SetReadDeadline(resend)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil && time.Now().Before(deadline) {
					break // resend
				}
				return nil, netErr(ctx, "read answer", err)
			}
			r, done, err := asm.add(buf[:n])
			if err != nil || done {
				return r, err
			}
		}
	}
}

// assembler puts a UDP answer together from its datagrams as hdllib
// does: each datagram's envelope carries the whole message's length and
// its sequence number, and its bytes go at sequence number times
// udpData; datagrams may come in any order, twice (answers to a resend),
// or belong to an earlier request.
//
// A datagram longer than udpData (hdllib would cut it at its 512-byte
// buffer) is taken whole when it ends where a later one starts or at the
// message's end: it fills the places of the sequence numbers it spans.
type assembler struct {
	id      uint32
	msg     []byte
	first   handlewire.Envelope
	got     []bool // per udpData slot of msg
	missing int
}

// add takes one datagram. done with a nil reply means the server marked
// its answer truncated.
func (a *assembler) add(dgram []byte) (r *reply, done bool, err error) {
	if len(dgram) < handlewire.EnvelopeSize {
		return nil, false, nil
	}
	env, err := handlewire.DecodeEnvelope(dgram)
	if env.RequestID != a.id {
		// An answer to an earlier request this socket gave up on.
		return nil, false, nil
	}
	if err != nil {
		return nil, true, err
	}
	if env.Flags&handlewire.EnvTruncated != 0 {
		return nil, true, nil
	}
	if env.Flags&(handlewire.EnvCompressed|handlewire.EnvEncrypted) != 0 {
		return nil, true, fmt.Errorf("%w: envelope flags %#x", ErrUnsupported, env.Flags)
	}
	if a.msg == nil {
		a.first = env
		a.msg = make([]byte, env.MessageLength)
		a.got = make([]bool, (len(a.msg)+udpData-1)/udpData)
		a.missing = len(a.got)
	} else if env.MessageLength != a.first.MessageLength || env.Version != a.first.Version {
		return nil, true, fmt.Errorf("%w: datagram %d says %d bytes in version %s, datagram before %d in %s",
			handlewire.ErrFormat, env.SequenceNumber, env.MessageLength, env.Version, a.first.MessageLength, a.first.Version)
	}
	chunk := dgram[handlewire.EnvelopeSize:]
	seq := uint64(env.SequenceNumber)
	end := seq*udpData + uint64(len(chunk))
	if seq >= uint64(len(a.got)) || end > uint64(len(a.msg)) || len(chunk) == 0 || end%udpData != 0 && end != uint64(len(a.msg)) {
		return nil, true, fmt.Errorf("%w: datagram %d of %d bytes does not fit the message's %d in places of %d",
			handlewire.ErrFormat, seq, len(chunk), len(a.msg), udpData)
	}
	if a.got[seq] {
		return nil, false, nil // the answer to a resend
	}
	copy(a.msg[seq*udpData:], chunk)
	for i := seq; i*udpData < end; i++ {
		if !a.got[i] {
			a.got[i] = true
			a.missing--
		}
	}
	if a.missing > 0 {
		return nil, false, nil
	}
	m, err := handlewire.DecodeMessage(a.msg)
	if err != nil {
		return nil, true, err
	}
	return &reply{env: a.first, msg: m}, true, nil
}

// digestMatches checks an answer's request digest (algorithm octet
// first) against the request's header and body.
func digestMatches(digest, signed []byte) bool {
	var sum []byte
	switch digest[0] {
	case handlewire.DigestMD5:
		s := md5.Sum(signed)
		sum = s[:]
	case handlewire.DigestSHA1:
		s := sha1.Sum(signed)
		sum = s[:]
	case handlewire.DigestSHA256:
		s := sha256.Sum256(signed)
		sum = s[:]
	default:
		return false
	}
	return bytes.Equal(digest[1:], sum)
}
