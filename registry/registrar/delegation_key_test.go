package registrar_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"math/big"
	"testing"

	"google.golang.org/grpc/codes"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/credential"
	"github.com/idres/idres/resolver/handlewire"
)

// A delegation's Handle public key is what the child signs certified
// Handle answers with; the registrar keeps only a well-formed key of
// bounded size, and only beside a Handle address that publishes it.
func TestDelegationHandlePublicKey(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	good, _ := handlewire.AppendPublicKey(nil, &k.PublicKey)
	weak, _ := handlewire.AppendPublicKey(nil, &rsa.PublicKey{N: new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), 511), big.NewInt(1)), E: 65537})
	tests := []struct {
		name    string
		handles []string
		key     []byte
		want    codes.Code
	}{
		{"RSA key with a handle address", []string{"127.0.0.1:2641"}, good, codes.OK},
		{"no key", []string{"127.0.0.1:2641"}, nil, codes.OK},
		{"key without a handle address", nil, good, codes.InvalidArgument},
		{"not a key", []string{"127.0.0.1:2641"}, []byte("-----BEGIN PUBLIC KEY-----"), codes.InvalidArgument},
		{"512-bit key", []string{"127.0.0.1:2641"}, weak, codes.InvalidArgument},
		{"oversized", []string{"127.0.0.1:2641"}, append(bytes.Clone(good), make([]byte, handlewire.MaxPublicKeyLength)...), codes.InvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := dgStart(t, "88")
			d := dg("88.100", "127.0.0.1:7421")
			d.Handle, d.HandlePublicKey = tc.handles, tc.key
			ctx := r.as(t, "", credential.RoleAdmin)
			got, err := r.svc.SetDelegation(ctx, &idresv1.SetDelegationRequest{Delegation: d})
			if c := code(err); c != tc.want {
				t.Fatalf("SetDelegation = %v (%v), want %v", c, err, tc.want)
			}
			if err != nil {
				return
			}
			if !bytes.Equal(got.HandlePublicKey, tc.key) {
				t.Fatalf("stored key %x, want %x", got.HandlePublicKey, tc.key)
			}
			again, err := r.svc.GetDelegation(ctx, &idresv1.GetDelegationRequest{Prefix: "88.100"})
			if err != nil || !bytes.Equal(again.HandlePublicKey, tc.key) {
				t.Fatalf("read back key %x (%v), want %x", again.GetHandlePublicKey(), err, tc.key)
			}
		})
	}
}
