package handlewire

import (
	"crypto"
	"crypto/dsa" //nolint:staticcheck // verifying hdllib's DSA server keys
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
)

// The credential section (RFC 3652 §2.2.4) as hdllib writes and reads
// it, after the message's header and body:
//
//	Version    octet       0
//	Reserved   octet       0
//	Flags      int2        0
//	Signer     HdlValueRef the signer's handle (string) and index (int4);
//	                       empty and 0 in a server's signed response
//	Type       string      "HS_SIGNED" (a public-key signature)
//	Length     int4        the length of the signature section
//	DigestAlg  string      "SHA1" (hdllib 7.3.1 knows SHA1 and MD5 only)
//	Signature  bytes       the signature (PKCS #1 v1.5 for RSA, DER
//	                       SEQUENCE{r, s} for DSA)
//
// The signature covers the message's header and body exactly as sent
// (Message.Signed, SignedPart of a frame); up to protocol 2.5 nothing
// of the envelope is signed.
const (
	CredentialSigned    = "HS_SIGNED"
	CredentialOldSigned = "HS_DSAPUBKEY" // hdllib reads it as HS_SIGNED
	CredentialMAC       = "HS_MAC"       // a session MAC; not produced or checked here

	// DigestNameSHA1 is the digest name idres signs with: the only one
	// besides MD5 that hdllib 7.3.1 verifies (SHA1withRSA).
	DigestNameSHA1 = "SHA1"
)

// ErrSignature is wrapped by every Verify failure: the message carries no
// signature, a signature of an unknown kind, or one that does not verify
// with the key.
var ErrSignature = errors.New("Handle signature not verified")

// Credential is a decoded credential section.
type Credential struct {
	Version  uint8
	Reserved uint8
	Flags    uint16
	Signer   Reference
	Type     []byte
	// DigestAlg and Signature are the signature section.
	DigestAlg []byte
	Signature []byte
}

// AppendCredential writes c as the content of a credential section (the
// bytes Frame.Credential holds).
func AppendCredential(b []byte, c *Credential) []byte {
	b = append(b, c.Version, c.Reserved)
	b = binary.BigEndian.AppendUint16(b, c.Flags)
	b = appendBytes(b, c.Signer.Handle)
	b = binary.BigEndian.AppendUint32(b, c.Signer.Index)
	b = appendBytes(b, c.Type)
	b = binary.BigEndian.AppendUint32(b, uint32(8+len(c.DigestAlg)+len(c.Signature)))
	b = appendBytes(b, c.DigestAlg)
	return appendBytes(b, c.Signature)
}

// DecodeCredential reads a credential section's content (all of b). Its
// slices alias b.
func DecodeCredential(b []byte) (Credential, error) {
	r := reader{b: b}
	var c Credential
	c.Version = r.u8("credential version")
	c.Reserved = r.u8("credential reserved octet")
	c.Flags = r.u16("credential flags")
	c.Signer.Handle = r.bytes("signer handle")
	c.Signer.Index = r.u32("signer index")
	c.Type = r.bytes("credential type")
	section := r.bytes("signature section")
	if err := r.done("signature section"); err != nil {
		return c, err
	}
	s := reader{b: section}
	c.DigestAlg = s.bytes("digest algorithm")
	c.Signature = s.bytes("signature")
	return c, s.done("signature")
}

// Sign signs the header and body of a response in protocol version v
// (signed, as SignedPart returns them) with key, and returns the
// credential section's content to send after them. key must be an RSA
// key: hdllib verifies RSA and DSA only, and Go signs no DSA.
func Sign(key crypto.Signer, v Version, signed []byte) ([]byte, error) {
	if v.AtLeast(2, 6) {
		// From 2.6 on hdllib also signs envelope fields; idres answers
		// in 2.5 at most.
		return nil, fmt.Errorf("sign a protocol %v message: unsupported", v)
	}
	if _, ok := key.Public().(*rsa.PublicKey); !ok {
		return nil, fmt.Errorf("sign with a %T key: hdllib verifies RSA signatures", key.Public())
	}
	sum := sha1.Sum(signed)
	sig, err := key.Sign(rand.Reader, sum[:], crypto.SHA1)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return AppendCredential(nil, &Credential{
		Type:      []byte(CredentialSigned),
		DigestAlg: []byte(DigestNameSHA1),
		Signature: sig,
	}), nil
}

// Verify checks that credential (a credential section's content) holds
// a signature of signed (a message's header and body as received) by
// pub, an *rsa.PublicKey or *dsa.PublicKey. It accepts the digests
// hdllib names SHA1 and SHA-256 (in any of its spellings) and refuses
// MD5. Every failure wraps ErrSignature.
func Verify(pub crypto.PublicKey, signed, credential []byte) error {
	if len(credential) == 0 {
		return fmt.Errorf("%w: the message carries no credential", ErrSignature)
	}
	c, err := DecodeCredential(credential)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSignature, err)
	}
	if t := string(c.Type); t != CredentialSigned && t != CredentialOldSigned {
		return fmt.Errorf("%w: credential type %q", ErrSignature, t)
	}
	var h crypto.Hash
	switch string(c.DigestAlg) {
	case "SHA1", "SHA-1", "\x02":
		h = crypto.SHA1
	case "SHA-256", "SHA256", "\x03":
		h = crypto.SHA256
	default:
		return fmt.Errorf("%w: digest algorithm %q", ErrSignature, c.DigestAlg)
	}
	var sum []byte
	if h == crypto.SHA1 {
		s := sha1.Sum(signed)
		sum = s[:]
	} else {
		s := sha256.Sum256(signed)
		sum = s[:]
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if err := rsa.VerifyPKCS1v15(k, h, sum, c.Signature); err != nil {
			return fmt.Errorf("%w: %w", ErrSignature, err)
		}
		return nil
	case *dsa.PublicKey:
		var rs struct{ R, S *big.Int }
		rest, err := asn1.Unmarshal(c.Signature, &rs)
		if err != nil || len(rest) != 0 || rs.R == nil || rs.S == nil {
			return fmt.Errorf("%w: DSA signature is not DER", ErrSignature)
		}
		if !dsa.Verify(k, sum, rs.R, rs.S) {
			return fmt.Errorf("%w: DSA verification failed", ErrSignature)
		}
		return nil
	}
	return fmt.Errorf("%w: key type %T", ErrSignature, pub)
}

// VerifyMessage is Verify of a decoded message's own signature, with the
// key in the Handle public key encoding (a ServerInfo.PublicKey).
func VerifyMessage(publicKey []byte, m *Message) error {
	if len(publicKey) == 0 {
		return fmt.Errorf("%w: no public key to verify with", ErrSignature)
	}
	pub, err := DecodePublicKey(publicKey)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSignature, err)
	}
	return Verify(pub, m.Signed, m.Credential)
}
