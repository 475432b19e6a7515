package sim

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is a control plane error with the Twilio error code and the HTTP
// status the REST API answers with. The API layer maps it to the wire format;
// everything else inspects it with errors.As.
type Error struct {
	Code    int    // Twilio error code, e.g. 83010
	Status  int    // HTTP status
	Message string // human readable, says which parameter or resource
}

func (e *Error) Error() string { return fmt.Sprintf("%d: %s", e.Code, e.Message) }

// Is makes errors.Is match any *Error with the same code.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Code == e.Code
}

// Twilio error codes the control plane returns. The 837xx codes are the
// network-side reasons a modem's attach or data session is refused.
const (
	CodeUnauthorized        = 20003
	CodeMethodNotAllowed    = 20004
	CodePageSizeTooLarge    = 20007
	CodeNotFound            = 20404
	CodeConflict            = 20409
	CodeInvalidParameter    = 20422
	CodeInvalidPageToken    = 21481
	CodeRegistrationMissing = 83001
	CodeRegistrationInvalid = 83002
	CodeAlreadyRegistered   = 83003
	CodeSimNotFound         = 83005
	CodeFleetNotFound       = 83006
	CodeNoFleet             = 83007
	CodeFleetRequired       = 83008
	CodeUpdateInProgress    = 83009
	CodeBadTransition       = 83010
	CodeSimNameTaken        = 83011
	CodeUsageInvalid        = 83600
	CodeUsageNotDay         = 83601
	CodeUsageNotHour        = 83602
	CodeUsageSimTooLong     = 83603
	CodeUsageTooLong        = 83604
	CodeUsageTooOld         = 83605
	CodeNetworkNotAllowed   = 83702
	CodeSimNew              = 83704
	CodeSimInactive         = 83705
	CodeDataDisabled        = 83706 // simulator's own: Fleet has data_enabled=false
	CodeDataLimitReached    = 83707 // simulator's own: data limit of the period used up
)

// Sentinels to compare with errors.Is.
var (
	ErrNotFound          = &Error{Code: CodeNotFound, Status: http.StatusNotFound, Message: "not found"}
	ErrNetworkNotAllowed = &Error{Code: CodeNetworkNotAllowed, Status: http.StatusForbidden, Message: "network not allowed by the Fleet's Network Access Profile"}
	ErrSimNew            = &Error{Code: CodeSimNew, Status: http.StatusForbidden, Message: "SIM is new and was never activated"}
	ErrSimInactive       = &Error{Code: CodeSimInactive, Status: http.StatusForbidden, Message: "SIM is inactive"}
	ErrDataDisabled      = &Error{Code: CodeDataDisabled, Status: http.StatusForbidden, Message: "data is disabled for the SIM's Fleet"}
	ErrDataLimitReached  = &Error{Code: CodeDataLimitReached, Status: http.StatusForbidden, Message: "the SIM has used its Fleet's data limit for this billing period"}
)

func errorf(code, status int, format string, args ...any) *Error {
	return &Error{Code: code, Status: status, Message: fmt.Sprintf(format, args...)}
}

func invalidParam(format string, args ...any) *Error {
	return errorf(CodeInvalidParameter, http.StatusBadRequest, format, args...)
}

func notFound(format string, args ...any) *Error {
	return errorf(CodeNotFound, http.StatusNotFound, format, args...)
}
