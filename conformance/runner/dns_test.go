package runner

import (
	"testing"

	"github.com/miekg/dns"
)

func TestReferralTarget(t *testing.T) {
	rr := func(s string) dns.RR {
		r, err := dns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	referral := &dns.Msg{}
	referral.Ns = []dns.RR{rr("88.id.example. 60 IN NS ns1.88.id.example.")}
	referral.Extra = []dns.RR{rr("other.example. 60 IN A 192.0.2.9"), rr("ns1.88.id.example. 60 IN A 127.0.0.102")}
	if got, ok := referralTarget(referral, "127.0.0.101:5353"); !ok || got != "127.0.0.102:5353" {
		t.Errorf("referral: got %q, %v; want 127.0.0.102:5353 (glue address, referrer's port)", got, ok)
	}
	v6 := &dns.Msg{}
	v6.Ns = []dns.RR{rr("88.id.example. 60 IN NS ns1.88.id.example.")}
	v6.Extra = []dns.RR{rr("ns1.88.id.example. 60 IN AAAA ::1")}
	if got, ok := referralTarget(v6, "[::1]:53"); !ok || got != "[::1]:53" {
		t.Errorf("AAAA glue: got %q, %v", got, ok)
	}
	answer := referral.Copy()
	answer.Authoritative = true
	noGlue := referral.Copy()
	noGlue.Extra = nil
	nx := referral.Copy()
	nx.Rcode = dns.RcodeNameError
	for name, m := range map[string]*dns.Msg{"authoritative": answer, "no glue": noGlue, "nxdomain": nx} {
		if got, ok := referralTarget(m, "127.0.0.101:53"); ok {
			t.Errorf("%s: followed to %q", name, got)
		}
	}
}
