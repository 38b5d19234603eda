package handlewire

import (
	"os"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to every decoder a server or client
// runs on received data: none may panic, and what decodes must encode
// back to the same bytes.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"hdllib-resolve-2.5-tcp.bin", "hdllib-resolve-2.1-udp.bin", "hdllib-siteinfo-2.5-tcp.bin"} {
		raw, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		env, err := DecodeEnvelope(raw)
		if err != nil {
			return
		}
		if got := env.Append(nil); len(got) != EnvelopeSize {
			t.Fatalf("envelope re-encodes to %d bytes", len(got))
		}
		m, err := DecodeMessage(raw[EnvelopeSize:])
		if err != nil {
			return
		}
		if q, err := DecodeResolutionRequest(m.Body); err == nil {
			if got := q.Append(nil); string(got) != string(m.Body) {
				t.Fatalf("resolution request re-encodes differently:\n%x\n%x", got, m.Body)
			}
		}
		if _, body, err := SplitDigest(&m); err == nil {
			if hv, err := DecodeHandleValues(body); err == nil && hv.Values != nil {
				if got := hv.Append(nil); string(got) != string(body) {
					t.Fatalf("values re-encode differently")
				}
			}
			DecodeError(body)
			if s, err := DecodeSiteInfo(body); err == nil {
				AppendSiteInfo(nil, &s)
			}
		}
		DecodeGenericRequest(m.Body)
		DecodeGlobalValues(m.Body)
	})
}
