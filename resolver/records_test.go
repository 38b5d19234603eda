package resolver

import (
	"bytes"
	"testing"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/handlewire"
)

// Every HS_SITE of a prefix handle carries the delegation's Handle public
// key as its server's key: that is where hdllib takes the key to verify
// the child's signed answers with.
func TestServiceValuesPublishHandleKey(t *testing.T) {
	key := []byte("an encoded key")
	d := &idresv1.Delegation{Grpc: []string{"127.0.0.1:1"}, Handle: []string{"127.0.0.1:2641", "[2001:db8::1]:2641", "not-an-ip:1"}, HandlePublicKey: key}
	sites := 0
	for _, v := range ServiceValues(d) {
		if v.Type != TypeSite {
			continue
		}
		sites++
		s, err := handlewire.DecodeSiteInfo(v.Data)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Servers) != 1 || !bytes.Equal(s.Servers[0].PublicKey, key) {
			t.Fatalf("HS_SITE %d: servers %+v, want one with the delegation's key", v.Index, s.Servers)
		}
	}
	if sites != 2 {
		t.Fatalf("%d HS_SITE values, want 2 (one per ip:port)", sites)
	}
	d.HandlePublicKey = nil
	for _, v := range ServiceValues(d) {
		if v.Type == TypeSite {
			if s, _ := handlewire.DecodeSiteInfo(v.Data); len(s.Servers[0].PublicKey) != 0 {
				t.Fatalf("HS_SITE without a key in the delegation has key %x", s.Servers[0].PublicKey)
			}
		}
	}
}
