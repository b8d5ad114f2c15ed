package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/dropcast/dropcast/apperr"
	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/sfu"
)

// routesMedia registers WHIP (RFC 9725) ingest and WHEP playback. Session
// resources live under /whip/session/{id} and /whep/session/{id}; their
// 128-bit random ids are the capability to DELETE them.
func (s *Server) routesMedia() {
	if s.media == nil {
		return
	}
	s.handle("OPTIONS /whip", http.HandlerFunc(s.mediaOptions))
	s.handle("POST /whip", http.HandlerFunc(s.whipPost))
	s.handle("OPTIONS /whep/{burst}", http.HandlerFunc(s.mediaOptions))
	s.handle("POST /whep/{burst}", http.HandlerFunc(s.whepPost))
	for _, p := range []string{"/whip/session/{id}", "/whep/session/{id}"} {
		s.handle("OPTIONS "+p, http.HandlerFunc(s.mediaOptions))
		s.handle("DELETE "+p, http.HandlerFunc(s.sessionDelete))
		s.handle("PATCH "+p, http.HandlerFunc(s.sessionPatch))
	}
}

// offerTimeout bounds answering one offer (ICE gathering included); OBS
// gives up after 8 s.
const offerTimeout = 7 * time.Second

// mediaCORS sets the CORS headers of every WHIP/WHEP response. Listing
// Authorization explicitly matters: "*" does not cover it.
func mediaCORS(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "POST, DELETE, PATCH, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
	h.Set("Access-Control-Expose-Headers", "Location, ETag, Link")
	h.Set("Access-Control-Max-Age", "86400")
}

func (s *Server) mediaOptions(w http.ResponseWriter, _ *http.Request) {
	mediaCORS(w)
	w.Header().Set("Accept-Post", "application/sdp")
	for _, l := range iceLinks(s.media.ICEServers()) {
		w.Header().Add("Link", l)
	}
	w.WriteHeader(http.StatusNoContent)
}

// mediaStatus maps media errors to WHIP/WHEP statuses: the one table for
// this surface.
func mediaStatus(err error) int {
	switch {
	case errors.Is(err, drops.ErrBadStreamKey), errors.Is(err, errNoBearer), errors.Is(err, &apperr.Error{Code: apperr.Unauthorized}):
		return http.StatusUnauthorized
	case errors.Is(err, sfu.ErrOutsideWindow), errors.Is(err, sfu.ErrBurstEnded), errors.Is(err, &apperr.Error{Code: apperr.Forbidden}):
		return http.StatusForbidden
	case errors.Is(err, sfu.ErrPublisherActive), errors.Is(err, sfu.ErrNotLive):
		return http.StatusConflict
	case errors.Is(err, sfu.ErrBadOffer), errors.Is(err, sfu.ErrNoCodec), errors.Is(err, errContentType), errors.Is(err, sfu.ErrBadFragment):
		return http.StatusBadRequest
	case errors.Is(err, errFragmentType):
		return http.StatusUnsupportedMediaType
	case errors.Is(err, sfu.ErrPreconditionRequired):
		return http.StatusPreconditionRequired
	case errors.Is(err, sfu.ErrPreconditionFailed):
		return http.StatusPreconditionFailed
	case errors.Is(err, errTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, sfu.ErrSessionNotFound), errors.Is(err, &apperr.Error{Code: apperr.NotFound}):
		return http.StatusNotFound
	case errors.Is(err, sfu.ErrClosed):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

var (
	errNoBearer     = errors.New("missing Authorization: Bearer STREAM_KEY")
	errContentType  = errors.New("Content-Type must be application/sdp")
	errFragmentType = errors.New("Content-Type must be application/trickle-ice-sdpfrag")
	errTooLarge     = fmt.Errorf("SDP offer is larger than %d bytes", sfu.MaxOfferSize)
)

// mediaError answers with the status for err and its reason as plain text.
func (s *Server) mediaError(w http.ResponseWriter, r *http.Request, err error) {
	status := mediaStatus(err)
	msg := err.Error()
	if status >= 500 {
		s.log.Error("media request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "internal error"
	} else {
		s.log.Debug("media request refused", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="dropcast whip"`)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg+"\n")
}

// readOffer checks the Content-Type and size of an offer body and returns
// it. It parses nothing else: sfu.ParseOffer checks the SDP.
func readOffer(w http.ResponseWriter, r *http.Request) (string, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/sdp" {
		return "", errContentType
	}
	if r.ContentLength > sfu.MaxOfferSize {
		return "", errTooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, sfu.MaxOfferSize))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return "", errTooLarge
	}
	if err != nil {
		return "", fmt.Errorf("%w: read body: %v", sfu.ErrBadOffer, err)
	}
	return string(body), nil
}

// offerFrom reads and checks the offer of a WHIP (publish) or WHEP
// request, before anything changes.
func offerFrom(w http.ResponseWriter, r *http.Request, publish bool) (string, error) {
	offer, err := readOffer(w, r)
	if err != nil {
		return "", err
	}
	if _, err := sfu.ParseOffer(offer, publish); err != nil {
		return "", err
	}
	return offer, nil
}

// answer writes a 201 with the SDP answer, the session's Location and ETag,
// and the ICE servers as Link headers.
func (s *Server) answer(w http.ResponseWriter, prefix string, sess sfu.Session) {
	mediaCORS(w)
	h := w.Header()
	h.Set("Content-Type", "application/sdp")
	h.Set("Location", prefix+sess.ID)
	h.Set("ETag", sess.ETag)
	for _, l := range iceLinks(s.media.ICEServers()) {
		h.Add("Link", l)
	}
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, sess.Answer)
}

func (s *Server) whipPost(w http.ResponseWriter, r *http.Request) {
	mediaCORS(w)
	key, ok := bearer(r)
	if !ok {
		s.mediaError(w, r, errNoBearer)
		return
	}
	offer, err := offerFrom(w, r, true)
	if err != nil {
		s.mediaError(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), offerTimeout)
	defer cancel()
	b, err := s.media.Authorize(ctx, key)
	if err != nil {
		s.mediaError(w, r, err)
		return
	}
	sess, err := s.media.PublishWHIP(ctx, b, offer)
	if err != nil {
		s.mediaError(w, r, err)
		return
	}
	s.answer(w, "/whip/session/", sess)
}

func (s *Server) whepPost(w http.ResponseWriter, r *http.Request) {
	mediaCORS(w)
	id, err := pathID(r, "burst")
	if err != nil {
		s.mediaError(w, r, err)
		return
	}
	offer, err := offerFrom(w, r, false)
	if err != nil {
		s.mediaError(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), offerTimeout)
	defer cancel()
	b, err := s.drops.Burst(ctx, id)
	if err != nil {
		s.mediaError(w, r, err)
		return
	}
	switch {
	case b.State == drops.StateEnded:
		s.mediaError(w, r, fmt.Errorf("%w: burst %d ended", sfu.ErrBurstEnded, b.ID))
		return
	case b.Kind == drops.KindBackstage:
		// Backstage is for VIP pass holders: Authorization: Bearer PASS.
		if _, err := s.vipAccess(r, b, ""); err != nil {
			s.mediaError(w, r, err)
			return
		}
	}
	sess, err := s.media.Subscribe(ctx, b.ID, offer)
	if err != nil {
		s.mediaError(w, r, err)
		return
	}
	s.answer(w, "/whep/session/", sess)
}

func (s *Server) sessionDelete(w http.ResponseWriter, r *http.Request) {
	mediaCORS(w)
	if err := s.media.CloseSession(r.PathValue("id")); err != nil {
		s.mediaError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// sessionPatch answers a PATCH of a WHIP/WHEP session (RFC 9725 §4.3): an
// application/trickle-ice-sdpfrag with the client's candidates (trickle,
// 204) or new ICE credentials (ICE restart, If-Match "*", 200 with the
// server's new fragment and ETag). The answer to the first offer already
// carries every server candidate, so clients need neither; a client whose
// network changed can restart ICE without losing its session.
func (s *Server) sessionPatch(w http.ResponseWriter, r *http.Request) {
	mediaCORS(w)
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/trickle-ice-sdpfrag" {
		s.mediaError(w, r, errFragmentType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, sfu.MaxFragmentSize))
	if err != nil {
		s.mediaError(w, r, fmt.Errorf("%w: %v", sfu.ErrBadFragment, err))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), offerTimeout)
	defer cancel()
	res, err := s.media.PatchSession(ctx, r.PathValue("id"), r.Header.Get("If-Match"), string(body))
	if err != nil {
		s.mediaError(w, r, err)
		return
	}
	if !res.Restarted {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "application/trickle-ice-sdpfrag")
	w.Header().Set("ETag", res.ETag)
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, res.Fragment)
}
