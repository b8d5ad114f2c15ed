package live

import (
	"errors"

	"github.com/dropcast/dropcast/apperr"
)

var (
	// ErrBurstNotLive is returned by Show and Hide when the burst is not live
	// (or ending): run-of-show offsets need a live start. Its code is conflict.
	ErrBurstNotLive = &apperr.Error{Code: apperr.Conflict, Message: "the burst is not live"}
	// ErrClosed is returned once the registry or a hub has stopped.
	ErrClosed = errors.New("shopper channel closed")
	// errHubGone tells a caller that the hub it asked stopped meanwhile; the
	// registry retries with a fresh hub.
	errHubGone = errors.New("hub stopped")
)

// wsCode is the websocket error code for err: the code of an *apperr.Error
// (sold_out, not_found, …) as it is, internal for anything else. It is the one
// table of the websocket surface.
func wsCode(err error) (code, message string) {
	if e, ok := errors.AsType[*apperr.Error](err); ok {
		if e.Code == apperr.Internal {
			return CodeInternal, "internal error"
		}
		return e.Code, e.Message
	}
	return CodeInternal, "internal error"
}
