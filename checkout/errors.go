package checkout

import (
	"errors"

	"github.com/dropcast/dropcast/apperr"
)

// Error codes that checkout adds to apperr's shared ones. The shopper channel
// sends them as the websocket error code; the HTTP API maps them to 409 (or
// 410 for card_expired).
const (
	CodeSoldOut        = "sold_out"        // not enough stock left
	CodeLimitReached   = "limit_reached"   // the shopper's per-variant limit
	CodeUnknownVariant = "unknown_variant" // no such variant in this drop
	CodeCardExpired    = "card_expired"    // the card is no longer shown
)

// Sentinels to match with errors.Is; each is an *apperr.Error, and errors
// returned carry a more specific message with the same code.
var (
	ErrSoldOut        = &apperr.Error{Code: CodeSoldOut}
	ErrLimitReached   = &apperr.Error{Code: CodeLimitReached}
	ErrUnknownVariant = &apperr.Error{Code: CodeUnknownVariant}
	ErrCardExpired    = &apperr.Error{Code: CodeCardExpired}
)

// ErrPaymentsOff is returned by Checkout when no Stripe key is configured.
var ErrPaymentsOff = &apperr.Error{Code: apperr.Unavailable, Message: "payments are not configured"}

// ErrLiveMode is returned by SimulatePayment when a live Stripe key is
// configured.
var ErrLiveMode = &apperr.Error{Code: apperr.Forbidden, Message: "simulated payments are refused with a live Stripe key"}

// errNoSession marks a webhook for a session checkout does not know.
var errNoSession = errors.New("unknown checkout session")
