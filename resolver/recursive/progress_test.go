package recursive

import (
	"strings"
	"testing"
)

// TestReferralMustGetCloser pins the rule that ends loops: a referral must
// enclose the target and lie strictly below the previous cut.
func TestReferralMustGetCloser(t *testing.T) {
	cut := func(s string) *string { return &s }
	tests := []struct {
		prev      *string
		next, tgt string
		want      string // "" = accepted; else a word of the reason
	}{
		{nil, "88", "88.100.1", ""},
		{nil, "", "88.100.1", ""},
		{cut(""), "88", "88.100.1", ""},
		{cut("88"), "88.100.1", "88.100.1", ""}, // skipping a level is fine
		{cut("88"), "88.100", "88.100.1", ""},
		{cut("88"), "88", "88.100.1", "repeat"},
		{cut("88.100"), "88", "88.100.1", "upward"},
		{cut("88"), "86", "88.100.1", "sideways"},
		{cut("88"), "88.1000", "88.100.1", "sideways"},
		{nil, "88.100.2", "88.100.1", "sideways"},
		{cut("88.100"), "88.1", "88.100.1", "sideways"},
	}
	for _, tc := range tests {
		got := closer(tc.prev, tc.next, tc.tgt)
		if (got == "") != (tc.want == "") || !strings.Contains(got, tc.want) {
			prev := "<roots>"
			if tc.prev != nil {
				prev = *tc.prev
			}
			t.Errorf("closer(%q, %q, %q) = %q, want %q", prev, tc.next, tc.tgt, got, tc.want)
		}
	}
}
