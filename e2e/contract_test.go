//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/dropcast/dropcast/drops"
)

// fakeChannel speaks the shopper channel's contract (DESIGN.md) from the
// client's side of it, so the pages' overlay, cart and checkout code runs in
// Chromium before the live and checkout areas are merged. It keeps a cart in
// memory and reserves nothing: a fixture for the browser client only.
type fakeChannel struct {
	t       *testing.T
	e       *env
	burstID int64
	key     string

	mu       sync.Mutex
	conns    []*websocket.Conn
	received []map[string]any
	cart     []map[string]any
	got      chan map[string]any
}

func newFakeChannel(t *testing.T, e *env, burstID int64, key string) *fakeChannel {
	return &fakeChannel{t: t, e: e, burstID: burstID, key: key, got: make(chan map[string]any, 64)}
}

func (c *fakeChannel) routes(mux *http.ServeMux) {
	mux.HandleFunc(fmt.Sprintf("GET /ws/%d", c.burstID), c.serveWS)
	mux.HandleFunc(fmt.Sprintf("POST /api/bursts/%d/cards/{card}/{action}", c.burstID), c.pin)
}

func (c *fakeChannel) serveWS(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	b, err := c.e.app.Drops.Burst(r.Context(), c.burstID)
	if err != nil {
		conn.Close()
		return
	}
	welcome := map[string]any{"type": "welcome", "burst": map[string]any{"state": b.State, "ends_at": deadline(b)},
		"cards": []any{}, "cart": map[string]any{"items": []any{}, "total": 0, "currency": "USD"}, "viewers": 41,
		"server_time": time.Now().UTC(), "shopper": "s-test"}
	if err := conn.WriteJSON(welcome); err != nil {
		conn.Close()
		return
	}
	c.mu.Lock()
	c.conns = append(c.conns, conn)
	c.mu.Unlock()
	for {
		var m map[string]any
		if err := conn.ReadJSON(&m); err != nil {
			return
		}
		c.handle(conn, m)
	}
}

func deadline(b drops.Burst) any {
	if d := b.Deadline(); !d.IsZero() {
		return d
	}
	return nil
}

func (c *fakeChannel) handle(conn *websocket.Conn, m map[string]any) {
	select {
	case c.got <- m:
	default:
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch m["type"] {
	case "cart.add":
		// Bare lines: the page fills in titles and prices from its cards.
		c.cart = append(c.cart, map[string]any{"variant": m["variant"], "card": m["card"], "qty": m["qty"],
			"expires_at": time.Now().Add(10 * time.Minute).UTC()})
		conn.WriteJSON(map[string]any{"type": "ack", "req": m["req"]})
		conn.WriteJSON(map[string]any{"type": "cart", "cart": map[string]any{"items": c.cart, "currency": "USD"}})
	case "checkout":
		conn.WriteJSON(map[string]any{"type": "ack", "req": m["req"], "url": "https://checkout.stripe.com/c/pay/cs_test_dropcast"})
	}
}

// broadcast sends m to every connected page.
func (c *fakeChannel) broadcast(m map[string]any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.WriteJSON(m)
	}
}

// pin is the host's show/hide contract: bearer stream key, then card.show
// (with product, variants and stock from the database) or card.hide.
func (c *fakeChannel) pin(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+c.key {
		http.Error(w, "bad key", http.StatusUnauthorized)
		return
	}
	cardID, _ := strconv.ParseInt(r.PathValue("card"), 10, 64)
	card, err := c.e.app.Drops.Card(r.Context(), c.burstID, cardID)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	if r.PathValue("action") == "hide" {
		c.broadcast(map[string]any{"type": "card.hide", "card_id": strconv.FormatInt(card.ID, 10)})
		w.WriteHeader(http.StatusNoContent)
		return
	}
	p, err := c.e.app.Catalog.Product(r.Context(), card.ProductID)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var variants []map[string]any
	for _, v := range p.Variants {
		variants = append(variants, map[string]any{"id": strconv.FormatInt(v.ID, 10), "label": v.Label, "price": v.Price, "available": v.Available})
	}
	c.broadcast(map[string]any{"type": "card.show", "card": map[string]any{"id": strconv.FormatInt(card.ID, 10),
		"product":  map[string]any{"id": strconv.FormatInt(p.ID, 10), "title": p.Title, "images": p.Images},
		"variants": variants, "deal_price": card.DealPrice, "ends_at": time.Now().Add(card.Duration()).UTC()}})
	w.WriteHeader(http.StatusNoContent)
}

// waitMessage waits for the page to send a message of type typ.
func (c *fakeChannel) waitMessage(t *testing.T, typ string, d time.Duration) map[string]any {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case m := <-c.got:
			if m["type"] == typ {
				return m
			}
		case <-timeout:
			t.Fatalf("page sent no %s within %v", typ, d)
		}
	}
}

// contractFront serves the relay and the fake channel in front of the real
// app: everything else is proxied to it, so pages stay same-origin.
func contractFront(t *testing.T, e *env, handlers ...interface{ routes(*http.ServeMux) }) string {
	t.Helper()
	target, _ := url.Parse(e.base)
	mux := http.NewServeMux()
	mux.Handle("/", httputil.NewSingleHostReverseProxy(target))
	for _, h := range handlers {
		h.routes(mux)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ln := listenLoopback(t)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}
