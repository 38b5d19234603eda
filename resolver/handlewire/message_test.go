package handlewire

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"reflect"
	"testing"
)

// The testdata requests are what hdllib 7.3.1 (../shared/handle-client's
// hdl-resolve) sent to a socket that only recorded them.
func readRequest(t testing.TB, name string) (Envelope, Message) {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	env, err := DecodeEnvelope(raw)
	if err != nil {
		t.Fatal(err)
	}
	if int(env.MessageLength) != len(raw)-EnvelopeSize {
		t.Fatalf("envelope says %d bytes, file has %d after it", env.MessageLength, len(raw)-EnvelopeSize)
	}
	m, err := DecodeMessage(raw[EnvelopeSize:])
	if err != nil {
		t.Fatal(err)
	}
	return env, m
}

func TestDecodesWhatHdllibSends(t *testing.T) {
	for _, tc := range []struct {
		file    string
		version Version
		op      uint32
		flags   uint32
		want    ResolutionRequest
	}{
		{"hdllib-resolve-2.5-tcp.bin", Version{2, 5}, OpResolution, FlagRecursive | FlagCacheCertify | FlagPublicOnly,
			ResolutionRequest{Handle: []byte("88.100.1/PUMP-0042"), Indexes: []uint32{1}, Types: [][]byte{[]byte("URL")}}},
		{"hdllib-resolve-2.1-udp.bin", Version{2, 1}, OpResolution, FlagAuthoritative | FlagRecursive | FlagCacheCertify | FlagPublicOnly,
			ResolutionRequest{Handle: []byte("0.NA/88.100.1"), Types: [][]byte{[]byte("HS_SITE")}}},
		{"hdllib-siteinfo-2.5-tcp.bin", Version{2, 5}, OpGetSiteInfo, FlagRecursive | FlagCacheCertify | FlagPublicOnly, ResolutionRequest{}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			env, m := readRequest(t, tc.file)
			if env.Version != tc.version || m.OpCode != tc.op || m.OpFlags != tc.flags || m.ResponseCode != RCReserved {
				t.Fatalf("version %v op %d flags %#x rc %d, want %v %d %#x 0", env.Version, m.OpCode, m.OpFlags, m.ResponseCode, tc.version, tc.op, tc.flags)
			}
			if m.Credential != nil {
				t.Errorf("credential %x, want none", m.Credential)
			}
			if tc.op == OpGetSiteInfo {
				h, err := DecodeGenericRequest(m.Body)
				if err != nil || string(h) != "/" {
					t.Fatalf("site info request handle %q, %v", h, err)
				}
				if got := AppendGenericRequest(nil, h); !bytes.Equal(got, m.Body) {
					t.Fatalf("re-encoded body %x, want %x", got, m.Body)
				}
				return
			}
			q, err := DecodeResolutionRequest(m.Body)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(q, tc.want) {
				t.Fatalf("request %+v, want %+v", q, tc.want)
			}
			// Re-encoding gives the same body back.
			if got := q.Append(nil); !bytes.Equal(got, m.Body) {
				t.Fatalf("re-encoded body\n%x\nwant\n%x", got, m.Body)
			}
		})
	}
}

func TestFrameRoundTrip(t *testing.T) {
	_, req := readRequest(t, "hdllib-resolve-2.5-tcp.bin")
	req.OpFlags |= FlagRequestDigest
	hv := HandleValues{Handle: []byte("88.100.1/PUMP-0042"), Values: []Value{
		{Index: 1, Timestamp: 1700000000, TTL: 86400, Permissions: PermAdminRead | PermAdminWrite | PermPublicRead, Type: []byte("URL"), Data: []byte("https://x.example/1")},
		{Index: 2, Type: []byte("ref"), Data: []byte{0, 1, 2}, References: []Reference{{Handle: []byte("0.NA/88"), Index: 300}}},
	}}
	f := Frame{
		Envelope: Envelope{Version: Version{2, 5}, Suggest: Version{2, 5}, RequestID: 42, SessionID: 7},
		Header:   Header{OpCode: OpResolution, ResponseCode: RCSuccess, OpFlags: ResponseFlags(req.OpFlags, true), Expiration: 2000000000},
		Digest:   RequestDigest(Version{2, 5}, &req),
		Body:     hv.Append(nil),
	}
	raw := AppendFrame(nil, &f)
	env, err := DecodeEnvelope(raw)
	if err != nil {
		t.Fatal(err)
	}
	if env.RequestID != 42 || env.SessionID != 7 || env.Version != (Version{2, 5}) || env.Suggest != (Version{2, 5}) || int(env.MessageLength) != len(raw)-EnvelopeSize {
		t.Fatalf("envelope %+v (frame %d bytes)", env, len(raw))
	}
	m, err := DecodeMessage(raw[EnvelopeSize:])
	if err != nil {
		t.Fatal(err)
	}
	if m.Expiration != 2000000000 || m.ResponseCode != RCSuccess || m.OpFlags&FlagRequestDigest == 0 {
		t.Fatalf("header %+v", m.Header)
	}
	digest, body, err := SplitDigest(&m)
	if err != nil {
		t.Fatal(err)
	}
	if digest[0] != DigestSHA256 || len(digest) != 33 {
		t.Fatalf("digest %x", digest)
	}
	got, err := DecodeHandleValues(body)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, hv) {
		t.Fatalf("values\n%+v\nwant\n%+v", got, hv)
	}
	if !bytes.Equal(SignedPart(raw), m.Signed) {
		t.Fatal("SignedPart differs from the decoded message's signed bytes")
	}
}

func TestSiteInfoRoundTrip(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:2641", "[2001:db8::1]:8000", "[::ffff:10.0.0.1]:2641"} {
		s := ResolutionSite(netip.MustParseAddrPort(addr), 3, []byte("key"), "idres node")
		raw := AppendSiteInfo(nil, &s)
		got, err := DecodeSiteInfo(raw)
		if err != nil {
			t.Fatal(err)
		}
		want := s
		want.Servers = append([]ServerInfo(nil), s.Servers...)
		want.Servers[0].Address = want.Servers[0].Address.Unmap()
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: site\n%+v\nwant\n%+v", addr, got, want)
		}
	}
}

func TestDecodersRefuseLiesAboutLength(t *testing.T) {
	_, m := readRequest(t, "hdllib-resolve-2.5-tcp.bin")
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"empty", nil},
		{"handle longer than body", []byte{0, 0, 0, 200, 'x'}},
		{"index count of a billion", append(append([]byte(nil), m.Body[:4+18]...), 0x40, 0, 0, 0)},
		{"trailing bytes", append(append([]byte(nil), m.Body...), 1)},
	} {
		if _, err := DecodeResolutionRequest(tc.body); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err %v, want ErrFormat", tc.name, err)
		}
	}
	if _, err := DecodeMessage(make([]byte, 10)); !errors.Is(err, ErrFormat) {
		t.Errorf("short message: %v", err)
	}
	env := Envelope{MessageLength: MaxMessageLength + 1}
	if _, err := DecodeEnvelope(env.Append(nil)); !errors.Is(err, ErrFormat) {
		t.Errorf("oversized message length: %v", err)
	}
}

func TestGlobalValuesRoundTrip(t *testing.T) {
	s := ResolutionSite(netip.MustParseAddrPort("127.0.0.1:2641"), 1, nil, "")
	vs := []Value{{Index: 1, TTL: 86400, Permissions: PermAdminRead | PermPublicRead, Type: []byte("HS_SITE"), Data: AppendSiteInfo(nil, &s)}}
	got, err := DecodeGlobalValues(AppendGlobalValues(nil, vs))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, vs) {
		t.Fatalf("got %+v", got)
	}
}
