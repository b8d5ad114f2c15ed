// Package live is the shopper channel: a websocket hub per burst, the card
// scheduler (run-of-show plus live pins), presence and viewer counts, stock
// broadcasts, and the routing of cart commands to the commerce backend.
package live

import "context"

// Commerce handles shoppers' cart commands on behalf of the channel. The
// checkout package implements it; until it is wired, cart commands answer
// the error code "unavailable". Results are JSON-encodable values sent to the
// shopper as the "cart" (or checkout) payload. Errors are *apperr.Error with a
// machine code (sold_out, limit_reached, unknown_variant, card_expired, …)
// that becomes the websocket error code.
type Commerce interface {
	// AddToCart reserves qty units of variantID for shopperID in the drop of
	// burstID, at the deal price of cardID when that card is shown (0: none).
	AddToCart(ctx context.Context, shopperID string, burstID, variantID int64, qty int, cardID int64) (cart any, err error)
	// RemoveFromCart releases qty units of variantID held by shopperID.
	RemoveFromCart(ctx context.Context, shopperID string, burstID, variantID int64, qty int) (cart any, err error)
	// Cart returns shopperID's current cart in the drop of burstID.
	Cart(ctx context.Context, shopperID string, burstID int64) (cart any, err error)
	// Checkout opens payment for shopperID's cart and returns the URL to
	// send the shopper to. returnURL is the page to come back to.
	Checkout(ctx context.Context, shopperID string, burstID int64, returnURL string) (checkoutURL string, err error)
}
