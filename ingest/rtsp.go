// Package ingest brings media from sources other than WebRTC into the media
// core: an RTSP server (ANNOUNCE/RECORD, as ffmpeg -f rtsp and IP cameras
// push) that feeds each burst's sfu.Stream through the same Publisher path as
// WHIP. It knows nothing of HTTP; stream keys are checked by sfu.Registry.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"

	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/sfu"
)

// Config holds the RTSP server's settings.
type Config struct {
	// Addr is the RTSP (TCP) listen address. It defaults to ":8554".
	Addr string
	// UDPRTPAddr and UDPRTCPAddr are the UDP ports for RTP/RTCP over UDP
	// (consecutive, RTP even; see UDPPair). They default to ":8000" and
	// ":8001"; both "off" allows TCP transport only.
	UDPRTPAddr  string
	UDPRTCPAddr string
}

// UDPPair returns the RTP and RTCP addresses of an RTSP UDP setting: rtp
// itself (its port must be even) and the next port on the same host, or
// "off" twice. An empty rtp means the default ":8000".
func UDPPair(rtp string) (rtpAddr, rtcpAddr string, err error) {
	switch rtp {
	case "off":
		return "off", "off", nil
	case "":
		rtp = ":8000"
	}
	host, port, err := net.SplitHostPort(rtp)
	if err != nil {
		return "", "", fmt.Errorf("rtsp udp address %q: %w", rtp, err)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n <= 0 || n >= 65535 || n%2 != 0 {
		return "", "", fmt.Errorf("rtsp udp address %q: the RTP port must be even and below 65535 (RTCP uses the next one)", rtp)
	}
	return rtp, net.JoinHostPort(host, strconv.Itoa(n+1)), nil
}

// Validate reports a malformed UDP setting: both "off" or an even RTP port
// with RTCP on the next port of the same host, as RTSP clients assume.
func (c Config) Validate() error {
	c = c.withDefaults()
	if (c.UDPRTPAddr == "off") != (c.UDPRTCPAddr == "off") {
		return errors.New(`rtsp udp: RTP and RTCP must both be "off" or both be set`)
	}
	rtp, rtcp, err := UDPPair(c.UDPRTPAddr)
	if err != nil {
		return err
	}
	if rtcp != c.UDPRTCPAddr {
		return fmt.Errorf("rtsp udp: RTCP address %q must be %q, the port after RTP", c.UDPRTCPAddr, rtcp)
	}
	_ = rtp
	return nil
}

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = ":8554"
	}
	if c.UDPRTPAddr == "" {
		c.UDPRTPAddr = ":8000"
	}
	if c.UDPRTCPAddr == "" {
		c.UDPRTCPAddr = ":8001"
	}
	return c
}

// media is what the RTSP server needs from the media core.
type media interface {
	Authorize(ctx context.Context, key string) (drops.Burst, error)
	Publish(ctx context.Context, b drops.Burst, opts sfu.PublishOptions) (*sfu.Publisher, error)
}

var _ media = (*sfu.Registry)(nil)

// RTSP is the RTSP ingest server. Build it with NewRTSP, stop it with Close.
//
// Concurrency: gortsplib calls the handler from its connection and session
// goroutines; a mutex guards the session map. Each session's packets arrive
// on one gortsplib goroutine per session and are handed to its Publisher.
type RTSP struct {
	cfg    Config
	log    *slog.Logger
	media  media
	server *gortsplib.Server
	now    func() time.Time

	mu       sync.Mutex
	sessions map[*gortsplib.ServerSession]*session
}

// NewRTSP starts an RTSP server publishing into m.
func NewRTSP(cfg Config, logger *slog.Logger, m media) (*RTSP, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &RTSP{cfg: cfg, log: logger.With("component", "rtsp"), media: m, now: time.Now, sessions: map[*gortsplib.ServerSession]*session{}}
	s.server = &gortsplib.Server{
		Handler:     s,
		RTSPAddress: cfg.Addr,
		ReadTimeout: 10 * time.Second,
	}
	if cfg.UDPRTPAddr != "off" && cfg.UDPRTCPAddr != "off" {
		s.server.UDPRTPAddress = cfg.UDPRTPAddr
		s.server.UDPRTCPAddress = cfg.UDPRTCPAddr
	}
	if err := s.server.Start(); err != nil {
		return nil, fmt.Errorf("start rtsp server on %s: %w", cfg.Addr, err)
	}
	s.log.Info("rtsp ingest listening", "addr", cfg.Addr, "udp_rtp", s.server.UDPRTPAddress)
	return s, nil
}

// Close stops the server and every session; it returns when they are gone.
func (s *RTSP) Close() {
	s.server.Close()
	_ = s.server.Wait() // returns the "terminated" error by design
}

// keyFromPath returns the stream key of an RTSP path "/STREAM_KEY" (a
// trailing slash or query is ignored). It returns drops.ErrBadStreamKey for
// anything else.
func keyFromPath(path string) (string, error) {
	p := strings.TrimPrefix(path, "/")
	p, _, _ = strings.Cut(p, "?")
	p = strings.TrimSuffix(p, "/")
	if p == "" || strings.ContainsAny(p, "/ \t\r\n") || len(p) > 256 {
		return "", drops.ErrBadStreamKey
	}
	return p, nil
}

// status maps media errors to RTSP statuses.
func status(err error) base.StatusCode {
	switch {
	case errors.Is(err, drops.ErrBadStreamKey):
		return base.StatusUnauthorized
	case errors.Is(err, sfu.ErrOutsideWindow), errors.Is(err, sfu.ErrBurstEnded):
		return base.StatusForbidden
	case errors.Is(err, sfu.ErrPublisherActive):
		return 409 // RTSP 2.0 borrows HTTP's Conflict; ffmpeg prints it as is
	case errors.Is(err, errNoTracks):
		return base.StatusUnsupportedMediaType
	case errors.Is(err, sfu.ErrClosed):
		return base.StatusServiceUnavailable
	}
	return base.StatusInternalServerError
}

// refuse logs a refused request and builds its response.
func (s *RTSP) refuse(err error, remote net.Addr) (*base.Response, error) {
	code := status(err)
	if code >= 500 {
		s.log.Error("rtsp publish failed", "remote_addr", remote.String(), "err", err)
	} else {
		s.log.Info("rtsp publish refused", "remote_addr", remote.String(), "status", int(code), "err", err)
	}
	return &base.Response{StatusCode: code}, err
}

// OnAnnounce checks the stream key and the tracks and attaches a Publisher.
func (s *RTSP) OnAnnounce(ctx *gortsplib.ServerHandlerOnAnnounceCtx) (*base.Response, error) {
	remote := ctx.Conn.NetConn().RemoteAddr()
	key, err := keyFromPath(ctx.Path)
	if err != nil {
		return s.refuse(err, remote)
	}
	tracks, err := s.pickTracks(ctx.Description)
	if err != nil {
		return s.refuse(err, remote)
	}
	rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := s.media.Authorize(rctx, key)
	if err != nil {
		return s.refuse(err, remote)
	}
	sess := &session{log: s.log.With("burst_id", b.ID, "remote_addr", remote.String()), tracks: tracks}
	rs := ctx.Session
	pub, err := s.media.Publish(rctx, b, sfu.PublishOptions{Kind: "rtsp", Tracks: len(tracks), Close: rs.Close})
	if err != nil {
		return s.refuse(err, remote)
	}
	sess.pub = pub
	if err := sess.declare(); err != nil {
		pub.Close()
		return s.refuse(err, remote)
	}
	s.mu.Lock()
	s.sessions[rs] = sess
	s.mu.Unlock()
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// OnSetup accepts the announced tracks (TCP or UDP).
func (s *RTSP) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if ctx.Session.State() == gortsplib.ServerSessionStateInitial {
		return &base.Response{StatusCode: base.StatusNotImplemented}, nil, errors.New("this server only accepts ANNOUNCE/RECORD (publishing), not playback")
	}
	return &base.Response{StatusCode: base.StatusOK}, nil, nil
}

// OnRecord starts the packet callbacks.
func (s *RTSP) OnRecord(ctx *gortsplib.ServerHandlerOnRecordCtx) (*base.Response, error) {
	s.mu.Lock()
	sess := s.sessions[ctx.Session]
	s.mu.Unlock()
	if sess == nil {
		return &base.Response{StatusCode: base.StatusBadRequest}, errors.New("RECORD without ANNOUNCE")
	}
	sess.record(ctx.Session)
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// OnSessionClose ends the session's publish (the stream's grace starts).
func (s *RTSP) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	s.mu.Lock()
	sess := s.sessions[ctx.Session]
	delete(s.sessions, ctx.Session)
	s.mu.Unlock()
	if sess != nil {
		sess.log.Info("rtsp publisher left", "err", ctx.Error)
		sess.pub.Close()
	}
}
