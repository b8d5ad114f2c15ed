package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/dropcast/dropcast/apperr"
)

// bearer returns the token of an "Authorization: Bearer TOKEN" header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// tokenEqual compares two tokens in constant time; hashing first makes the
// comparison independent of their lengths too.
func tokenEqual(got, want string) bool {
	a := sha256.Sum256([]byte(got))
	b := sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1 && want != ""
}

// isAdmin reports whether r carries the admin token.
func (s *Server) isAdmin(r *http.Request) bool {
	token, ok := bearer(r)
	return ok && tokenEqual(token, s.cfg.AdminToken)
}

var errUnauthorized = apperr.Errorf(apperr.Unauthorized, "missing or wrong admin token (Authorization: Bearer ADMIN_TOKEN)")

// admin lets only requests with the admin token through.
func (s *Server) admin(h apiFunc) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if !s.isAdmin(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="dropcast admin"`)
			return errUnauthorized
		}
		return h(w, r)
	}
}
