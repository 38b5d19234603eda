package runner

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/idres/idres/resolver/handlewire"
)

// handleQuery is a Handle step's request. Like the DNS steps, the runner
// frames messages itself (resolver/handlewire) instead of going through
// a client library: cases send what well-behaved clients never would.
type handleQuery struct {
	Handle  string
	Types   []string
	Indexes []uint32
	UDP     bool
	Version handlewire.Version
	// Op is the operation code: 1 resolution (the default), 2 site
	// information, or any other number, sent with Body.
	Op uint32
	// Flags are extra operation flags, by name (authoritative, certify,
	// digest, public_only, continuous).
	Flags uint32
	// Body, when set, replaces the encoded body (hex).
	Body []byte
	// MessageLength, when set, replaces the envelope's message length (a
	// datagram announcing more than it holds is a multi-packet request).
	MessageLength uint32
	// Walk follows referrals from the step's node to the answer, as the
	// stock Handle algorithm does: at each HS_SITE in a referral's values
	// it asks again over TCP.
	Walk bool
}

var handleFlagNames = map[string]uint32{
	"authoritative": handlewire.FlagAuthoritative,
	"certify":       handlewire.FlagCertify,
	"digest":        handlewire.FlagRequestDigest,
	"public_only":   handlewire.FlagPublicOnly,
	"continuous":    handlewire.FlagContinuous,
	"recursive":     handlewire.FlagRecursive,
}

func parseHandleQuery(t any) (handleQuery, error) {
	m, _ := t.(map[string]any)
	q := handleQuery{Op: handlewire.OpResolution, Version: handlewire.Latest}
	q.Handle, _ = m["handle"].(string)
	if op, ok := m["op"]; ok {
		n, err := strconv.ParseUint(text(op), 10, 32)
		if err != nil {
			switch text(op) {
			case "resolution":
				n = uint64(handlewire.OpResolution)
			case "siteinfo":
				n = uint64(handlewire.OpGetSiteInfo)
			default:
				return q, fmt.Errorf("handle: op %q: want resolution, siteinfo or a number", text(op))
			}
		}
		q.Op = uint32(n)
	}
	if q.Handle == "" && q.Op == handlewire.OpResolution {
		return q, errors.New("handle: handle is required for a resolution")
	}
	if ts, ok := m["types"].([]any); ok {
		for _, t := range ts {
			q.Types = append(q.Types, text(t))
		}
	}
	if is, ok := m["indexes"].([]any); ok {
		for _, i := range is {
			n, err := strconv.ParseUint(text(i), 10, 32)
			if err != nil {
				return q, fmt.Errorf("handle: index %v: %v", i, err)
			}
			q.Indexes = append(q.Indexes, uint32(n))
		}
	}
	q.UDP, _ = m["udp"].(bool)
	if ml, ok := m["message_length"]; ok {
		n, err := strconv.ParseUint(text(ml), 10, 32)
		if err != nil {
			return q, fmt.Errorf("handle: message_length %v: %v", ml, err)
		}
		q.MessageLength = uint32(n)
	}
	q.Walk, _ = m["walk"].(bool)
	if v, ok := m["version"]; ok {
		var maj, min uint8
		if _, err := fmt.Sscanf(text(v), "%d.%d", &maj, &min); err != nil {
			return q, fmt.Errorf("handle: version %q: want MAJOR.MINOR", text(v))
		}
		q.Version = handlewire.Version{Major: maj, Minor: min}
	}
	if fs, ok := m["flags"].([]any); ok {
		for _, f := range fs {
			bit, known := handleFlagNames[text(f)]
			if !known {
				return q, fmt.Errorf("handle: unknown flag %q", text(f))
			}
			q.Flags |= bit
		}
	}
	if b, ok := m["body"].(string); ok {
		raw, err := hex.DecodeString(strings.ReplaceAll(b, " ", ""))
		if err != nil {
			return q, fmt.Errorf("handle: body must be hex bytes")
		}
		q.Body = raw
	}
	return q, nil
}

func (l *loader) checkHandle(s *Step, req, expect *yaml.Node) {
	l.allowKeys(req, "handle", "handle", "types", "indexes", "udp", "version", "op", "flags", "body", "walk", "message_length")
	if _, err := parseHandleQuery(s.Request); err != nil {
		l.fail(req, "%v", err)
	}
	if expect != nil {
		l.allowKeys(expect, "handle expect", "rc", "handle", "values", "message", "version", "request_id", "expires_in_future", "flags", "digest", "site", "truncated", "path", "credential")
	}
}

func (r *run) handleStep(ctx context.Context, s *Step, req any, v *vars) (any, []string, error) {
	q, err := parseHandleQuery(req)
	if err != nil {
		return nil, nil, err
	}
	addr := r.t.Nodes[s.Node].Handle
	var path []any
	var got map[string]any
	for {
		path = append(path, addr)
		got, err = handleExchange(ctx, addr, &q)
		if err != nil {
			return nil, nil, err
		}
		rc, _ := got["rc"].(int)
		if !q.Walk || uint32(rc) != handlewire.RCServiceReferral && uint32(rc) != handlewire.RCPrefixReferral {
			break
		}
		next, ok := got["referral_site"].(string)
		if !ok {
			return nil, nil, fmt.Errorf("handle walk: referral from %s names no HS_SITE", addr)
		}
		if len(path) > maxWalk {
			return nil, nil, fmt.Errorf("handle walk for %s: more than %d referrals: %v", q.Handle, maxWalk, path)
		}
		addr = next
		q.UDP = false
	}
	delete(got, "referral_site")
	if q.Walk {
		got["path"] = path
	}
	want, err := v.expand(s.Expect)
	if err != nil {
		return nil, nil, err
	}
	wm, _ := want.(map[string]any)
	return got, match("", wm, got), nil
}

// handleExchange sends one request and reads its answer into the tree
// cases match: rc, handle, values, message, version, request_id (echoed
// or not), expires_in_future, flags (by name), digest (its algorithm
// octet), site (an OC_GET_SITEINFO answer), truncated, credential.
func handleExchange(ctx context.Context, addr string, q *handleQuery) (map[string]any, error) {
	network := "tcp"
	if q.UDP {
		network = "udp"
	}
	body := q.Body
	if body == nil {
		switch q.Op {
		case handlewire.OpResolution:
			rq := handlewire.ResolutionRequest{Handle: []byte(q.Handle), Indexes: q.Indexes}
			for _, t := range q.Types {
				rq.Types = append(rq.Types, []byte(t))
			}
			body = rq.Append(nil)
		default:
			h := q.Handle
			if h == "" {
				h = "/"
			}
			body = binary.BigEndian.AppendUint32(nil, uint32(len(h)))
			body = append(body, h...)
		}
	}
	const requestID = 0x1d7e5
	envFlags := uint8(0)
	frame := handlewire.AppendFrame(nil, &handlewire.Frame{
		Envelope: handlewire.Envelope{Version: q.Version, Flags: envFlags, RequestID: requestID, SessionID: 0},
		Header: handlewire.Header{
			OpCode: q.Op, OpFlags: handlewire.FlagRecursive | handlewire.FlagCacheCertify | handlewire.FlagPublicOnly | q.Flags,
			SiteInfoSerial: 0xffff, Expiration: uint32(time.Now().Add(time.Hour).Unix()),
		},
		Body: body,
	})
	if q.MessageLength != 0 {
		binary.BigEndian.PutUint32(frame[16:], q.MessageLength)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("handle %s %s: %w", network, addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if _, err := conn.Write(frame); err != nil {
		return nil, fmt.Errorf("handle %s %s: %w", network, addr, err)
	}
	var raw []byte
	if q.UDP {
		buf := make([]byte, 65535)
		n, err := conn.Read(buf)
		if err != nil {
			return nil, fmt.Errorf("handle udp %s: no answer: %w", addr, err)
		}
		raw = buf[:n]
	} else {
		env := make([]byte, handlewire.EnvelopeSize)
		if _, err := io.ReadFull(conn, env); err != nil {
			return nil, fmt.Errorf("handle tcp %s: no answer: %w", addr, err)
		}
		e, err := handlewire.DecodeEnvelope(env)
		if err != nil {
			return nil, fmt.Errorf("handle tcp %s: %w", addr, err)
		}
		raw = append(env, make([]byte, e.MessageLength)...)
		if _, err := io.ReadFull(conn, raw[handlewire.EnvelopeSize:]); err != nil {
			return nil, fmt.Errorf("handle tcp %s: answer cut short: %w", addr, err)
		}
	}
	return handleTree(raw, requestID)
}

func handleTree(raw []byte, requestID uint32) (map[string]any, error) {
	env, err := handlewire.DecodeEnvelope(raw)
	if err != nil {
		return nil, fmt.Errorf("handle answer: %w", err)
	}
	got := map[string]any{
		"version":    env.Version.String(),
		"request_id": env.RequestID == requestID,
		"truncated":  env.Flags&handlewire.EnvTruncated != 0,
	}
	rest := raw[handlewire.EnvelopeSize:]
	if env.Flags&handlewire.EnvTruncated != 0 {
		// A truncated answer promises nothing past its envelope (and
		// perhaps its header): the client asks again over TCP.
		if len(rest) >= handlewire.HeaderSize {
			got["rc"] = int(binary.BigEndian.Uint32(rest[4:]))
		}
		return got, nil
	}
	if int(env.MessageLength) != len(rest) {
		return nil, fmt.Errorf("handle answer: envelope says %d bytes, %d came", env.MessageLength, len(rest))
	}
	m, err := handlewire.DecodeMessage(rest)
	if err != nil {
		return nil, fmt.Errorf("handle answer: %w", err)
	}
	got["rc"] = int(m.ResponseCode)
	got["expires_in_future"] = int64(m.Expiration) > time.Now().Unix()
	var flags []any
	for name, bit := range handleFlagNames {
		if m.OpFlags&bit != 0 {
			flags = append(flags, name)
		}
	}
	got["flags"] = sortedAny(flags)
	got["credential"] = len(m.Credential) > 0
	digest, body, err := handlewire.SplitDigest(&m)
	if err != nil {
		return nil, fmt.Errorf("handle answer: %w", err)
	}
	if digest != nil {
		got["digest"] = int(digest[0])
	}
	switch {
	case m.OpCode == handlewire.OpGetSiteInfo && m.ResponseCode == handlewire.RCSuccess:
		site, err := handlewire.DecodeSiteInfo(body)
		if err != nil {
			return nil, fmt.Errorf("handle site information: %w", err)
		}
		got["site"] = siteTree(&site)
	case m.ResponseCode == handlewire.RCSuccess || m.ResponseCode == handlewire.RCServiceReferral || m.ResponseCode == handlewire.RCPrefixReferral:
		hv, err := handlewire.DecodeHandleValues(body)
		if err != nil {
			return nil, fmt.Errorf("handle answer body: %w", err)
		}
		got["handle"] = string(hv.Handle)
		vals := []any{}
		for _, val := range hv.Values {
			vt := map[string]any{
				"index": int(val.Index), "type": string(val.Type), "ttl": int(val.TTL), "ttl_type": int(val.TTLType),
				"permissions": int(val.Permissions), "timestamp": int(val.Timestamp),
				"data": base64.StdEncoding.EncodeToString(val.Data),
			}
			if strings.EqualFold(string(val.Type), "HS_SITE") {
				if site, err := handlewire.DecodeSiteInfo(val.Data); err == nil {
					vt["site"] = siteTree(&site)
					if _, ok := got["referral_site"]; !ok && len(site.Servers) > 0 && len(site.Servers[0].Interfaces) > 0 {
						srv := site.Servers[0]
						got["referral_site"] = net.JoinHostPort(srv.Address.String(), strconv.Itoa(int(srv.Interfaces[0].Port)))
					}
				}
			}
			vals = append(vals, vt)
		}
		got["values"] = vals
	default:
		msg := handlewire.DecodeError(body)
		if !utf8.ValidString(msg) {
			msg = "(not UTF-8)"
		}
		got["message"] = msg
	}
	return got, nil
}

func siteTree(s *handlewire.SiteInfo) map[string]any {
	var servers []any
	for _, srv := range s.Servers {
		var ifs []any
		for _, in := range srv.Interfaces {
			transport := map[uint8]string{handlewire.TransportUDP: "udp", handlewire.TransportTCP: "tcp", handlewire.TransportHTTP: "http", handlewire.TransportHTTPS: "https"}[in.Transport]
			ifs = append(ifs, map[string]any{"service": int(in.Service), "transport": transport, "port": int(in.Port)})
		}
		servers = append(servers, map[string]any{"address": srv.Address.String(), "interfaces": ifs, "key": len(srv.PublicKey) > 0})
	}
	return map[string]any{"version": s.Version.String(), "primary": s.Primary, "servers": servers}
}

func sortedAny(xs []any) []any {
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		out = append(out, x.(string))
	}
	sort.Strings(out)
	res := make([]any, len(out))
	for i, s := range out {
		res[i] = s
	}
	return res
}
