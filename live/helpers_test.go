package live_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dropcast/dropcast/catalog"
	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/events"
	"github.com/dropcast/dropcast/live"
	"github.com/dropcast/dropcast/server"
	"github.com/dropcast/dropcast/shopper"
	"github.com/dropcast/dropcast/store/storetest"
)

const adminToken = "admin-token-0123456789"

// TestMain fails the run when any goroutine of the channel outlives the
// tests that started it.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := waitNoLiveGoroutines(5 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "leaked goroutines:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

func waitNoLiveGoroutines(within time.Duration) string {
	deadline := time.Now().Add(within)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaked []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "dropcast/dropcast/live.") && !strings.Contains(g, "waitNoLiveGoroutines") &&
				!strings.Contains(g, "testing.tRunner") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 {
			return ""
		}
		if time.Now().After(deadline) {
			return strings.Join(leaked, "\n\n")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// env is one test's world: a fresh database with a drop, a product with
// three sized variants, a burst and its stream key, a running registry and
// the real HTTP handler on 127.0.0.1.
type env struct {
	t       testing.TB
	drops   *drops.Service
	catalog *catalog.Service
	bus     *events.Bus
	reg     *live.Registry
	srv     *httptest.Server
	signer  *shopper.Signer
	drop    drops.Drop
	burst   drops.Burst
	key     drops.StreamKey
	product catalog.Product

	cfg     live.Config
	deps    live.Deps
	pool    *pgxpool.Pool
	stopReg func()
}

// start runs a registry and the HTTP handler, as a server process would.
func (e *env) start() {
	t := e.t
	var err error
	e.reg, err = live.NewRegistry(e.cfg, e.deps)
	must(t, err)
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.reg.Run(runCtx) }()
	promReg := prometheus.NewRegistry()
	srv, err := server.New(server.Config{PublicURL: "http://127.0.0.1", AdminToken: adminToken}, server.Deps{
		Logger: e.deps.Logger, Pool: e.pool, Drops: e.drops, Catalog: e.catalog, Registry: promReg, Gatherer: promReg,
		Shoppers: e.signer, Channel: e.reg,
	})
	must(t, err)
	e.srv = httptest.NewServer(srv.Handler())
	e.stopReg = func() {
		stop()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("registry did not stop")
		}
		e.srv.Close()
	}
}

// stop stops the registry (closing its connections) and the HTTP server.
func (e *env) stop() {
	if e.stopReg != nil {
		e.stopReg()
		e.stopReg = nil
	}
}

func newEnv(t testing.TB, cfg live.Config, commerce ...live.Commerce) *env {
	t.Helper()
	pool := storetest.New(t)
	ctx := t.Context()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	e := &env{t: t, drops: drops.NewService(pool, nil), catalog: catalog.NewService(pool), bus: events.NewBus()}
	now := time.Now()
	var err error
	e.drop, err = e.drops.CreateDrop(ctx, drops.DropInput{Slug: "d1", Title: "Drop", StartsAt: now.Add(-time.Hour),
		EndsAt: now.Add(47 * time.Hour), Currency: "EUR"})
	must(t, err)
	e.product, err = e.catalog.CreateProduct(ctx, e.drop.ID, catalog.ProductInput{Title: "Hoodie",
		Images: []string{"https://img.example/h.jpg"}, Variants: []catalog.VariantInput{
			{SKU: "H-S", Label: "S", Price: 5000, Stock: 10},
			{SKU: "H-M", Label: "M", Price: 5000, Stock: 5},
			{SKU: "H-L", Label: "L", Price: 5500, Stock: 0},
		}})
	must(t, err)
	e.burst, e.key, err = e.drops.CreateBurst(ctx, e.drop.ID, drops.BurstInput{Title: "Headline", Kind: drops.KindHeadline,
		ScheduledAt: now.Add(time.Minute)})
	must(t, err)

	e.deps = live.Deps{Logger: logger, Bus: e.bus, Drops: e.drops, Catalog: e.catalog, DB: pool}
	if len(commerce) > 0 {
		e.deps.Commerce = commerce[0]
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://127.0.0.1"
	}
	e.cfg, e.pool = cfg, pool
	key := make([]byte, 32)
	e.signer, err = shopper.NewSigner(key)
	must(t, err)
	e.start()
	t.Cleanup(e.stop)
	return e
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// card adds a run-of-show card for the hoodie.
func (e *env) card(offsetS, durationS int, deal *int64) drops.Card {
	e.t.Helper()
	c, err := e.drops.CreateCard(e.t.Context(), e.burst.ID, drops.CardInput{ProductID: e.product.ID,
		OffsetS: offsetS, DurationS: durationS, DealPrice: deal})
	must(e.t, err)
	return c
}

// goLive does what the media side does: persist the transition, then
// publish it.
func (e *env) goLive(liveAt time.Time) drops.Burst {
	e.t.Helper()
	b, err := e.drops.Transition(e.t.Context(), e.burst.ID, drops.StateLive, liveAt)
	must(e.t, err)
	e.bus.Publish(events.BurstState{BurstID: b.ID, DropID: b.DropID, State: string(b.State), At: liveAt,
		LiveAt: *b.LiveAt, EndsAt: b.Deadline()})
	e.burst = b
	return b
}

func (e *env) transition(to drops.State, at time.Time) {
	e.t.Helper()
	b, err := e.drops.Transition(e.t.Context(), e.burst.ID, to, at)
	must(e.t, err)
	ends := b.Deadline()
	if to == drops.StateEnding {
		ends = at.Add(time.Minute)
	}
	e.bus.Publish(events.BurstState{BurstID: b.ID, DropID: b.DropID, State: string(to), At: at,
		LiveAt: *b.LiveAt, EndsAt: ends})
}

func (e *env) wsURL(path string) string {
	return "ws" + strings.TrimPrefix(e.srv.URL, "http") + path
}

// client is a gorilla websocket client that reads in its own goroutine, so
// a test can wait for a message type with a deadline.
type client struct {
	t    testing.TB
	ws   *websocket.Conn
	resp *http.Response
	msgs chan msg
	done chan struct{}
	err  error // set before done closes
}

type msg map[string]any

func (m msg) str(k string) string { s, _ := m[k].(string); return s }

func (e *env) dial(path string, hdr http.Header) *client {
	e.t.Helper()
	c, err := e.tryDial(path, hdr)
	must(e.t, err)
	return c
}

func (e *env) tryDial(path string, hdr http.Header) (*client, error) {
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	ws, resp, err := d.DialContext(e.t.Context(), e.wsURL(path), hdr)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("%w (status %d)", err, resp.StatusCode)
		}
		return nil, err
	}
	c := &client{t: e.t, ws: ws, resp: resp, msgs: make(chan msg, 4096), done: make(chan struct{})}
	go c.readLoop()
	e.t.Cleanup(func() {
		ws.Close()
		<-c.done
	})
	return c, nil
}

func (c *client) readLoop() {
	defer close(c.done)
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			c.err = err
			return
		}
		var m msg
		if err := json.Unmarshal(data, &m); err != nil {
			c.err = fmt.Errorf("server sent non-JSON %q: %w", data, err)
			return
		}
		select {
		case c.msgs <- m:
		default:
			c.err = errors.New("test client buffer full")
			return
		}
	}
}

// next waits for the next message of type typ, skipping others.
func (c *client) next(typ string, within time.Duration) msg {
	c.t.Helper()
	m, ok := c.tryNext(typ, within)
	if !ok {
		c.t.Fatalf("no %q message within %v (read error: %v)", typ, within, c.err)
	}
	return m
}

func (c *client) tryNext(typ string, within time.Duration) (msg, bool) {
	timer := time.NewTimer(within)
	defer timer.Stop()
	for {
		select {
		case m := <-c.msgs:
			if m.str("type") == typ {
				return m, true
			}
		case <-c.done:
			// Drain what arrived before the close.
			for {
				select {
				case m := <-c.msgs:
					if m.str("type") == typ {
						return m, true
					}
				default:
					return nil, false
				}
			}
		case <-timer.C:
			return nil, false
		}
	}
}

func (c *client) send(v any) {
	c.t.Helper()
	must(c.t, c.ws.WriteJSON(v))
}

// closeErr waits for the connection to end and returns the close error.
func (c *client) closeErr(within time.Duration) *websocket.CloseError {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(within):
		c.t.Fatalf("connection still open after %v", within)
	}
	var ce *websocket.CloseError
	if errors.As(c.err, &ce) {
		return ce
	}
	c.t.Fatalf("connection ended without a close frame: %v", c.err)
	return nil
}

// post makes an authenticated POST and returns the status and body.
func (e *env) post(path, token string) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.t.Context(), http.MethodPost, e.srv.URL+path, nil)
	must(e.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	must(e.t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

func (e *env) cardPath(cardID int64, action string) string {
	return fmt.Sprintf("/api/bursts/%d/cards/%d/%s", e.burst.ID, cardID, action)
}

func (e *env) wsPath() string { return fmt.Sprintf("/ws/%d", e.burst.ID) }

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
