package handlewire

import (
	"bytes"
	"crypto/rsa"
	"testing"
)

// FuzzDecodeCredential feeds arbitrary bytes to the credential and
// public key decoders, which read what a peer sends (a response's
// credential, a site's server key): neither may panic, a credential that
// decodes encodes back to the same bytes, and a key that decodes
// encodes to a key that decodes to the same key.
func FuzzDecodeCredential(f *testing.F) {
	for _, name := range []string{"hdllib-signed-rsa-2.5.bin", "hdllib-signed-dsa-2.5.bin"} {
		m, err := DecodeMessage(readGolden(f, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(m.Credential)
	}
	f.Add(readGolden(f, "hdllib-rsa-pubkey.bin"))
	f.Add(readGolden(f, "hdllib-dsa-pubkey.bin"))
	key := testKey(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := DecodeCredential(b); err == nil {
			if got := AppendCredential(nil, &c); !bytes.Equal(got, b) {
				t.Fatalf("credential re-encodes differently:\n%x\n%x", got, b)
			}
			_ = Verify(&key.PublicKey, []byte("signed"), b)
		}
		pub, err := DecodePublicKey(b)
		if err != nil {
			return
		}
		enc, err := AppendPublicKey(nil, pub)
		if err != nil {
			t.Fatalf("decoded key %T does not encode: %v", pub, err)
		}
		again, err := DecodePublicKey(enc)
		if err != nil {
			t.Fatalf("re-encoded key does not decode: %v", err)
		}
		if k, ok := pub.(*rsa.PublicKey); ok && !k.Equal(again) {
			t.Fatal("RSA key changed through re-encoding")
		}
	})
}
