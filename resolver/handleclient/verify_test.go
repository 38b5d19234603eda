package handleclient

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"testing"

	"github.com/idres/idres/resolver/handlewire"
)

// signingFake answers every request with value, signed with key when the
// request sets the certify flag; tamper, when set, changes the signed
// frame afterwards (as a man in the middle would).
func signingFake(t *testing.T, key *rsa.PrivateKey, value handlewire.Value, tamper func(frame []byte)) *fake {
	return startFake(t, func(udp bool, env handlewire.Envelope, m handlewire.Message) [][]byte {
		frame := replyFrame(env, m, value)
		if m.OpFlags&handlewire.FlagCertify != 0 {
			cred, err := handlewire.Sign(key, env.Version, handlewire.SignedPart(frame))
			if err != nil {
				t.Error(err)
				return nil
			}
			f := handlewire.Frame{}
			e, _ := handlewire.DecodeEnvelope(frame)
			msg, _ := handlewire.DecodeMessage(frame[handlewire.EnvelopeSize:])
			f.Envelope, f.Header, f.Credential = e, msg.Header, cred
			f.Digest, f.Body, _ = handlewire.SplitDigest(&msg)
			frame = handlewire.AppendFrame(nil, &f)
		}
		if tamper != nil {
			tamper(frame)
		}
		if udp {
			return datagrams(frame)
		}
		return [][]byte{frame}
	})
}

func TestVerifySignedAnswers(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := handlewire.AppendPublicKey(nil, &key.PublicKey)
	otherPub, _ := handlewire.AppendPublicKey(nil, &other.PublicKey)
	ctx := context.Background()
	value := bigValue(1500) // several UDP datagrams

	good := signingFake(t, key, value, nil)
	for _, udp := range []bool{false, true} {
		c := &Client{Addr: good.addr, UDP: udp, Certify: true}
		a, err := c.Resolve(ctx, "88.100.1/PUMP-0042", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Verify(pub); err != nil {
			t.Fatalf("udp=%v: %v", udp, err)
		}
		if err := a.Verify(otherPub); !errors.Is(err, handlewire.ErrSignature) {
			t.Fatalf("udp=%v, another key: %v, want ErrSignature", udp, err)
		}
	}

	// Without the certify flag the server signs nothing.
	a, err := (&Client{Addr: good.addr}).Resolve(ctx, "88.100.1/PUMP-0042", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Verify(pub); !errors.Is(err, handlewire.ErrSignature) {
		t.Fatalf("unsigned answer: %v, want ErrSignature", err)
	}

	// A byte of the value changed after signing.
	bad := signingFake(t, key, value, func(frame []byte) { frame[len(frame)-400] ^= 1 })
	a, err = (&Client{Addr: bad.addr, Certify: true}).Resolve(ctx, "88.100.1/PUMP-0042", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Verify(pub); !errors.Is(err, handlewire.ErrSignature) {
		t.Fatalf("tampered answer: %v, want ErrSignature", err)
	}
}

func TestSiteKey(t *testing.T) {
	s := handlewire.SiteInfo{Servers: []handlewire.ServerInfo{{ID: 1}, {ID: 2, PublicKey: []byte("k")}}}
	if got := SiteKey(&s); string(got) != "k" {
		t.Fatalf("SiteKey = %q", got)
	}
	if got := SiteKey(&handlewire.SiteInfo{}); got != nil {
		t.Fatalf("SiteKey of a site without keys = %q", got)
	}
}
