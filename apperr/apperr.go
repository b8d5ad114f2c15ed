// Package apperr is the one application error type that domain packages
// return for outcomes a client can act on: a machine code, a message that is
// safe to show, and for validation the offending field. Each surface (admin
// API, WHIP, websocket) maps the codes to its own statuses in one table; any
// other error is internal and reported without detail.
package apperr

import (
	"errors"
	"fmt"
)

// Codes shared by every domain package.
const (
	Invalid      = "invalid"      // the request is malformed or a field is wrong
	NotFound     = "not_found"    // the thing named does not exist
	Conflict     = "conflict"     // the request clashes with current state (duplicate slug, …)
	Unauthorized = "unauthorized" // no credential or a wrong one
	Forbidden    = "forbidden"    // a valid credential that may not do this now
	Unavailable  = "unavailable"  // the feature or dependency is not available
	Internal     = "internal"     // anything else; never shown in detail
)

// Error is an application error. Field is set for validation errors and names
// the JSON field at fault (dotted for nested fields, e.g. "variants[1].price").
type Error struct {
	Code    string
	Message string
	Field   string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", e.Code, e.Field, e.Message)
	}
	return e.Code + ": " + e.Message
}

// Is makes errors.Is(err, &Error{Code: c}) match any error with code c.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Message == "" && t.Field == ""
}

// Errorf returns an *Error with code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// InvalidField returns a validation error for field.
func InvalidField(field, format string, args ...any) *Error {
	return &Error{Code: Invalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of the first *Error in err's chain, or Internal.
func CodeOf(err error) string {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return Internal
}
