// Package server is dropcast's HTTP surface: routing, admin authentication,
// JSON errors, health and metrics endpoints, and the handlers that turn
// requests into calls on the domain packages. It is the only package that
// knows HTTP.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dropcast/dropcast/apperr"
	"github.com/dropcast/dropcast/catalog"
	"github.com/dropcast/dropcast/checkout"
	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/kpi"
	"github.com/dropcast/dropcast/live"
	"github.com/dropcast/dropcast/recorder"
	"github.com/dropcast/dropcast/sfu"
	"github.com/dropcast/dropcast/shopper"
	"github.com/dropcast/dropcast/store"
)

// Config holds the server's plain settings.
type Config struct {
	// PublicURL is the base URL shoppers and hosts reach the server at, used
	// to build watch, host and WHIP links. Required.
	PublicURL string
	// AdminToken guards the admin API. Required.
	AdminToken string
	// RTSPAddr is the RTSP ingest listen address (host:port) shown in publish
	// instructions; empty when RTSP ingest is off.
	RTSPAddr string
}

// Validate reports the first missing or malformed setting.
func (c Config) Validate() error {
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("public url %q must be an absolute http(s) URL", c.PublicURL)
	}
	if len(c.AdminToken) < 16 {
		return errors.New("admin token must be at least 16 characters")
	}
	return nil
}

// Deps are the components the server calls.
type Deps struct {
	Logger   *slog.Logger
	Pool     *pgxpool.Pool
	Drops    *drops.Service
	Catalog  *catalog.Service
	Registry prometheus.Registerer
	Gatherer prometheus.Gatherer
	Shoppers *shopper.Signer
	// Channel is the shopper channel (websocket hubs, card pins); nil turns
	// those routes into 503s.
	Channel *live.Registry
	// Checkout serves carts, orders and the Stripe webhook; nil answers
	// those routes with 503.
	Checkout *checkout.Service
	// Recorder serves recordings, clips and replays; nil leaves those routes out.
	Recorder *recorder.Manager
	// Images stores product image variants; nil turns image upload and
	// serving off.
	Images *catalog.ImageStore
	// Media is the live media core (WHIP/WHEP); nil disables those routes.
	Media *sfu.Registry
	// Audience records channel joins for the KPIs; nil records none.
	Audience *kpi.Tracker
	// KPIs answers the KPI routes; nil leaves them out.
	KPIs *kpi.Reports
}

// Server routes HTTP requests. Build it with New; it holds no goroutines of
// its own.
type Server struct {
	cfg      Config
	log      *slog.Logger
	pool     *pgxpool.Pool
	drops    *drops.Service
	catalog  *catalog.Service
	metrics  *httpMetrics
	gather   prometheus.Gatherer
	mux      *http.ServeMux
	shoppers *shopper.Signer
	channel  *live.Registry
	upgrader *websocket.Upgrader
	checkout *checkout.Service
	recorder *recorder.Manager
	web      *webPages
	images   *catalog.ImageStore
	media    *sfu.Registry
	audience *kpi.Tracker
	kpis     *kpi.Reports
}

// New builds a Server and its routes.
func New(cfg Config, d Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	m, err := newHTTPMetrics(d.Registry)
	if err != nil {
		return nil, fmt.Errorf("register http metrics: %w", err)
	}
	s := &Server{
		cfg:      cfg,
		log:      d.Logger.With("component", "http"),
		pool:     d.Pool,
		drops:    d.Drops,
		catalog:  d.Catalog,
		metrics:  m,
		gather:   d.Gatherer,
		mux:      http.NewServeMux(),
		shoppers: d.Shoppers,
		channel:  d.Channel,
		checkout: d.Checkout,
		recorder: d.Recorder,
		images:   d.Images,
		media:    d.Media,
		audience: d.Audience,
		kpis:     d.KPIs,
	}
	assets, err := newWebAssets()
	if err != nil {
		return nil, err
	}
	if s.web, err = newWebPages(assets); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

// Handler returns the root handler, with panic recovery.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("handler panic", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				writeError(w, r, s.log, fmt.Errorf("panic: %v", v))
			}
		}()
		s.mux.ServeHTTP(w, r)
	})
}

// apiFunc is a handler that returns its error for writeError to report.
type apiFunc func(w http.ResponseWriter, r *http.Request) error

// handle registers an http.Handler under pattern, instrumented by route.
func (s *Server) handle(pattern string, h http.Handler) {
	s.mux.Handle(pattern, s.metrics.instrument(pattern, h))
}

// handleAPI registers an apiFunc under pattern.
func (s *Server) handleAPI(pattern string, fn apiFunc) {
	s.handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			writeError(w, r, s.log, err)
		}
	}))
}

// pathID parses the path value name as a positive id; anything else is an
// unknown id (404), as no such resource can exist.
func pathID(r *http.Request, name string) (int64, error) {
	v := r.PathValue(name)
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, apperr.Errorf(apperr.NotFound, "%s %q not found", strings.TrimSuffix(name, "ID"), v)
	}
	return id, nil
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := s.pool.Ping(ctx); err != nil {
		s.log.Warn("not ready", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "database unreachable"})
		return
	}
	if err := store.CheckCurrent(ctx, s.pool); err != nil {
		s.log.Warn("not ready", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "database schema is not current"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.gather, promhttp.HandlerOpts{})
}
