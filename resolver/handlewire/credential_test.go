package handlewire

import (
	"bytes"
	"crypto/dsa" //nolint:staticcheck // hdllib's DSA keys
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"testing"
)

// The golden files hdllib-*.bin beside the recorded requests were
// written by hdllib 7.3.1 itself (testdata/hdllib-gen/Gen.java) with the
// test-only key testdata/test-only-rsa-key.pem: a public key as
// Util.getBytesFromPublicKey encodes it, and resolution responses signed
// with AbstractMessage.signMessage(SHA1withRSA / SHA1withDSA).

func testKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	raw, err := os.ReadFile("testdata/test-only-rsa-key.pem")
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(raw)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}

func readGolden(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// readSigned decodes a golden signed message (header, body, credential:
// what follows the envelope).
func readSigned(t testing.TB, name string) Message {
	t.Helper()
	m, err := DecodeMessage(readGolden(t, name))
	if err != nil {
		t.Fatal(err)
	}
	if m.Credential == nil {
		t.Fatalf("%s carries no credential", name)
	}
	return m
}

func TestPublicKeyEncodingIsHdllibs(t *testing.T) {
	key := testKey(t)
	golden := readGolden(t, "hdllib-rsa-pubkey.bin")
	got, err := AppendPublicKey(nil, &key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, golden) {
		t.Fatalf("RSA public key\n%x\nhdllib wrote\n%x", got, golden)
	}
	pub, err := DecodePublicKey(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !key.PublicKey.Equal(pub) {
		t.Fatalf("decoded %+v, want the test key", pub)
	}
	// hdllib's four zero octets after an RSA key are optional.
	if pub, err := DecodePublicKey(golden[:len(golden)-4]); err != nil || !key.PublicKey.Equal(pub) {
		t.Fatalf("RSA key without the trailing zeros: %v", err)
	}

	dsaGolden := readGolden(t, "hdllib-dsa-pubkey.bin")
	dpub, err := DecodePublicKey(dsaGolden)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := dpub.(*dsa.PublicKey); !ok {
		t.Fatalf("DSA key decoded as %T", dpub)
	}
	if again, err := AppendPublicKey(nil, dpub); err != nil || !bytes.Equal(again, dsaGolden) {
		t.Fatalf("DSA key re-encodes to\n%x (%v)\nhdllib wrote\n%x", again, err, dsaGolden)
	}
}

func TestSignIsWhatHdllibSigns(t *testing.T) {
	key := testKey(t)
	for _, tc := range []struct {
		file string
		v    Version
	}{{"hdllib-signed-rsa-2.5.bin", Version{2, 5}}, {"hdllib-signed-rsa-2.1.bin", Version{2, 1}}} {
		m := readSigned(t, tc.file)
		c, err := DecodeCredential(m.Credential)
		if err != nil {
			t.Fatal(err)
		}
		if string(c.Type) != CredentialSigned || string(c.DigestAlg) != DigestNameSHA1 || len(c.Signature) != 256 ||
			c.Version != 0 || c.Flags != 0 || c.Signer.Handle != nil || c.Signer.Index != 0 {
			t.Fatalf("%s: credential %+v", tc.file, c)
		}
		if again := AppendCredential(nil, &c); !bytes.Equal(again, m.Credential) {
			t.Fatalf("%s: credential re-encodes differently", tc.file)
		}
		if err := Verify(&key.PublicKey, m.Signed, m.Credential); err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		// PKCS #1 v1.5 is deterministic: the same bytes as hdllib's.
		got, err := Sign(key, tc.v, m.Signed)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, m.Credential) {
			t.Fatalf("%s: Sign wrote\n%x\nhdllib wrote\n%x", tc.file, got, m.Credential)
		}
	}
}

func TestVerifiesHdllibDSASignature(t *testing.T) {
	pub, err := DecodePublicKey(readGolden(t, "hdllib-dsa-pubkey.bin"))
	if err != nil {
		t.Fatal(err)
	}
	m := readSigned(t, "hdllib-signed-dsa-2.5.bin")
	if err := Verify(pub, m.Signed, m.Credential); err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Clone(m.Signed)
	tampered[len(tampered)-1] ^= 1
	if err := Verify(pub, tampered, m.Credential); !errors.Is(err, ErrSignature) {
		t.Fatalf("tampered DSA-signed body: %v", err)
	}
}

func TestSignedFrameVerifies(t *testing.T) {
	key := testKey(t)
	pubEnc, _ := AppendPublicKey(nil, &key.PublicKey)
	hv := HandleValues{Handle: []byte("88.100.1/PUMP-0042"), Values: []Value{{Index: 1, Type: []byte("URL"), Data: []byte("https://x.example/1")}}}
	f := Frame{
		Envelope: Envelope{Version: Latest, RequestID: 9},
		Header:   Header{OpCode: OpResolution, ResponseCode: RCSuccess, OpFlags: FlagCertify, Expiration: 2000000000},
		Body:     hv.Append(nil),
	}
	unsigned := AppendFrame(nil, &f)
	cred, err := Sign(key, Latest, SignedPart(unsigned))
	if err != nil {
		t.Fatal(err)
	}
	f.Credential = cred
	raw := AppendFrame(nil, &f)
	m, err := DecodeMessage(raw[EnvelopeSize:])
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyMessage(pubEnc, &m); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyRefuses(t *testing.T) {
	key := testKey(t)
	m := readSigned(t, "hdllib-signed-rsa-2.5.bin")
	c, _ := DecodeCredential(m.Credential)
	with := func(edit func(c *Credential)) []byte {
		c2 := c
		c2.Signature = bytes.Clone(c.Signature)
		edit(&c2)
		return AppendCredential(nil, &c2)
	}
	other := &rsa.PublicKey{N: new(big.Int).Add(key.N, big.NewInt(2)), E: key.E}
	tamperedBody := bytes.Clone(m.Signed)
	tamperedBody[HeaderSize+5] ^= 0x20
	for _, tc := range []struct {
		name       string
		pub        any
		signed     []byte
		credential []byte
	}{
		{"no credential", &key.PublicKey, m.Signed, nil},
		{"tampered body", &key.PublicKey, tamperedBody, m.Credential},
		{"tampered header", &key.PublicKey, append([]byte{1}, m.Signed[1:]...), m.Credential},
		{"tampered signature", &key.PublicKey, m.Signed, with(func(c *Credential) { c.Signature[7] ^= 1 })},
		{"another key", other, m.Signed, m.Credential},
		{"MD5", &key.PublicKey, m.Signed, with(func(c *Credential) { c.DigestAlg = []byte("MD5") })},
		{"SHA-256 named, SHA-1 signed", &key.PublicKey, m.Signed, with(func(c *Credential) { c.DigestAlg = []byte("SHA-256") })},
		{"a MAC", &key.PublicKey, m.Signed, with(func(c *Credential) { c.Type = []byte(CredentialMAC) })},
		{"truncated", &key.PublicKey, m.Signed, m.Credential[:len(m.Credential)-1]},
		{"trailing byte", &key.PublicKey, m.Signed, append(bytes.Clone(m.Credential), 0)},
		{"key of no kind", "key", m.Signed, m.Credential},
	} {
		if err := Verify(tc.pub, tc.signed, tc.credential); !errors.Is(err, ErrSignature) {
			t.Errorf("%s: err %v, want ErrSignature", tc.name, err)
		}
	}
	if err := VerifyMessage(nil, &m); !errors.Is(err, ErrSignature) {
		t.Errorf("no key: %v", err)
	}
	if _, err := Sign(key, Version{2, 6}, m.Signed); err == nil {
		t.Error("Sign in protocol 2.6 (which signs envelope fields too) succeeded")
	}
}

func TestDecodePublicKeyRefuses(t *testing.T) {
	key := testKey(t)
	good, _ := AppendPublicKey(nil, &key.PublicKey)
	rsaEnc := func(e, n *big.Int) []byte {
		b, _ := AppendPublicKey(nil, &rsa.PublicKey{N: n, E: int(e.Int64())})
		return b
	}
	small := new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), 511), big.NewInt(1))
	huge := new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), MaxRSABits), big.NewInt(1))
	even := new(big.Int).Sub(key.N, big.NewInt(1))
	dh := appendBytes(nil, []byte("DH_PUB_KEY"))
	dh = append(dh, 0, 0)
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"512-bit modulus", rsaEnc(big.NewInt(65537), small)},
		{"modulus over the maximum", rsaEnc(big.NewInt(65537), huge)},
		{"even modulus", rsaEnc(big.NewInt(65537), even)},
		{"exponent 1", rsaEnc(big.NewInt(1), key.N)},
		{"trailing byte", append(bytes.Clone(good), 0)},
		{"truncated", good[:len(good)-1]},
		{"DH key", dh},
		{"over the size limit", append(bytes.Clone(good), make([]byte, MaxPublicKeyLength)...)},
	} {
		if _, err := DecodePublicKey(tc.b); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err %v, want ErrFormat", tc.name, err)
		}
	}
}

func TestParsePublicKeyFile(t *testing.T) {
	key := testKey(t)
	want, _ := AppendPublicKey(nil, &key.PublicKey)
	pkix, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	for name, data := range map[string][]byte{
		"PEM PKIX":          pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix}),
		"PEM PKCS #1":       pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&key.PublicKey)}),
		"Handle pubkey.bin": readGolden(t, "hdllib-rsa-pubkey.bin"),
	} {
		got, err := ParsePublicKeyFile(data)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %x, %v", name, got, err)
		}
	}
	for name, data := range map[string][]byte{
		"a private key": readGolden(t, "test-only-rsa-key.pem"),
		"text":          []byte("not a key\n"),
	} {
		if _, err := ParsePublicKeyFile(data); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// BenchmarkSign is what a certified answer costs the server beyond an
// unsigned one: one RSA-2048 signature over a resolution response.
func BenchmarkSign(b *testing.B) {
	key := testKey(b)
	m := readSigned(b, "hdllib-signed-rsa-2.5.bin")
	for b.Loop() {
		if _, err := Sign(key, Latest, m.Signed); err != nil {
			b.Fatal(err)
		}
	}
}
