package server

import (
	"net/http"
	"strconv"

	"github.com/dropcast/dropcast/drops"
)

// burstView is a burst as the admin API shows it, with the links a host needs.
type burstView struct {
	drops.Burst
	WatchURL string `json:"watch_url"`
	HostURL  string `json:"host_url"`
	WHIPURL  string `json:"whip_url"`
	RTSPURL  string `json:"rtsp_url,omitempty"`
}

// burstWithKey is the answer to creating a burst or rotating its key: the
// only time the stream key is ever shown.
type burstWithKey struct {
	burstView
	StreamKey string `json:"stream_key"`
	// RTSPPublishURL is the full ingest URL including the key.
	RTSPPublishURL string `json:"rtsp_publish_url,omitempty"`
}

func (s *Server) watchURL(id int64) string {
	return s.cfg.PublicURL + "/watch/" + strconv.FormatInt(id, 10)
}

func (s *Server) burstView(b drops.Burst) burstView {
	id := strconv.FormatInt(b.ID, 10)
	v := burstView{
		Burst:    b,
		WatchURL: s.watchURL(b.ID),
		HostURL:  s.cfg.PublicURL + "/host/" + id,
		WHIPURL:  s.cfg.PublicURL + "/whip",
	}
	if base := s.RTSPBase(); base != "" {
		v.RTSPURL = base + "/STREAM_KEY"
	}
	return v
}

// RTSPBase is rtsp://HOST:PORT for the public host, or "" when RTSP ingest is off.
func (s *Server) RTSPBase() string {
	if s.cfg.RTSPAddr == "" {
		return ""
	}
	return RTSPBase(s.cfg.PublicURL, s.cfg.RTSPAddr)
}

func (s *Server) withKey(b drops.Burst, key drops.StreamKey) burstWithKey {
	v := burstWithKey{burstView: s.burstView(b), StreamKey: key.String()}
	if base := s.RTSPBase(); base != "" {
		v.RTSPPublishURL = base + "/" + key.String()
	}
	return v
}

func (s *Server) listBursts(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	bs, err := s.drops.ListBursts(r.Context(), id)
	if err != nil {
		return err
	}
	views := make([]burstView, len(bs))
	for i, b := range bs {
		views[i] = s.burstView(b)
	}
	writeJSON(w, http.StatusOK, map[string]any{"bursts": views})
	return nil
}

func (s *Server) createBurst(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in drops.BurstInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	b, key, err := s.drops.CreateBurst(r.Context(), id, in)
	if err != nil {
		return err
	}
	s.log.Info("burst created", "burst_id", b.ID, "drop_id", b.DropID, "stream_key", key)
	w.Header().Set("Location", "/api/bursts/"+strconv.FormatInt(b.ID, 10))
	writeJSON(w, http.StatusCreated, s.withKey(b, key))
	return nil
}

func (s *Server) getBurst(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	b, err := s.drops.Burst(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.burstView(b))
	return nil
}

func (s *Server) updateBurst(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var p drops.BurstPatch
	if err := decodeJSON(w, r, &p); err != nil {
		return err
	}
	b, err := s.drops.UpdateBurst(r.Context(), id, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.burstView(b))
	return nil
}

func (s *Server) rotateStreamKey(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	b, key, err := s.drops.RotateStreamKey(r.Context(), id)
	if err != nil {
		return err
	}
	s.log.Info("stream key rotated", "burst_id", b.ID)
	writeJSON(w, http.StatusOK, s.withKey(b, key))
	return nil
}

func (s *Server) listCards(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	cs, err := s.drops.ListCards(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"cards": cs})
	return nil
}

func (s *Server) createCard(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in drops.CardInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	c, err := s.drops.CreateCard(r.Context(), id, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/bursts/"+strconv.FormatInt(id, 10)+"/cards/"+strconv.FormatInt(c.ID, 10))
	writeJSON(w, http.StatusCreated, c)
	return nil
}

func (s *Server) updateCard(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	cardID, err := pathID(r, "card")
	if err != nil {
		return err
	}
	var p drops.CardPatch
	if err := decodeJSON(w, r, &p); err != nil {
		return err
	}
	c, err := s.drops.UpdateCard(r.Context(), id, cardID, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *Server) deleteCard(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	cardID, err := pathID(r, "card")
	if err != nil {
		return err
	}
	if err := s.drops.DeleteCard(r.Context(), id, cardID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
