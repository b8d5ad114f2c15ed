package server

import (
	"errors"
	"net/http"

	"github.com/dropcast/dropcast/apperr"
	"github.com/dropcast/dropcast/drops"
)

// consoleView is what the host console needs: the burst, its links and its
// full run-of-show (VIP cards included) with products and stock.
type consoleView struct {
	Burst burstView  `json:"burst"`
	Drop  bootDrop   `json:"drop"`
	Cards []cardView `json:"cards"`
}

var errHostKey = apperr.Errorf(apperr.Unauthorized, "missing or wrong stream key (Authorization: Bearer STREAM_KEY)")

// hostConsole answers GET /api/bursts/{id}/console for the admin token or
// the burst's own stream key, so a host can run the show with only the key.
func (s *Server) hostConsole(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if !s.isAdmin(r) {
		key, ok := bearer(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="dropcast host"`)
			return errHostKey
		}
		b, err := s.drops.BurstByStreamKey(r.Context(), key)
		if errors.Is(err, drops.ErrBadStreamKey) || (err == nil && b.ID != id) {
			return errHostKey
		}
		if err != nil {
			return err
		}
	}
	b, err := s.drops.Burst(r.Context(), id)
	if err != nil {
		return err
	}
	d, err := s.drops.Drop(r.Context(), b.DropID)
	if err != nil {
		return err
	}
	cards, err := s.runOfShow(r.Context(), b, true)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, consoleView{Burst: s.burstView(b), Drop: bootDrop{ID: d.ID, Slug: d.Slug, Title: d.Title, Currency: d.Currency}, Cards: cards})
	return nil
}
