package handleserver

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver"
	"github.com/idres/idres/resolver/handlewire"
)

// valueLine is a response value as "<index> <type> <data> ttl=<ttl>
// perm=<permissions>".
func valueLine(v handlewire.Value) string {
	return fmt.Sprintf("%d %s %s ttl=%d/%d perm=%#02x", v.Index, v.Type, v.Data, v.TTLType, v.TTL, v.Permissions)
}

func TestResolutionOutcomes(t *testing.T) {
	h := newHandler(t, Config{})
	const rwr = handlewire.PermPublicRead | handlewire.PermAdminRead | handlewire.PermAdminWrite
	for _, c := range []struct {
		name    string
		handle  string
		types   []string
		indexes []uint32
		version handlewire.Version
		rc      uint32
		handleV string   // the handle of a values body
		vals    []string // valueLine of each value; for referrals only HS_SITE
		msg     string   // a part of an error message
	}{
		{name: "found, private value hidden", handle: "88.100/PUMP-0042", rc: handlewire.RCSuccess, handleV: "88.100/PUMP-0042",
			vals: []string{fmt.Sprintf("1 URL https://example.com/p/42 ttl=0/300 perm=%#02x", rwr), fmt.Sprintf("2 name pump ttl=0/600 perm=%#02x", rwr), fmt.Sprintf("4 URL.meta https://example.com/p/42.json ttl=0/300 perm=%#02x", rwr)}},
		{name: "the registrant's spelling, whatever the case asked", handle: "88.100/pump-0042", rc: handlewire.RCSuccess, handleV: "88.100/PUMP-0042",
			vals: []string{fmt.Sprintf("1 URL https://example.com/p/42 ttl=0/300 perm=%#02x", rwr), fmt.Sprintf("2 name pump ttl=0/600 perm=%#02x", rwr), fmt.Sprintf("4 URL.meta https://example.com/p/42.json ttl=0/300 perm=%#02x", rwr)}},
		{name: "type filter", handle: "88.100/PUMP-0042", types: []string{"name"}, rc: handlewire.RCSuccess, handleV: "88.100/PUMP-0042",
			vals: []string{fmt.Sprintf("2 name pump ttl=0/600 perm=%#02x", rwr)}},
		{name: "index filter", handle: "88.100/PUMP-0042", indexes: []uint32{1}, rc: handlewire.RCSuccess, handleV: "88.100/PUMP-0042",
			vals: []string{fmt.Sprintf("1 URL https://example.com/p/42 ttl=0/300 perm=%#02x", rwr)}},
		// Handle's filter: a listed type OR a listed index, types in any
		// case, "T." for T's subtypes.
		{name: "type and index lists: values matching either", handle: "88.100/PUMP-0042", types: []string{"URL"}, indexes: []uint32{2}, rc: handlewire.RCSuccess, handleV: "88.100/PUMP-0042",
			vals: []string{fmt.Sprintf("1 URL https://example.com/p/42 ttl=0/300 perm=%#02x", rwr), fmt.Sprintf("2 name pump ttl=0/600 perm=%#02x", rwr)}},
		{name: "type in another case", handle: "88.100/PUMP-0042", types: []string{"NAME"}, rc: handlewire.RCSuccess, handleV: "88.100/PUMP-0042",
			vals: []string{fmt.Sprintf("2 name pump ttl=0/600 perm=%#02x", rwr)}},
		{name: "subtypes", handle: "88.100/PUMP-0042", types: []string{"URL."}, rc: handlewire.RCSuccess, handleV: "88.100/PUMP-0042",
			vals: []string{fmt.Sprintf("4 URL.meta https://example.com/p/42.json ttl=0/300 perm=%#02x", rwr)}},
		{name: "filter matches nothing", handle: "88.100/PUMP-0042", types: []string{"nosuch"}, rc: handlewire.RCValuesNotFound, msg: "filter"},
		{name: "private value asked for", handle: "88.100/PUMP-0042", indexes: []uint32{3}, rc: handlewire.RCValuesNotFound},
		{name: "only private values", handle: "88.100/hidden", rc: handlewire.RCValuesNotFound},
		{name: "not registered", handle: "88.100/missing", rc: handlewire.RCHandleNotFound, msg: "not registered"},
		{name: "prefix under no zone here: not responsible", handle: "99/x", rc: handlewire.RCServerNotResponsible, msg: "prefix"},
		{name: "prefix missing under a held zone", handle: "88.100.7/x", rc: handlewire.RCHandleNotFound, msg: "prefix"},
		{name: "withdrawn: the tombstone as message", handle: "88.100/old", rc: handlewire.RCHandleNotFound, msg: `"88.100/old" was withdrawn on `},
		{name: "invalid handle", handle: "88.100/", rc: handlewire.RCInvalidHandle, msg: "suffix"},
		{name: "no slash: a prefix handle", handle: "88.100.1", rc: handlewire.RCSuccess, handleV: "88.100.1",
			types: []string{"HS_SITE"}, vals: []string{fmt.Sprintf("3 HS_SITE %s ttl=0/7200 perm=%#02x", siteData(childHandle), rwr)}},
		{name: "prefix handle of a delegated child", handle: "0.NA/88.100.1", types: []string{"HS_SITE"}, rc: handlewire.RCSuccess, handleV: "0.NA/88.100.1",
			vals: []string{fmt.Sprintf("3 HS_SITE %s ttl=0/7200 perm=%#02x", siteData(childHandle), rwr)}},
		{name: "identifier below a delegation: service referral", handle: "88.100.1/x", rc: handlewire.RCServiceReferral, handleV: "0.NA/88.100.1",
			vals: []string{fmt.Sprintf("3 HS_SITE %s ttl=0/7200 perm=%#02x", siteData(childHandle), rwr)}},
		{name: "prefix handle below a delegation, 2.5: prefix referral", handle: "0.NA/88.100.1.5", rc: handlewire.RCPrefixReferral, handleV: "0.NA/88.100.1",
			vals: []string{fmt.Sprintf("3 HS_SITE %s ttl=0/7200 perm=%#02x", siteData(childHandle), rwr)}},
		{name: "slashless prefix handle below a delegation: prefix referral", handle: "88.100.1.5", rc: handlewire.RCPrefixReferral, handleV: "0.NA/88.100.1",
			vals: []string{fmt.Sprintf("3 HS_SITE %s ttl=0/7200 perm=%#02x", siteData(childHandle), rwr)}},
		{name: "prefix handle below a delegation, 2.1: service referral", handle: "0.NA/88.100.1.5", version: v(2, 1), rc: handlewire.RCServiceReferral, handleV: "0.NA/88.100.1",
			vals: []string{fmt.Sprintf("3 HS_SITE %s ttl=0/7200 perm=%#02x", siteData(childHandle), rwr)}},
		{name: "too large for the protocol", handle: "88.100/huge", rc: handlewire.RCError, msg: "too large"},
	} {
		t.Run(c.name, func(t *testing.T) {
			raw := request{version: c.version, requestID: 7, body: resolution(c.handle, c.types, c.indexes...)}.encode()
			out, rc := h.Answer(context.Background(), raw)
			r := decodeResponse(t, out)
			if rc != c.rc || r.msg.ResponseCode != c.rc {
				t.Fatalf("rc %d (Answer says %d), want %d: %q", r.msg.ResponseCode, rc, c.rc, handlewire.DecodeError(r.body))
			}
			if r.msg.OpCode != handlewire.OpResolution {
				t.Errorf("opcode %d", r.msg.OpCode)
			}
			if c.handleV == "" {
				if msg := handlewire.DecodeError(r.body); !strings.Contains(msg, c.msg) {
					t.Errorf("message %q, want it to contain %q", msg, c.msg)
				}
				return
			}
			hv, err := handlewire.DecodeHandleValues(r.body)
			if err != nil {
				t.Fatal(err)
			}
			if string(hv.Handle) != c.handleV {
				t.Errorf("handle %q, want %q", hv.Handle, c.handleV)
			}
			var got []string
			for _, v := range hv.Values {
				if c.rc != handlewire.RCSuccess && string(v.Type) != "HS_SITE" {
					continue
				}
				got = append(got, valueLine(v))
			}
			if !slices.Equal(got, c.vals) {
				t.Errorf("values\n%q\nwant\n%q", got, c.vals)
			}
		})
	}
}

// siteData is the HS_SITE data of a delegation's Handle address, as
// valueLine prints it.
func siteData(addr string) string {
	s := handlewire.ResolutionSite(netip.MustParseAddrPort(addr), 1, nil, "")
	return string(handlewire.AppendSiteInfo(nil, &s))
}

// TestEnvelope: ids echoed, the version answered, the expiration ahead,
// the digest of the request as sent.
func TestEnvelope(t *testing.T) {
	h := newHandler(t, Config{})
	body := resolution("88.100/PUMP-0042", nil)
	for _, c := range []struct {
		name    string
		version handlewire.Version
		flags   uint32
		answer  handlewire.Version
		suggest handlewire.Version
		digest  uint8 // 0: none
	}{
		{"2.0", v(2, 0), 0, v(2, 0), handlewire.Version{}, 0},
		{"2.1 with digest: SHA-1", v(2, 1), handlewire.FlagRequestDigest, v(2, 1), handlewire.Version{}, handlewire.DigestSHA1},
		{"2.5 with digest: SHA-256", v(2, 5), handlewire.FlagRequestDigest | handlewire.FlagRecursive, v(2, 5), handlewire.Latest, handlewire.DigestSHA256},
		{"2.10 answered in 2.5", v(2, 10), handlewire.FlagRequestDigest, handlewire.Latest, handlewire.Latest, handlewire.DigestSHA256},
		{"2.0 ignores the digest flag", v(2, 0), handlewire.FlagRequestDigest, v(2, 0), handlewire.Version{}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			raw := request{version: c.version, flags: c.flags | handlewire.FlagPublicOnly, requestID: 0xdeadbeef, sessionID: 42, body: body}.encode()
			out, _ := h.Answer(context.Background(), raw)
			r := decodeResponse(t, out)
			if r.env.RequestID != 0xdeadbeef || r.env.SessionID != 42 {
				t.Errorf("ids %#x/%d, want the request's 0xdeadbeef/42", r.env.RequestID, r.env.SessionID)
			}
			if r.env.Version != c.answer || r.env.Suggest != c.suggest {
				t.Errorf("version %v suggest %v, want %v %v", r.env.Version, r.env.Suggest, c.answer, c.suggest)
			}
			if got, want := time.Unix(int64(r.msg.Expiration), 0), testNow.Add(ExpirationWindow); !got.Equal(want) {
				t.Errorf("expiration %v, want %v", got, want)
			}
			if r.msg.ResponseCode != handlewire.RCSuccess {
				t.Fatalf("rc %d", r.msg.ResponseCode)
			}
			if r.msg.OpFlags&handlewire.FlagPublicOnly == 0 || r.msg.OpFlags&handlewire.FlagRecursive != c.flags&handlewire.FlagRecursive {
				t.Errorf("flags %#x do not echo the request's %#x", r.msg.OpFlags, c.flags)
			}
			signed := raw[handlewire.EnvelopeSize : len(raw)-4] // header and body, without the empty credential
			switch c.digest {
			case 0:
				if r.digest != nil {
					t.Errorf("digest %x, want none", r.digest)
				}
			case handlewire.DigestSHA1:
				sum := sha1.Sum(signed)
				if !bytes.Equal(r.digest, append([]byte{c.digest}, sum[:]...)) {
					t.Errorf("digest %x, want SHA-1 %x", r.digest, sum)
				}
			case handlewire.DigestSHA256:
				sum := sha256.Sum256(signed)
				if !bytes.Equal(r.digest, append([]byte{c.digest}, sum[:]...)) {
					t.Errorf("digest %x, want SHA-256 %x", r.digest, sum)
				}
			}
		})
	}
}

// TestRefusals: what is not a resolution of this server's is answered
// with a code and a message, in the request's ids.
func TestRefusals(t *testing.T) {
	h := newHandler(t, Config{})
	ok := request{requestID: 9, body: resolution("88.100/PUMP-0042", nil)}.encode()
	withEnv := func(f func(b []byte)) []byte {
		b := slices.Clone(ok)
		f(b)
		return b
	}
	for _, c := range []struct {
		name    string
		raw     []byte
		rc      uint32
		msg     string
		version handlewire.Version
	}{
		{"major version 3", withEnv(func(b []byte) { b[0] = 3 }), handlewire.RCProtocolError, "version 3.5 not supported", handlewire.Latest},
		{"major version 1", withEnv(func(b []byte) { b[0], b[1] = 1, 0 }), handlewire.RCProtocolError, "not supported", handlewire.Latest},
		{"compressed", withEnv(func(b []byte) { b[2] |= handlewire.EnvCompressed }), handlewire.RCProtocolError, "compressed", handlewire.Latest},
		{"encrypted", withEnv(func(b []byte) { b[2] |= handlewire.EnvEncrypted }), handlewire.RCOperationNotSupported, "encrypted", handlewire.Latest},
		{"multi-packet", withEnv(func(b []byte) { b[2] |= handlewire.EnvTruncated }), handlewire.RCProtocolError, "multi-packet", handlewire.Latest},
		{"second packet", withEnv(func(b []byte) { binary.BigEndian.PutUint32(b[12:], 1) }), handlewire.RCProtocolError, "multi-packet", handlewire.Latest},
		{"message shorter than announced", ok[:len(ok)-3], handlewire.RCProtocolError, "arrived", handlewire.Latest},
		{"message length over the limit", withEnv(func(b []byte) { binary.BigEndian.PutUint32(b[16:], handlewire.MaxMessageLength+1) }), handlewire.RCProtocolError, "over", handlewire.Latest},
		{"body cut short", request{requestID: 9, body: resolution("88.100/PUMP-0042", nil)[:10]}.encode(), handlewire.RCProtocolError, "malformed", handlewire.Latest},
		{"trailing bytes in the body", request{requestID: 9, body: append(resolution("88.100/PUMP-0042", nil), 0)}.encode(), handlewire.RCProtocolError, "after", handlewire.Latest},
		{"a response, not a request", withEnv(func(b []byte) { b[handlewire.EnvelopeSize+7] = 1 }), handlewire.RCProtocolError, "response code 0", handlewire.Latest},
		{"header only", ok[:handlewire.EnvelopeSize+handlewire.HeaderSize], handlewire.RCProtocolError, "", handlewire.Latest},
		{"create handle", request{requestID: 9, op: handlewire.OpCreateHandle, body: resolution("88.100/new", nil)}.encode(), handlewire.RCOperationNotSupported, "gRPC", handlewire.Latest},
		{"session setup in 2.1", request{version: v(2, 1), requestID: 9, op: handlewire.OpSessionSetup}.encode(), handlewire.RCOperationNotSupported, "not supported", v(2, 1)},
		{"list handles", request{requestID: 9, op: handlewire.OpListHandles, body: resolution("0.NA/88.100", nil)}.encode(), handlewire.RCOperationNotSupported, "not supported", handlewire.Latest},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, rc := h.Answer(context.Background(), c.raw)
			r := decodeResponse(t, out)
			if rc != c.rc || r.msg.ResponseCode != c.rc {
				t.Fatalf("rc %d (Answer says %d), want %d: %q", r.msg.ResponseCode, rc, c.rc, handlewire.DecodeError(r.body))
			}
			if r.env.RequestID != 9 || r.env.Version != c.version {
				t.Errorf("request id %d version %v, want 9 %v", r.env.RequestID, r.env.Version, c.version)
			}
			if msg := handlewire.DecodeError(r.body); !strings.Contains(msg, c.msg) {
				t.Errorf("message %q, want it to contain %q", msg, c.msg)
			}
			if r.msg.Expiration == 0 {
				t.Error("expiration 0: hdllib refuses it")
			}
		})
	}
	if out, _ := h.Answer(context.Background(), ok[:handlewire.EnvelopeSize-1]); out != nil {
		t.Errorf("answered %x to less than an envelope", out)
	}
}

func TestSiteInfo(t *testing.T) {
	raw, err := os.ReadFile("../handlewire/testdata/hdllib-siteinfo-2.5-tcp.bin")
	if err != nil {
		t.Fatal(err)
	}
	out, rc := newHandler(t, Config{}).Answer(context.Background(), raw)
	r := decodeResponse(t, out)
	if rc != handlewire.RCSuccess || r.msg.OpCode != handlewire.OpGetSiteInfo {
		t.Fatalf("rc %d opcode %d: %q", rc, r.msg.OpCode, handlewire.DecodeError(r.body))
	}
	s, err := handlewire.DecodeSiteInfo(r.body)
	if err != nil {
		t.Fatal(err)
	}
	if s.SerialNumber != 3 || len(s.Servers) != 1 || s.Servers[0].Address.String() != "127.0.0.1" || r.msg.SiteInfoSerial != 3 {
		t.Errorf("site %+v (header serial %d), want the configured one", s, r.msg.SiteInfoSerial)
	}
}

// TestAnswersWhatHdllibSends: the requests recorded from hdllib are
// answered, in their version.
func TestAnswersWhatHdllibSends(t *testing.T) {
	h := newHandler(t, Config{})
	for file, want := range map[string]uint32{
		"hdllib-resolve-2.5-tcp.bin": handlewire.RCServiceReferral, // 88.100.1 is delegated
		"hdllib-resolve-2.1-udp.bin": handlewire.RCSuccess,         // 0.NA/88.100.1, its HS_SITE
	} {
		raw, err := os.ReadFile("../handlewire/testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		out, rc := h.Answer(context.Background(), raw)
		r := decodeResponse(t, out)
		env, _ := handlewire.DecodeEnvelope(raw)
		if rc != want || r.env.Version != env.Version || r.env.RequestID != env.RequestID {
			t.Errorf("%s: rc %d version %v id %d, want %d %v %d", file, rc, r.env.Version, r.env.RequestID, want, env.Version, env.RequestID)
		}
	}
}

// failing is a resolver whose node has failed.
type failing struct{ outcome idresv1.Outcome }

func (f failing) Resolve(context.Context, *idresv1.ResolveRequest) (*idresv1.ResolveResponse, error) {
	if f.outcome != idresv1.Outcome_OUTCOME_UNSPECIFIED {
		return &idresv1.ResolveResponse{Outcome: f.outcome, Message: "upstream 10.0.0.1:7420 refused"}, nil
	}
	return nil, errors.New("store unreadable at /var/lib/idres")
}

// TestFailuresSayNothingInternal: a failed node answers RC_ERROR with a
// generic message, never what failed.
func TestFailuresSayNothingInternal(t *testing.T) {
	for _, c := range []struct {
		res resolver.Resolver
		msg string
	}{
		{failing{}, msgInternal},
		{failing{idresv1.Outcome_OUTCOME_SERVER_FAILURE}, msgServerFailure},
		{failing{idresv1.Outcome(99)}, msgInternal},
	} {
		h, err := New(Config{Resolver: c.res, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		out, rc := h.Answer(context.Background(), request{body: resolution("88.100/x", nil)}.encode())
		r := decodeResponse(t, out)
		if rc != handlewire.RCError || handlewire.DecodeError(r.body) != c.msg {
			t.Errorf("%v: rc %d %q, want RC_ERROR %q", c.res, rc, handlewire.DecodeError(r.body), c.msg)
		}
	}
}

// TestCertifiedAnswersAreSigned: with the certify flag, the credential
// section is Config.Credential's result over the header and body; without
// it, or without a Credential, there is none.
func TestCertifiedAnswersAreSigned(t *testing.T) {
	var signedVersion handlewire.Version
	h := newHandler(t, Config{Credential: func(v handlewire.Version, signed []byte) ([]byte, error) {
		signedVersion = v
		sum := sha256.Sum256(signed)
		return sum[:], nil
	}})
	for _, certify := range []bool{true, false} {
		var flags uint32
		if certify {
			flags = handlewire.FlagCertify
		}
		out, _ := h.Answer(context.Background(), request{version: v(2, 1), flags: flags, body: resolution("88.100/PUMP-0042", nil)}.encode())
		r := decodeResponse(t, out)
		if !certify {
			if r.msg.Credential != nil {
				t.Errorf("credential %x without the certify flag", r.msg.Credential)
			}
			continue
		}
		sum := sha256.Sum256(handlewire.SignedPart(out))
		if !bytes.Equal(r.msg.Credential, sum[:]) || signedVersion != (v(2, 1)) {
			t.Errorf("credential %x (version %v), want %x over the header and body in 2.1", r.msg.Credential, signedVersion, sum)
		}
		if r.msg.OpFlags&handlewire.FlagCertify == 0 {
			t.Error("the certify flag is not echoed")
		}
	}
}

// TestSigningBudget: signed answers beyond Limits.SignaturesPerSecond get
// RC_SERVER_TOO_BUSY, unsigned and without asking the resolver; the budget
// refills with time, and requests without the certify flag never touch it.
func TestSigningBudget(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	signed := 0
	h := newHandler(t, Config{
		Now:    func() time.Time { return now },
		Limits: Limits{SignaturesPerSecond: 2},
		Credential: func(handlewire.Version, []byte) ([]byte, error) {
			signed++
			return []byte("sig"), nil
		},
	})
	ask := func(certify bool) (uint32, []byte) {
		var flags uint32
		if certify {
			flags = handlewire.FlagCertify
		}
		out, rc := h.Answer(context.Background(), request{version: v(2, 5), flags: flags, body: resolution("88.100/PUMP-0042", nil)}.encode())
		return rc, decodeResponse(t, out).msg.Credential
	}
	for i := range 2 {
		if rc, cred := ask(true); rc != handlewire.RCSuccess || cred == nil {
			t.Fatalf("signed answer %d within the budget: rc %d, credential %x", i+1, rc, cred)
		}
	}
	if rc, cred := ask(true); rc != handlewire.RCServerTooBusy || cred != nil {
		t.Fatalf("third signed answer in the same second: rc %d, credential %x; want RC_SERVER_TOO_BUSY unsigned", rc, cred)
	}
	if rc, _ := ask(false); rc != handlewire.RCSuccess {
		t.Fatalf("an unsigned request while the budget is spent: rc %d", rc)
	}
	now = now.Add(500 * time.Millisecond)
	if rc, cred := ask(true); rc != handlewire.RCSuccess || cred == nil {
		t.Fatalf("half a second later: rc %d, credential %x; want one signature back", rc, cred)
	}
	if signed != 3 {
		t.Fatalf("%d signatures made, want 3", signed)
	}
}
