// Package app wires dropcast's components together: it opens the database,
// applies migrations, builds the domain services and the HTTP server, runs
// them and shuts them down in order. cmd/dropcast fills its Config from flags
// and the environment; end-to-end tests build the same App on 127.0.0.1:0.
package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/dropcast/dropcast/catalog"
	"github.com/dropcast/dropcast/checkout"
	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/events"
	"github.com/dropcast/dropcast/ingest"
	"github.com/dropcast/dropcast/kpi"
	"github.com/dropcast/dropcast/live"
	"github.com/dropcast/dropcast/netlimit"
	"github.com/dropcast/dropcast/recorder"
	"github.com/dropcast/dropcast/server"
	"github.com/dropcast/dropcast/sfu"
	"github.com/dropcast/dropcast/shopper"
	"github.com/dropcast/dropcast/store"
)

// checkout: the channel routes cart commands to checkout through live.Commerce.
var _ live.Commerce = (*checkout.Service)(nil)

// Config is everything the server needs, as plain values.
type Config struct {
	// DatabaseURL is a PostgreSQL connection URL. Required.
	DatabaseURL string
	// HTTPAddr is the HTTP listen address. It defaults to ":8080".
	HTTPAddr string
	// MaxConnsPerIP caps the HTTP connections (websockets included) one
	// client IP may hold open; loopback peers are exempt. 0: no cap.
	MaxConnsPerIP int
	// PublicURL is the base URL clients use. It defaults to
	// http://localhost:PORT from HTTPAddr.
	PublicURL string
	// AdminToken guards the admin API (at least 16 characters). Required.
	AdminToken string
	// DataDir holds recordings, clips and other files. It defaults to "./data".
	DataDir string
	// ShutdownTimeout bounds each shutdown step. It defaults to 10 s.
	ShutdownTimeout time.Duration
	// ShopperSecret signs anonymous shopper tokens (at least 32 bytes). When
	// empty a random one is made at start, and shoppers get new identities
	// after a restart.
	ShopperSecret string
	// Channel holds the shopper channel's settings (allowed websocket
	// origins, frame and queue limits, command rate); zero values are the
	// defaults documented on live.Config. PublicURL is filled in by New.
	Channel live.Config
	// Checkout holds the cart, hold and Stripe settings (see checkout.Config
	// for each default). Its PublicURL is filled from PublicURL above.
	Checkout checkout.Config
	// RecordFragment is how much media a recording fragment holds at least
	// (closed on the next keyframe): the most a crash can lose. It defaults
	// to 1 s.
	RecordFragment time.Duration
	// Media configures the WebRTC media core (UDP port, public IPs,
	// STUN/TURN, grace period); see sfu.Config for defaults.
	Media sfu.Config
	// RTSPAddr is the RTSP ingest listen address; it defaults to ":8554".
	// "off" disables RTSP ingest.
	RTSPAddr string
	// RTSPUDPAddr is the RTSP ingest's UDP address for RTP (an even port;
	// RTCP uses the next one); it defaults to ":8000". "off" allows RTSP
	// over TCP only.
	RTSPUDPAddr string
}

func (c *Config) setDefaults() {
	if c.HTTPAddr == "" {
		c.HTTPAddr = ":8080"
	}
	if c.DataDir == "" {
		c.DataDir = "./data"
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 10 * time.Second
	}
	// An App on an ephemeral HTTP port is a test: give it an ephemeral
	// loopback media port too, so parallel tests never collide on :8189.
	if c.Media.UDPAddr == "" && strings.HasSuffix(c.HTTPAddr, ":0") {
		c.Media.UDPAddr = "127.0.0.1:0"
	}
	switch {
	case c.RTSPAddr == "" && strings.HasSuffix(c.HTTPAddr, ":0"):
		c.RTSPAddr = "off" // tests that want RTSP set an address
	case c.RTSPAddr == "":
		c.RTSPAddr = ":8554"
	}
}

// Validate reports the first missing setting.
func (c Config) Validate() error {
	if c.DatabaseURL == "" {
		return errors.New("database url is required (DATABASE_URL)")
	}
	if c.AdminToken == "" {
		return errors.New("admin token is required (ADMIN_TOKEN)")
	}
	if c.RTSPAddr != "off" {
		if _, _, err := ingest.UDPPair(c.RTSPUDPAddr); err != nil {
			return fmt.Errorf("%w (RTSP_UDP_ADDR)", err)
		}
	}
	return nil
}

// App is a running dropcast: listener, pool and components. Build it with
// New, then call Run once.
type App struct {
	cfg      Config
	log      *slog.Logger
	pool     *pgxpool.Pool
	listener net.Listener
	// connLimit is listener, counting connections per client IP.
	connLimit *netlimit.Listener
	http      *http.Server
	bus       *events.Bus

	// Drops and Catalog are exposed for tests and subcommands.
	Drops   *drops.Service
	Catalog *catalog.Service

	closeOnce sync.Once

	// channel is the shopper channel's hub registry; Run runs it.
	channel *live.Registry
	// Checkout is exposed for tests and subcommands.
	Checkout *checkout.Service
	// Recorder records every live burst; the media registry attaches
	// Recorder.SinkFor(burstID) to each stream.
	Recorder *recorder.Manager
	// Media is the live media core, exposed for tests and other components
	// (the recorder attaches with Media.OnStream).
	Media *sfu.Registry
	rtsp  *ingest.RTSP
	// audience batches channel joins and peak viewers for the KPIs; Run
	// runs it. KPIs computes the reports, exposed for tests.
	audience *kpi.Tracker
	KPIs     *kpi.Reports
}

// New opens the database, migrates it, builds every component and binds the
// HTTP listener (so Addr is known before Run). On error nothing is left open.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (_ *App, err error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: logger, bus: events.NewBus()}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if err := a.openStore(ctx); err != nil {
		return nil, err
	}
	if err := a.listen(); err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	shoppers, err := newShopperSigner(cfg.ShopperSecret, logger)
	if err != nil {
		return nil, err
	}
	a.Drops = drops.NewService(a.pool, nil)
	a.Catalog = catalog.NewService(a.pool)
	if err := a.buildCommerce(reg); err != nil {
		return nil, err
	}
	if err := a.startRecorder(ctx, reg); err != nil {
		return nil, err
	}
	if err := a.startMedia(ctx, reg); err != nil {
		return nil, err
	}
	// web: product image variants live under DATA_DIR/images.
	images, err := catalog.NewImageStore(filepath.Join(cfg.DataDir, "images"))
	if err != nil {
		return nil, err
	}
	if err := a.buildHTTP(reg, shoppers, images); err != nil {
		return nil, err
	}
	return a, nil
}

// openStore connects the pool and applies migrations.
func (a *App) openStore(ctx context.Context) error {
	var err error
	a.pool, err = store.Open(ctx, a.cfg.DatabaseURL, a.log)
	if err != nil {
		return err
	}
	version, err := store.Migrate(ctx, a.pool, a.log.With("component", "store"))
	if err != nil {
		return err
	}
	a.log.Info("database ready", "schema_version", version)
	return nil
}

// listen binds the HTTP listener and derives the public URL from its port
// when none is configured.
func (a *App) listen() error {
	var err error
	l, err := net.Listen("tcp", a.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen http %s: %w", a.cfg.HTTPAddr, err)
	}
	a.connLimit = netlimit.Wrap(l, netlimit.Options{Max: a.cfg.MaxConnsPerIP, Exempt: netlimit.Loopback,
		OnRefuse: func(addr netip.Addr) {
			a.log.Debug("connection refused: too many open from one address", "addr", addr, "max", a.cfg.MaxConnsPerIP)
		}})
	a.listener = a.connLimit
	if a.cfg.PublicURL == "" {
		_, port, _ := net.SplitHostPort(a.listener.Addr().String())
		a.cfg.PublicURL = "http://localhost:" + port
	}
	return nil
}

// newShopperSigner signs shopper tokens with secret, or with a random key
// (identities then last until restart) when it is empty.
func newShopperSigner(secret string, logger *slog.Logger) (*shopper.Signer, error) {
	key := []byte(secret)
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("generate shopper secret: %w", err)
		}
		logger.Warn("SHOPPER_SECRET unset: shopper identities last until restart")
	}
	return shopper.NewSigner(key)
}

// buildCommerce builds checkout and the shopper channel that routes cart
// commands to it.
func (a *App) buildCommerce(reg prometheus.Registerer) error {
	// checkout: carts, holds, orders, Stripe. It serves the shopper channel
	// as its live.Commerce and learns shown cards from the bus.
	ckCfg := a.cfg.Checkout
	ckCfg.PublicURL = a.cfg.PublicURL
	var err error
	a.Checkout, err = checkout.New(ckCfg, a.pool, a.bus, a.Drops, a.log, nil)
	if err != nil {
		return err
	}
	if !a.Checkout.PaymentsEnabled() {
		a.log.Warn("STRIPE_SECRET_KEY unset: carts work, checkout answers unavailable")
	}

	// channel: the shopper channel's hub registry gets the bus, the drops and
	// catalog services, the pool (card timeline) and checkout for cart commands.
	chCfg := a.cfg.Channel
	chCfg.PublicURL = a.cfg.PublicURL
	a.channel, err = live.NewRegistry(chCfg, live.Deps{
		Logger:   a.log,
		Bus:      a.bus,
		Drops:    a.Drops,
		Catalog:  a.Catalog,
		DB:       a.pool,
		Commerce: a.Checkout,
	})
	if err != nil {
		return fmt.Errorf("shopper channel: %w", err)
	}
	a.audience = kpi.NewTracker(a.pool, a.bus, a.log, 0)
	a.KPIs = kpi.NewReports(a.pool, a.Drops)
	for _, c := range a.channel.Collectors() {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register channel metrics: %w", err)
		}
	}
	return nil
}

// startRecorder builds the one Manager for every burst's recording, clips
// and replay. Start repairs recordings a crash left unfinished before
// anything else records, then follows card and burst events on the bus;
// Close finalizes the open recordings.
func (a *App) startRecorder(ctx context.Context, reg prometheus.Registerer) error {
	var err error
	a.Recorder, err = recorder.NewManager(recorder.Config{FragmentDuration: a.cfg.RecordFragment}, recorder.Deps{
		Storage:  recorder.Dir{Root: a.cfg.DataDir},
		DB:       recorder.NewDB(a.pool),
		Bus:      a.bus,
		Cards:    a.Drops,
		Logger:   a.log,
		Registry: reg,
	})
	if err != nil {
		return err
	}
	if err := a.Recorder.Start(ctx); err != nil {
		return fmt.Errorf("start recorder: %w", err)
	}
	return nil
}

// startMedia builds the WebRTC media core (one engine and UDP port for every
// burst; lifecycle changes go out on the bus), attaches the recorder to
// every stream it creates, re-arms the timers of bursts live before a
// restart, and starts RTSP ingest unless it is "off".
func (a *App) startMedia(ctx context.Context, reg prometheus.Registerer) error {
	mediaMetrics, err := sfu.NewMetrics(reg)
	if err != nil {
		return err
	}
	a.Media, err = sfu.New(a.cfg.Media, sfu.Deps{Logger: a.log, Bursts: a.Drops, Bus: a.bus, Metrics: mediaMetrics})
	if err != nil {
		return err
	}
	a.Media.OnStream(func(burstID int64, st *sfu.Stream) { st.AddSink(a.Recorder.SinkFor(burstID)) })
	if err := a.Media.Resume(ctx); err != nil {
		return err
	}
	if a.cfg.RTSPAddr == "off" {
		return nil
	}
	rtp, rtcp, err := ingest.UDPPair(a.cfg.RTSPUDPAddr)
	if err != nil {
		return err
	}
	a.rtsp, err = ingest.NewRTSP(ingest.Config{Addr: a.cfg.RTSPAddr, UDPRTPAddr: rtp, UDPRTCPAddr: rtcp}, a.log, a.Media)
	return err
}

// buildHTTP builds the HTTP surface over every component.
func (a *App) buildHTTP(reg *prometheus.Registry, shoppers *shopper.Signer, images *catalog.ImageStore) error {
	if err := reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "dropcast_http_connections_refused_total",
		Help: "TCP connections closed at accept because their client IP already held MAX_CONNS_PER_IP open.",
	}, func() float64 { return float64(a.connLimit.Refused()) })); err != nil {
		return fmt.Errorf("register connection-cap metric: %w", err)
	}
	rtspAddr := ""
	if a.rtsp != nil {
		rtspAddr = a.cfg.RTSPAddr
	}
	srv, err := server.New(server.Config{
		PublicURL:  a.cfg.PublicURL,
		AdminToken: a.cfg.AdminToken,
		RTSPAddr:   rtspAddr,
	}, server.Deps{
		Logger:   a.log,
		Pool:     a.pool,
		Drops:    a.Drops,
		Catalog:  a.Catalog,
		Registry: reg,
		Gatherer: reg,
		Shoppers: shoppers,
		Channel:  a.channel,
		Checkout: a.Checkout,
		Recorder: a.Recorder,
		Images:   images,
		Media:    a.Media,
		Audience: a.audience,
		KPIs:     a.KPIs,
	})
	if err != nil {
		return err
	}
	a.http = &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	return nil
}

// Addr is the bound HTTP address, e.g. 127.0.0.1:41234.
func (a *App) Addr() string { return a.listener.Addr().String() }

// PublicURL is the base URL clients use.
func (a *App) PublicURL() string { return a.cfg.PublicURL }

// Pool is the database pool, for tests.
func (a *App) Pool() *pgxpool.Pool { return a.pool }

// Run serves until ctx is done, then shuts down in order, each step bounded
// by ShutdownTimeout: stop accepting HTTP and let in-flight requests finish;
// close the shopper channel (clients get 1001) and stop checkout's background
// work; stop RTSP ingest and the media core (publishers and viewers are
// closed, recorders get SinkStop); finalize recordings; close the pool. It
// returns nil after a clean shutdown.
func (a *App) Run(ctx context.Context) error {
	a.log.Info("serving", "addr", a.Addr(), "public_url", a.cfg.PublicURL)
	// Background components outlive ctx until HTTP has stopped accepting, so
	// that in-flight requests can still reach them.
	bgCtx, bgStop := context.WithCancel(context.WithoutCancel(ctx))
	var bg sync.WaitGroup
	for _, c := range []struct {
		name string
		run  func(context.Context) error
	}{
		{"channel", a.channel.Run},
		{"checkout", a.Checkout.Run},
		{"kpi", a.audience.Run},
	} {
		bg.Go(func() {
			if err := c.run(bgCtx); err != nil {
				a.log.Error("component stopped", "component", c.name, "err", err)
			}
		})
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- a.http.Serve(a.listener) }()

	var err error
	select {
	case err = <-serveErr:
		err = fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
		a.log.Info("shutting down")
		shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.ShutdownTimeout)
		if serr := a.http.Shutdown(shutCtx); serr != nil {
			err = fmt.Errorf("shut down http: %w", serr)
		}
		cancel()
		<-serveErr // Serve returns ErrServerClosed once Shutdown starts
	}
	bgStop()
	bg.Wait()
	a.Close()
	a.log.Info("stopped")
	return err
}

// Close releases what New opened, in dependency order: listener, RTSP
// ingest, media (so recorders see SinkStop), recorder (finalizes files), pool.
// Run calls it; call it directly only for an App whose Run was never called.
// It is idempotent.
func (a *App) Close() {
	a.closeOnce.Do(func() {
		if a.listener != nil {
			a.listener.Close() // already closed after Serve; the error is moot
		}
		if a.rtsp != nil {
			a.rtsp.Close()
		}
		if a.Media != nil {
			if err := a.Media.Close(); err != nil {
				a.log.Warn("close media", "err", err)
			}
		}
		if a.Recorder != nil {
			a.Recorder.Close() // finalize open recordings (bounded) before the pool goes
		}
		if a.pool != nil {
			a.pool.Close()
		}
	})
}
