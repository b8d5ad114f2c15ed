package checkout

import "context"

// The methods below are the shopper channel's view of checkout
// (live.Commerce): they name a burst, resolve its drop, and return the cart
// as a JSON-encodable Cart. Errors are *apperr.Error with the codes of Add.

// AddToCart reserves qty units of variantID for shopperID in the drop of
// burstID, at the deal price of cardID while that card is shown (0: none).
// The channel of a backstage burst admits only VIP pass holders, so adds
// made there count as VIP; elsewhere a vip_only card's deal is refused
// (the interface carries no pass).
func (s *Service) AddToCart(ctx context.Context, shopperID string, burstID, variantID int64, qty int, cardID int64) (any, error) {
	b, err := s.burstInfo(ctx, burstID)
	if err != nil {
		return nil, err
	}
	return s.Add(ctx, AddInput{ShopperID: shopperID, DropID: b.dropID, BurstID: burstID, VariantID: variantID, Qty: qty, CardID: cardID, VIP: b.backstage})
}

// RemoveFromCart releases qty units (0: all) of variantID held by shopperID.
func (s *Service) RemoveFromCart(ctx context.Context, shopperID string, burstID, variantID int64, qty int) (any, error) {
	dropID, err := s.dropOfBurst(ctx, burstID)
	if err != nil {
		return nil, err
	}
	return s.Remove(ctx, shopperID, dropID, variantID, qty)
}

// Cart returns shopperID's cart in the drop of burstID.
func (s *Service) Cart(ctx context.Context, shopperID string, burstID int64) (any, error) {
	dropID, err := s.dropOfBurst(ctx, burstID)
	if err != nil {
		return nil, err
	}
	return s.CartOf(ctx, shopperID, dropID)
}

// Checkout opens payment of shopperID's cart in the drop of burstID and
// returns the Stripe Checkout URL; returnURL is the page to come back to.
// A returnURL that is not a page of PublicURL (such as the page seen through
// another host name) is replaced by the burst's watch page rather than
// refused, so the shopper can still pay.
func (s *Service) Checkout(ctx context.Context, shopperID string, burstID int64, returnURL string) (string, error) {
	dropID, err := s.dropOfBurst(ctx, burstID)
	if err != nil {
		return "", err
	}
	if _, err := s.returnURL(returnURL, burstID); err != nil {
		returnURL = ""
	}
	o, err := s.StartCheckout(ctx, CheckoutInput{ShopperID: shopperID, DropID: dropID, BurstID: burstID, ReturnURL: returnURL})
	if err != nil {
		return "", err
	}
	return o.CheckoutURL, nil
}
