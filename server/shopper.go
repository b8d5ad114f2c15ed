package server

import (
	"net/http"
	"time"

	"github.com/dropcast/dropcast/shopper"
)

// ShopperCookie is the cookie that carries a browser's signed shopper token.
const ShopperCookie = "dropcast_shopper"

// shopperCookieMaxAge keeps an anonymous shopper for the length of a drop and
// its replay window.
const shopperCookieMaxAge = 30 * 24 * time.Hour

// shopperFrom resolves who is shopping: the signed cookie, else the
// ?shopper=TOKEN query parameter, else a fresh identity. A forged or malformed
// token is never an error: it gets a fresh identity, never someone else's.
// Whenever the cookie does not already hold the returned identity it is set on
// w (so call it before writing the response or upgrading a websocket, and pass
// w's headers along). fresh reports whether the identity was minted here.
func (s *Server) shopperFrom(w http.ResponseWriter, r *http.Request) (id shopper.ID, token shopper.Token, fresh bool, err error) {
	if c, cerr := r.Cookie(ShopperCookie); cerr == nil {
		if id, verr := s.shoppers.Verify(c.Value); verr == nil {
			return id, shopper.Token(c.Value), false, nil
		}
	}
	if q := r.URL.Query().Get("shopper"); q != "" {
		if id, verr := s.shoppers.Verify(q); verr == nil {
			s.setShopperCookie(w, r, shopper.Token(q))
			return id, shopper.Token(q), false, nil
		}
	}
	id, token, err = s.shoppers.New()
	if err != nil {
		return "", "", false, err
	}
	s.setShopperCookie(w, r, token)
	return id, token, true, nil
}

func (s *Server) setShopperCookie(w http.ResponseWriter, r *http.Request, token shopper.Token) {
	http.SetCookie(w, &http.Cookie{
		Name:     ShopperCookie,
		Value:    string(token),
		Path:     "/",
		MaxAge:   int(shopperCookieMaxAge / time.Second),
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteLaxMode,
	})
}

// createShopper answers POST /api/shoppers: a fresh anonymous identity for a
// client that does not keep cookies. It passes the token as ?shopper=TOKEN.
func (s *Server) createShopper(w http.ResponseWriter, r *http.Request) error {
	id, token, err := s.shoppers.New()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]string{"shopper_id": string(id), "token": string(token)})
	return nil
}
