package httpgw_test

import (
	"testing"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/httpgw"
)

// TestMapOutcome pins design §3's table (SPEC HTTP-002) for every outcome,
// including those an Authority never gives (GONE) and unknown values.
func TestMapOutcome(t *testing.T) {
	tests := []struct {
		o            idresv1.Outcome
		code, status int
	}{
		{idresv1.Outcome_OUTCOME_OK, 1, 200},
		{idresv1.Outcome_OUTCOME_NOT_FOUND, 100, 404},
		{idresv1.Outcome_OUTCOME_VALUES_NOT_FOUND, 200, 200},
		{idresv1.Outcome_OUTCOME_REFERRAL, 301, 400},
		{idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND, 100, 404},
		{idresv1.Outcome_OUTCOME_INVALID_IDENTIFIER, 102, 400},
		{idresv1.Outcome_OUTCOME_SERVER_FAILURE, 2, 500},
		{idresv1.Outcome_OUTCOME_GONE, 100, 410},
		{idresv1.Outcome_OUTCOME_UNSPECIFIED, 2, 500},
		{idresv1.Outcome(99), 2, 500},
	}
	for _, tt := range tests {
		if got := httpgw.MapOutcome(tt.o); got.Code != tt.code || got.Status != tt.status {
			t.Errorf("MapOutcome(%v) = %d/%d, want %d/%d", tt.o, got.Code, got.Status, tt.code, tt.status)
		}
	}
}
