package handlewire

import (
	"bytes"
	"crypto"
	"crypto/dsa" //nolint:staticcheck // hdllib's oldest server keys are DSA; decoded to verify, never generated
	"crypto/rsa"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"math/big"
)

// The Handle public key encoding (hdllib's Util.getBytesFromPublicKey,
// the form of ServerInfo.PublicKey in an HS_SITE and of HS_PUBKEY
// values): the key type as a string, two octets of flags (0), then the
// key's integers, each a byte array holding a big-endian two's-complement
// number (Java's BigInteger.toByteArray: minimal, with a leading zero
// octet when the top bit is set):
//
//	"RSA_PUB_KEY" flags exponent modulus 00000000
//	"DSA_PUB_KEY" flags q p g y
//
// hdllib sizes an RSA key's buffer four octets too long, so every RSA
// key it writes (a HANDLE.NET server's pubkey.bin, the keys in its
// HS_SITE values) ends in four zero octets; AppendPublicKey writes them
// too, and DecodePublicKey accepts an RSA key with or without them.
const (
	KeyTypeRSA = "RSA_PUB_KEY"
	KeyTypeDSA = "DSA_PUB_KEY"
)

// Bounds on the keys this package accepts: RSA moduli of MinRSABits to
// MaxRSABits bits (hdllib servers generate 2048), and an encoded key of
// at most MaxPublicKeyLength bytes.
const (
	MinRSABits         = 1024
	MaxRSABits         = 8192
	MaxPublicKeyLength = 4096
)

// AppendPublicKey writes pub (an *rsa.PublicKey or *dsa.PublicKey) in
// the Handle public key encoding.
func AppendPublicKey(b []byte, pub crypto.PublicKey) ([]byte, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		b = appendBytes(b, []byte(KeyTypeRSA))
		b = binary.BigEndian.AppendUint16(b, 0)
		b = appendBytes(b, javaBigInt(big.NewInt(int64(k.E))))
		b = appendBytes(b, javaBigInt(k.N))
		return append(b, 0, 0, 0, 0), nil
	case *dsa.PublicKey:
		b = appendBytes(b, []byte(KeyTypeDSA))
		b = binary.BigEndian.AppendUint16(b, 0)
		b = appendBytes(b, javaBigInt(k.Q))
		b = appendBytes(b, javaBigInt(k.P))
		b = appendBytes(b, javaBigInt(k.G))
		return appendBytes(b, javaBigInt(k.Y)), nil
	}
	return b, fmt.Errorf("handle public key: unsupported key type %T", pub)
}

// DecodePublicKey reads a key in the Handle public key encoding (all of
// b): an *rsa.PublicKey or a *dsa.PublicKey. It refuses keys outside the
// bounds above and any other key type (hdllib's DH_PUB_KEY included:
// it cannot sign).
func DecodePublicKey(b []byte) (crypto.PublicKey, error) {
	if len(b) > MaxPublicKeyLength {
		return nil, formatErr("public key of %d bytes, over %d", len(b), MaxPublicKeyLength)
	}
	r := reader{b: b}
	typ := r.bytes("key type")
	r.u16("key flags")
	if r.err != nil {
		return nil, r.err
	}
	switch string(typ) {
	case KeyTypeRSA:
		e, n := r.bytes("RSA exponent"), r.bytes("RSA modulus")
		if r.err == nil && len(r.b) == 4 && binary.BigEndian.Uint32(r.b) == 0 {
			r.b = nil // hdllib's four zero octets
		}
		if err := r.done("RSA key"); err != nil {
			return nil, err
		}
		return rsaKey(e, n)
	case KeyTypeDSA:
		q, p, g, y := r.bytes("DSA q"), r.bytes("DSA p"), r.bytes("DSA g"), r.bytes("DSA y")
		if err := r.done("DSA key"); err != nil {
			return nil, err
		}
		return dsaKey(q, p, g, y)
	}
	return nil, formatErr("public key type %q", typ)
}

func rsaKey(e, n []byte) (*rsa.PublicKey, error) {
	N, E := new(big.Int).SetBytes(n), new(big.Int).SetBytes(e)
	if bits := N.BitLen(); bits < MinRSABits || bits > MaxRSABits {
		return nil, formatErr("RSA modulus of %d bits, want %d to %d", bits, MinRSABits, MaxRSABits)
	}
	if N.Bit(0) == 0 {
		return nil, formatErr("RSA modulus is even")
	}
	if E.BitLen() > 31 || E.Int64() < 3 || E.Bit(0) == 0 {
		return nil, formatErr("RSA exponent %v", E)
	}
	return &rsa.PublicKey{N: N, E: int(E.Int64())}, nil
}

func dsaKey(q, p, g, y []byte) (*dsa.PublicKey, error) {
	k := &dsa.PublicKey{
		Parameters: dsa.Parameters{P: new(big.Int).SetBytes(p), Q: new(big.Int).SetBytes(q), G: new(big.Int).SetBytes(g)},
		Y:          new(big.Int).SetBytes(y),
	}
	if bits := k.P.BitLen(); bits < 1024 || bits > 3072 {
		return nil, formatErr("DSA p of %d bits", bits)
	}
	if bits := k.Q.BitLen(); bits < 160 || bits > 256 {
		return nil, formatErr("DSA q of %d bits", bits)
	}
	one := big.NewInt(1)
	if k.G.Cmp(one) <= 0 || k.G.Cmp(k.P) >= 0 || k.Y.Cmp(one) <= 0 || k.Y.Cmp(k.P) >= 0 {
		return nil, formatErr("DSA g or y out of range")
	}
	return k, nil
}

// javaBigInt is x as Java's BigInteger.toByteArray writes a non-negative
// number: big-endian, minimal, with a zero octet in front when the top
// bit of the first octet is set (and one zero octet for 0).
func javaBigInt(x *big.Int) []byte {
	b := x.Bytes()
	if len(b) == 0 || b[0]&0x80 != 0 {
		return append([]byte{0}, b...)
	}
	return b
}

// done reports a decoding error, or trailing bytes after what is named.
func (r *reader) done(what string) error {
	if r.err == nil && len(r.b) != 0 {
		r.err = formatErr("%d bytes after the %s", len(r.b), what)
	}
	return r.err
}

// ParsePublicKeyFile reads a public key file and returns the key in the
// Handle public key encoding: a PEM "PUBLIC KEY" (PKIX, RSA or DSA) or
// "RSA PUBLIC KEY" (PKCS #1) block, or the Handle encoding itself (a
// HANDLE.NET server's pubkey.bin).
func ParsePublicKeyFile(data []byte) ([]byte, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		if _, err := DecodePublicKey(data); err != nil {
			return nil, fmt.Errorf("neither PEM nor a Handle public key: %w", err)
		}
		return bytes.Clone(data), nil
	}
	var pub crypto.PublicKey
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block %q, want PUBLIC KEY", block.Type)
	}
	if err != nil {
		return nil, err
	}
	enc, err := AppendPublicKey(nil, pub)
	if err != nil {
		return nil, err
	}
	// The same bounds as a received key.
	if _, err := DecodePublicKey(enc); err != nil {
		return nil, err
	}
	return enc, nil
}
