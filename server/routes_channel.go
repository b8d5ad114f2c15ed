package server

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/dropcast/dropcast/apperr"
	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/kpi"
	"github.com/dropcast/dropcast/live"
)

// routesChannel registers the shopper channel: the websocket, the host's
// live card pins and the card timeline.
func (s *Server) routesChannel() {
	s.upgrader = &websocket.Upgrader{
		// Commands are small JSON frames: 256 bytes of read buffer hold a
		// typical one, and a larger frame is read past the buffer straight
		// into the frame's bytes. Every idle connection keeps this buffer.
		ReadBufferSize:  256,
		WriteBufferSize: 4096,
		// One pool for every connection's write buffer: an idle connection
		// then holds none (gorilla keeps it only during a write).
		// EnableCompression stays off: the channel writes broadcast frames
		// to the sockets itself, uncompressed.
		WriteBufferPool: &sync.Pool{},
		CheckOrigin: func(r *http.Request) bool {
			return s.channel != nil && s.channel.OriginAllowed(r.Header.Get("Origin"), r.Host)
		},
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			writeJSON(w, status, errorBody{Error: errorDetail{Code: wsRefusalCode(status), Message: reason.Error()}})
		},
	}
	s.handle("GET /ws/{burst}", http.HandlerFunc(s.serveChannel))
	s.handleAPI("POST /api/bursts/{id}/cards/{card}/show", s.burstHost(s.showCard))
	s.handleAPI("POST /api/bursts/{id}/cards/{card}/hide", s.burstHost(s.hideCard))
	s.handleAPI("GET /api/bursts/{id}/timeline", s.admin(s.cardTimeline))
}

func wsRefusalCode(status int) string {
	if status == http.StatusForbidden {
		return apperr.Forbidden
	}
	return apperr.Invalid
}

var errChannelOff = apperr.Errorf(apperr.Unavailable, "the shopper channel is not running")

// serveChannel answers GET /ws/{burst}: it resolves the shopper (cookie,
// ?shopper= token or a fresh identity, whose Set-Cookie rides on the 101
// response), authenticates a host (?role=host with the admin token or the
// burst's stream key, as "Authorization: Bearer" or ?host_token=), checks the
// origin, upgrades and hands the connection to the channel.
func (s *Server) serveChannel(w http.ResponseWriter, r *http.Request) {
	if err := s.channelRefusal(w, r); err != nil {
		writeError(w, r, s.log, err)
	}
}

func (s *Server) channelRefusal(w http.ResponseWriter, r *http.Request) error {
	if s.channel == nil {
		return errChannelOff
	}
	burstID, err := pathID(r, "burst")
	if err != nil {
		return err
	}
	b, err := s.drops.Burst(r.Context(), burstID)
	if err != nil {
		return err
	}
	host := false
	switch role := r.URL.Query().Get("role"); role {
	case "", "shopper":
	case "host":
		if !s.isBurstHost(r.Context(), r, burstID, r.URL.Query().Get("host_token")) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="dropcast host"`)
			return apperr.Errorf(apperr.Unauthorized, "role=host needs the burst's stream key or the admin token (Authorization: Bearer or ?host_token=)")
		}
		host = true
	default:
		return apperr.InvalidField("role", "must be shopper or host")
	}
	if !host && b.Kind == drops.KindBackstage {
		// Backstage is for VIP pass holders: the pass rides as ?pass= (a
		// browser websocket cannot send headers) or as a bearer token.
		if _, err := s.vipAccess(r, b, r.URL.Query().Get("pass")); err != nil {
			return err
		}
	}
	if !websocket.IsWebSocketUpgrade(r) {
		return apperr.Errorf(apperr.Invalid, "this endpoint speaks websocket only (Upgrade: websocket)")
	}
	if !s.channel.OriginAllowed(r.Header.Get("Origin"), r.Host) {
		return apperr.Errorf(apperr.Forbidden, "origin %q is not allowed", r.Header.Get("Origin"))
	}
	id, _, _, err := s.shopperFrom(w, r)
	if err != nil {
		return err
	}
	hdr := http.Header{}
	for _, c := range w.Header().Values("Set-Cookie") {
		hdr.Add("Set-Cookie", c)
	}
	ws, err := s.upgrader.Upgrade(w, r, hdr)
	if err != nil {
		return nil // the upgrader has answered
	}
	client := live.Client{BurstID: burstID, Shopper: string(id), Host: host}
	// The channel owns the connection now; returning lets net/http free
	// the request's buffers.
	if err := s.channel.Attach(ws, client); err != nil {
		return nil // ErrClosed: shutting down, the socket got 1001
	}
	if !host && s.audience != nil {
		mode := kpi.ModeLive
		if b.State == drops.StateEnded {
			mode = kpi.ModeReplay
		}
		s.audience.Seen(burstID, string(id), mode, time.Now())
	}
	return nil
}

// isBurstHost reports whether r carries the admin token or burstID's stream
// key, as a bearer token or as token (a query parameter for browsers, whose
// websocket API cannot set headers).
func (s *Server) isBurstHost(ctx context.Context, r *http.Request, burstID int64, token string) bool {
	if t, ok := bearer(r); ok {
		token = t
	}
	if token == "" {
		return false
	}
	if tokenEqual(token, s.cfg.AdminToken) {
		return true
	}
	b, err := s.drops.BurstByStreamKey(ctx, token)
	return err == nil && b.ID == burstID
}

// burstHost lets through requests with the admin token or the stream key of
// the burst in the path's {id}.
func (s *Server) burstHost(h apiFunc) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		if !s.isBurstHost(r.Context(), r, id, "") {
			w.Header().Set("WWW-Authenticate", `Bearer realm="dropcast host"`)
			return apperr.Errorf(apperr.Unauthorized, "missing or wrong token: the admin token or the burst's stream key (Authorization: Bearer)")
		}
		return h(w, r)
	}
}

func (s *Server) showCard(w http.ResponseWriter, r *http.Request) error {
	return s.pinCard(w, r, true)
}

func (s *Server) hideCard(w http.ResponseWriter, r *http.Request) error {
	return s.pinCard(w, r, false)
}

// pinCard answers the host's show/hide with the timeline event it recorded.
func (s *Server) pinCard(w http.ResponseWriter, r *http.Request, show bool) error {
	if s.channel == nil {
		return errChannelOff
	}
	burstID, err := pathID(r, "id")
	if err != nil {
		return err
	}
	cardID, err := pathID(r, "card")
	if err != nil {
		return err
	}
	var ev live.TimelineEvent
	if show {
		ev, err = s.channel.Show(r.Context(), burstID, cardID)
	} else {
		ev, err = s.channel.Hide(r.Context(), burstID, cardID)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ev)
	return nil
}

// cardTimeline answers GET /api/bursts/{id}/timeline: every card show and
// hide of the burst, oldest first.
func (s *Server) cardTimeline(w http.ResponseWriter, r *http.Request) error {
	if s.channel == nil {
		return errChannelOff
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := s.drops.Burst(r.Context(), id); err != nil {
		return err
	}
	evs, err := s.channel.Timeline(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": evs})
	return nil
}
