package httpgw

import (
	"net/http"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// Handle.net REST response codes (design §3). Only those a read-only
// gateway can give are used; 101, 201, 202 and 402 belong to writes and
// authentication, which the gateway does not serve.
const (
	CodeSuccess        = 1
	CodeError          = 2
	CodeHandleNotFound = 100
	CodeInvalidHandle  = 102
	CodeValuesNotFound = 200
	CodeNotResponsible = 301
)

// Mapping is the Handle REST code and HTTP status of an outcome.
type Mapping struct {
	Code   int
	Status int
}

// MapOutcome gives the response code and HTTP status of a resolution
// outcome. A referral is 301 with status 400 here; the handler turns it
// into a 302 redirect when the delegation has an HTTP endpoint to follow.
//
//	OK                 1   200
//	NOT_FOUND          100 404
//	VALUES_NOT_FOUND   200 200 (empty values)
//	REFERRAL           301 400 (302 with Location when the child has an HTTP URL)
//	PREFIX_NOT_FOUND   100 404 (message says the prefix is unknown here)
//	INVALID_IDENTIFIER 102 400
//	SERVER_FAILURE     2   500 (message says no authoritative node answered)
//	GONE               100 410
//	anything else      2   500
func MapOutcome(o idresv1.Outcome) Mapping {
	switch o {
	case idresv1.Outcome_OUTCOME_OK:
		return Mapping{CodeSuccess, http.StatusOK}
	case idresv1.Outcome_OUTCOME_NOT_FOUND, idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND:
		return Mapping{CodeHandleNotFound, http.StatusNotFound}
	case idresv1.Outcome_OUTCOME_VALUES_NOT_FOUND:
		return Mapping{CodeValuesNotFound, http.StatusOK}
	case idresv1.Outcome_OUTCOME_REFERRAL:
		return Mapping{CodeNotResponsible, http.StatusBadRequest}
	case idresv1.Outcome_OUTCOME_INVALID_IDENTIFIER:
		return Mapping{CodeInvalidHandle, http.StatusBadRequest}
	case idresv1.Outcome_OUTCOME_SERVER_FAILURE:
		return Mapping{CodeError, http.StatusInternalServerError}
	case idresv1.Outcome_OUTCOME_GONE:
		return Mapping{CodeHandleNotFound, http.StatusGone}
	}
	return Mapping{CodeError, http.StatusInternalServerError}
}
