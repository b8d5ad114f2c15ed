package checkout

import (
	"net/url"
	"testing"

	"github.com/stripe/stripe-go/v79"

	"github.com/dropcast/dropcast/apperr"
)

// FuzzReturnURL: whatever the client sends, the URL Stripe will redirect to
// is on the site or refused.
func FuzzReturnURL(f *testing.F) {
	for _, seed := range []string{"", "/watch/1", "http://shop.test/watch/1?x=1#f", "https://evil.test/", "//evil.test/x",
		"javascript:alert(1)", "http://shop.test@evil.test/", "/\\evil.test", "http://shop.test:80/", "%zz"} {
		f.Add(seed, int64(1))
	}
	s := &Service{cfg: Config{PublicURL: "http://shop.test"}}
	f.Fuzz(func(t *testing.T, raw string, burst int64) {
		got, err := s.returnURL(raw, burst)
		if err != nil {
			if apperr.CodeOf(err) != apperr.Invalid {
				t.Fatalf("error code %q", apperr.CodeOf(err))
			}
			return
		}
		u, perr := url.Parse(got)
		if perr != nil || u.Scheme != "http" || u.Host != "shop.test" || u.User != nil {
			t.Fatalf("returnURL(%q) = %q: off site", raw, got)
		}
		_ = withQuery(got, "checkout", "success")
	})
}

// FuzzSessionOrderID: the order id comes only from well-formed metadata or
// client_reference_id, as a positive integer.
func FuzzSessionOrderID(f *testing.F) {
	for _, seed := range []string{"1", "0", "-3", "9223372036854775808", "12abc", ""} {
		f.Add(seed, seed)
	}
	f.Fuzz(func(t *testing.T, meta, ref string) {
		s := &stripe.CheckoutSession{Metadata: map[string]string{"order_id": meta}, ClientReferenceID: ref}
		if id := sessionOrderID(s); id < 0 {
			t.Fatalf("negative id %d", id)
		}
	})
}
