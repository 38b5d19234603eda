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
	var (
		msg    []byte
		first  handlewire.Envelope
		got    []bool
		filled int
	)
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
			if n < handlewire.EnvelopeSize {
				continue
			}
			env, err := handlewire.DecodeEnvelope(buf[:n])
			// A datagram to an earlier request this socket gave up on.
			if env.RequestID != id {
				continue
			}
			if err != nil {
				return nil, err
			}
			if env.Flags&handlewire.EnvTruncated != 0 {
				return nil, nil
			}
			if env.Flags&(handlewire.EnvCompressed|handlewire.EnvEncrypted) != 0 {
				return nil, fmt.Errorf("%w: envelope flags %#x", ErrUnsupported, env.Flags)
			}
			if msg == nil {
				first = env
				msg = make([]byte, env.MessageLength)
				got = make([]bool, (len(msg)+udpData-1)/udpData)
			} else if env.MessageLength != first.MessageLength || env.Version != first.Version {
				return nil, fmt.Errorf("%w: datagram %d says %d bytes in version %s, datagram before %d in %s",
					handlewire.ErrFormat, env.SequenceNumber, env.MessageLength, env.Version, first.MessageLength, first.Version)
			}
			chunk := buf[handlewire.EnvelopeSize:n]
			seq := uint64(env.SequenceNumber)
			if seq >= uint64(len(got)) || seq*udpData+uint64(len(chunk)) > uint64(len(msg)) {
				return nil, fmt.Errorf("%w: datagram %d of %d bytes past the message's %d", handlewire.ErrFormat, seq, len(chunk), len(msg))
			}
			if got[seq] {
				continue // the answer to a resend
			}
			got[seq] = true
			filled += copy(msg[seq*udpData:], chunk)
			if filled < len(msg) {
				continue
			}
			m, err := handlewire.DecodeMessage(msg)
			if err != nil {
				return nil, err
			}
			return &reply{env: first, msg: m}, nil
		}
	}
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
