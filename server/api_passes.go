package server

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/dropcast/dropcast/apperr"
	"github.com/dropcast/dropcast/drops"
)

// passWithKey is the answer to issuing a pass: the only time it is shown.
type passWithKey struct {
	drops.Pass
	Key string `json:"pass"`
}

func (s *Server) listPasses(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ps, err := s.drops.ListPasses(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"passes": ps})
	return nil
}

func (s *Server) createPass(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in drops.PassInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	p, key, err := s.drops.CreatePass(r.Context(), id, in)
	if err != nil {
		return err
	}
	s.log.Info("vip pass issued", "drop_id", id, "pass_id", p.ID, "pass", key)
	w.Header().Set("Location", "/api/drops/"+strconv.FormatInt(id, 10)+"/passes/"+strconv.FormatInt(p.ID, 10))
	writeJSON(w, http.StatusCreated, passWithKey{Pass: p, Key: key.String()})
	return nil
}

func (s *Server) revokePass(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	passID, err := pathID(r, "pass")
	if err != nil {
		return err
	}
	p, err := s.drops.RevokePass(r.Context(), id, passID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// Pass errors as the public API reports them.
var (
	errPassMissing = apperr.Errorf(apperr.Unauthorized, "this burst is for VIP pass holders: send Authorization: Bearer PASS")
	errPassBad     = &apperr.Error{Code: apperr.Forbidden, Message: "the VIP pass is not valid for this drop"}
	errPassExpired = &apperr.Error{Code: apperr.Forbidden, Message: "the VIP pass has expired"}
)

// vipAccess checks the request's pass (Authorization: Bearer PASS, else
// fallback, e.g. a ?pass= query parameter for browser websockets, which
// cannot set headers) against burst b's drop. A burst that is not backstage
// needs no pass: it answers nil, nil when none is given.
func (s *Server) vipAccess(r *http.Request, b drops.Burst, fallback string) (*drops.Pass, error) {
	key, ok := bearer(r)
	if !ok {
		key = fallback
	}
	if key == "" {
		if b.Kind == drops.KindBackstage {
			return nil, errPassMissing
		}
		return nil, nil
	}
	p, err := s.drops.CheckPass(r.Context(), b.DropID, key)
	switch {
	case errors.Is(err, drops.ErrPassExpired):
		return nil, errPassExpired
	case errors.Is(err, drops.ErrBadPass):
		return nil, errPassBad
	case err != nil:
		return nil, err
	}
	return &p, nil
}

// burstAccess answers GET /api/bursts/{id}/access: public; with
// Authorization: Bearer PASS it says whether the pass opens the burst (and
// its VIP-only cards). Pages call it before a backstage WHEP request.
func (s *Server) burstAccess(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	b, err := s.drops.Burst(r.Context(), id)
	if err != nil {
		return err
	}
	p, err := s.vipAccess(r, b, "")
	if err != nil {
		return err
	}
	out := map[string]any{"burst_id": strconv.FormatInt(b.ID, 10), "backstage": b.Kind == drops.KindBackstage, "vip": p != nil}
	if p != nil {
		out["expires_at"] = p.ExpiresAt
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
