package server

import (
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/dropcast/dropcast/apperr"
	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/recorder"
)

// routesRecorder registers recordings, clips and the replay's media. The
// replay page /replay/{burst} itself belongs to the web client; everything
// here lives below it.
func (s *Server) routesRecorder() {
	if s.recorder == nil {
		return
	}
	s.handleAPI("GET /api/bursts/{id}/recordings", s.admin(s.listRecordings))
	s.handleAPI("GET /api/bursts/{id}/clips", s.admin(s.listClips))
	s.handleAPI("POST /api/bursts/{id}/clips", s.admin(s.createClip))
	s.handleAPI("GET /api/clips/{id}", s.admin(s.getClip))

	s.handleAPI("GET /replay/{burst}/index.m3u8", s.replayPlaylist)
	s.handleAPI("GET /replay/{burst}/timeline.json", s.replayTimeline)
	s.handleAPI("GET /replay/{burst}/parts/{file}", s.replayPart)
	s.handleAPI("GET /clips/{file}", s.clipFile)
}

// replayBurst loads the burst of a replay URL. A backstage burst's replay is
// for its drop's VIP pass holders, as the live room is: the pass rides as
// Authorization: Bearer PASS or, for players that cannot set headers (native
// HLS, a clip link), as ?pass=. The admin token opens it too.
func (s *Server) replayBurst(r *http.Request, name string) (drops.Burst, error) {
	id, err := pathID(r, name)
	if err != nil {
		return drops.Burst{}, err
	}
	b, err := s.drops.Burst(r.Context(), id)
	if err != nil {
		return drops.Burst{}, err
	}
	if err := s.backstageReplayAccess(r, b); err != nil {
		return drops.Burst{}, err
	}
	return b, nil
}

// backstageReplayAccess answers nil when r may see burst b's recording and
// clips: any burst that is not backstage, or with the admin token or a valid
// VIP pass for b's drop.
func (s *Server) backstageReplayAccess(r *http.Request, b drops.Burst) error {
	if b.Kind != drops.KindBackstage || s.isAdmin(r) {
		return nil
	}
	_, err := s.vipAccess(r, b, r.URL.Query().Get("pass"))
	return err
}

type recordingView struct {
	recorder.Recording
	URL string `json:"url"`
}

func (s *Server) partURL(burstID int64, part int) string {
	return fmt.Sprintf("%s/replay/%d/parts/%03d.mp4", s.cfg.PublicURL, burstID, part)
}

func (s *Server) listRecordings(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := s.drops.Burst(r.Context(), id); err != nil {
		return err
	}
	recs, err := s.recorder.Recordings(r.Context(), id)
	if err != nil {
		return err
	}
	views := make([]recordingView, len(recs))
	for i, rec := range recs {
		views[i] = recordingView{Recording: rec, URL: s.partURL(id, rec.Part)}
	}
	base := fmt.Sprintf("%s/replay/%d/", s.cfg.PublicURL, id)
	writeJSON(w, http.StatusOK, map[string]any{
		"recordings":   views,
		"playlist_url": base + "index.m3u8",
		"timeline_url": base + "timeline.json",
	})
	return nil
}

type clipView struct {
	recorder.Clip
	URL string `json:"url"`
}

func (s *Server) clipView(c recorder.Clip) clipView {
	return clipView{Clip: c, URL: fmt.Sprintf("%s/clips/%d.mp4", s.cfg.PublicURL, c.ID)}
}

func (s *Server) listClips(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := s.drops.Burst(r.Context(), id); err != nil {
		return err
	}
	clips, err := s.recorder.Clips(r.Context(), id)
	if err != nil {
		return err
	}
	views := make([]clipView, len(clips))
	for i, c := range clips {
		views[i] = s.clipView(c)
	}
	writeJSON(w, http.StatusOK, map[string]any{"clips": views})
	return nil
}

// clipInput is the body of POST /api/bursts/{id}/clips.
type clipInput struct {
	FromS *float64 `json:"from_s"`
	ToS   *float64 `json:"to_s"`
	Label string   `json:"label"`
}

func (s *Server) createClip(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in clipInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.FromS == nil {
		return apperr.InvalidField("from_s", "is required (seconds from the start of the recording)")
	}
	if in.ToS == nil {
		return apperr.InvalidField("to_s", "is required (seconds from the start of the recording)")
	}
	req := recorder.ClipRequest{FromS: *in.FromS, ToS: *in.ToS, Label: strings.TrimSpace(in.Label)}
	if _, err := s.drops.Burst(r.Context(), id); err != nil {
		return err
	}
	c, err := s.recorder.CreateClip(r.Context(), id, req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, s.clipView(c))
	return nil
}

func (s *Server) getClip(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	c, err := s.recorder.Clip(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.clipView(c))
	return nil
}

func (s *Server) replayPlaylist(w http.ResponseWriter, r *http.Request) error {
	b, err := s.replayBurst(r, "burst")
	if err != nil {
		return err
	}
	// A pass that came as ?pass= goes on every part's URI: a native HLS
	// player sends no headers of ours, only the URIs it was given.
	suffix := ""
	if p := r.URL.Query().Get("pass"); p != "" && b.Kind == drops.KindBackstage {
		suffix = "?" + url.Values{"pass": {p}}.Encode()
	}
	pl, err := s.recorder.Playlist(r.Context(), b.ID, func(n int) string { return fmt.Sprintf("parts/%03d.mp4", n) + suffix })
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(pl)
	return nil
}

func (s *Server) replayTimeline(w http.ResponseWriter, r *http.Request) error {
	b, err := s.replayBurst(r, "burst")
	if err != nil {
		return err
	}
	tl, err := s.recorder.Timeline(r.Context(), b.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tl)
	return nil
}

// replayPart serves part NNN.mp4 of a burst's recording with range requests.
func (s *Server) replayPart(w http.ResponseWriter, r *http.Request) error {
	b, err := s.replayBurst(r, "burst")
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(strings.TrimSuffix(r.PathValue("file"), ".mp4"))
	if err != nil || n <= 0 || !strings.HasSuffix(r.PathValue("file"), ".mp4") {
		return apperr.Errorf(apperr.NotFound, "part %q not found", r.PathValue("file"))
	}
	return s.serveFile(w, r, recorder.PartKey(b.ID, n))
}

// clipFile serves /clips/{id}.mp4 with range requests.
func (s *Server) clipFile(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("file")
	id, err := strconv.ParseInt(strings.TrimSuffix(name, ".mp4"), 10, 64)
	if err != nil || id <= 0 || !strings.HasSuffix(name, ".mp4") {
		return apperr.Errorf(apperr.NotFound, "clip %q not found", name)
	}
	c, err := s.recorder.Clip(r.Context(), id)
	if err != nil {
		return err
	}
	b, err := s.drops.Burst(r.Context(), c.BurstID)
	if err != nil {
		return err
	}
	if err := s.backstageReplayAccess(r, b); err != nil {
		return err
	}
	return s.serveFile(w, r, c.Path)
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, key string) error {
	f, err := s.recorder.OpenFile(r.Context(), key)
	if err != nil {
		return err
	}
	defer f.Close()
	w.Header().Set("Content-Type", "video/mp4")
	w.Header().Set("Cache-Control", "public, max-age=60")
	http.ServeContent(w, r, path.Base(key), f.ModTime(), f)
	return nil
}
