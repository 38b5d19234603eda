package handleclient

import (
	"fmt"

	"github.com/idres/idres/resolver/handlewire"
)

// Verify checks the answer's signature with publicKey, a key in the
// Handle public key encoding: the server key of the site the answer
// came from (SiteKey). It asks nothing of the network. An answer is
// signed only when the request set the certify flag (Client.Certify);
// every failure wraps handlewire.ErrSignature.
//
// Which key to trust is the caller's choice. The key in the HS_SITE
// that the parent's prefix handle published (or a site file an operator
// obtained from it) vouches for the server; the key the server reports
// for itself (SiteInfo) only shows that later answers come from the
// same key holder as the first (trust on first use).
func (a *Answer) Verify(publicKey []byte) error {
	if err := handlewire.VerifyMessage(publicKey, &handlewire.Message{Signed: a.Signed, Credential: a.Credential}); err != nil {
		return fmt.Errorf("answer for %s: %w", a.Handle, err)
	}
	return nil
}

// SiteKey is the public key of the site's first server that publishes
// one, nil when none does. idres sites have one server; a site whose
// servers split handles by hash would need the server the handle hashes
// to, which this client does not select.
func SiteKey(s *handlewire.SiteInfo) []byte {
	for _, srv := range s.Servers {
		if len(srv.PublicKey) > 0 {
			return srv.PublicKey
		}
	}
	return nil
}
