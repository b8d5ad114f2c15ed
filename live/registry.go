package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/dropcast/dropcast/catalog"
	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/events"
	"github.com/dropcast/dropcast/store"
)

// Deps are the components the channel uses.
type Deps struct {
	Logger  *slog.Logger
	Bus     *events.Bus
	Drops   *drops.Service
	Catalog *catalog.Service
	// DB stores the card timeline.
	DB store.DBTX
	// Commerce runs cart commands; nil answers them with "unavailable".
	Commerce Commerce
}

// Client is who is on a connection: the burst watched, the shopper id
// (several tabs of one shopper share it) and whether it is the burst's host
// (authenticated with the stream key or the admin token by the caller).
type Client struct {
	BurstID int64
	Shopper string
	Host    bool
}

// Stats are the channel's counters since start.
type Stats struct {
	Connections   int64 // open now
	Hubs          int64 // running now
	SlowClosed    int64 // connections closed as slow consumers
	Oversized     int64 // connections closed for an oversized frame
	Refused       int64 // client messages answered with a protocol error
	EventsDropped int64 // bus events a hub's full inbox could not take
}

type counters struct {
	conns, hubs, slow, oversized, refused, eventsDropped atomic.Int64
}

// Registry runs one Hub per burst that needs one. One goroutine (Run) owns
// the burst → hub map; callers reach it through request structs. It also
// owns every connection handed to Attach (a reader goroutine each) and the
// hubs' goroutines, and Run returns only after all of them have stopped.
// Build it with NewRegistry and call Run once; Show, Hide and Attach need
// Run to be running (Show and Hide wait for it, Attach refuses with
// ErrClosed). Its methods are safe for concurrent use.
type Registry struct {
	cfg      Config
	deps     Deps
	log      *slog.Logger
	timeline *Timeline
	local    *localFanout
	out      Broadcaster
	stats    counters

	reqs    chan hubLookup
	exited  chan *Hub
	stopped chan struct{}

	connMu sync.Mutex
	runCtx context.Context // Run's context, while it runs; guarded by connMu
	closed bool
	conns  sync.WaitGroup
}

type hubLookup struct {
	id     int64
	create bool
	reply  chan *Hub
}

// NewRegistry checks cfg and returns a Registry.
func NewRegistry(cfg Config, d Deps) (*Registry, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Logger == nil || d.Bus == nil || d.Drops == nil || d.Catalog == nil || d.DB == nil {
		return nil, errors.New("live: logger, bus, drops, catalog and db are required")
	}
	log := d.Logger.With("component", "live")
	r := &Registry{
		cfg: cfg, deps: d, log: log,
		timeline: NewTimeline(d.DB),
		reqs:     make(chan hubLookup),
		exited:   make(chan *Hub),
		stopped:  make(chan struct{}),
	}
	r.local = newLocalFanout(func(err error) { log.Error("prepare broadcast", "err", err) })
	r.out = r.local
	return r, nil
}

// Config returns the settings in effect (defaults filled in).
func (r *Registry) Config() Config { return r.cfg }

// OriginAllowed reports whether a page at origin may connect to the server
// reached as host; see Config.OriginAllowed.
func (r *Registry) OriginAllowed(origin, host string) bool { return r.cfg.OriginAllowed(origin, host) }

// Timeline returns burstID's stored card timeline, oldest first.
func (r *Registry) Timeline(ctx context.Context, burstID int64) ([]TimelineEvent, error) {
	return r.timeline.Events(ctx, burstID)
}

// Stats returns the current counters.
func (r *Registry) Stats() Stats {
	return Stats{
		Connections: r.stats.conns.Load(), Hubs: r.stats.hubs.Load(), SlowClosed: r.stats.slow.Load(),
		Oversized: r.stats.oversized.Load(), Refused: r.stats.refused.Load(), EventsDropped: r.stats.eventsDropped.Load(),
	}
}

// Run owns the hubs until ctx is done: it routes burst lifecycle, stock
// and sale events from the bus to them and starts a hub for a burst that
// goes live. On return every hub has stopped and every connection it served
// has been closed (1001) and has finished.
func (r *Registry) Run(ctx context.Context) error {
	sub := r.deps.Bus.Subscribe(4096, func(e events.Event) bool {
		switch e.(type) {
		case events.BurstState, events.StockChanged, events.Sale:
			return true
		}
		return false
	})
	defer sub.Close()
	r.connMu.Lock()
	r.runCtx = ctx
	r.connMu.Unlock()
	hubCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	hubs := make(map[int64]*Hub)
	start := func(id int64) *Hub {
		h := newHub(r, id)
		hubs[id] = h
		r.stats.hubs.Add(1)
		wg.Go(func() {
			h.run(hubCtx)
			r.stats.hubs.Add(-1)
			select {
			case r.exited <- h:
			case <-hubCtx.Done():
			}
		})
		return h
	}
	defer func() {
		cancel()
		wg.Wait()
		r.connMu.Lock()
		r.closed = true
		r.connMu.Unlock()
		r.conns.Wait()
		close(r.stopped)
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case q := <-r.reqs:
			h := hubs[q.id]
			if h == nil && q.create {
				h = start(q.id)
			}
			q.reply <- h
		case h := <-r.exited:
			if hubs[h.id] == h {
				delete(hubs, h.id)
			}
		case e := <-sub.C:
			r.route(e, hubs, start)
		}
	}
}

// route hands e to the hubs it concerns without waiting for any of them.
func (r *Registry) route(e events.Event, hubs map[int64]*Hub, start func(int64) *Hub) {
	deliver := func(h *Hub) {
		select {
		case h.events <- e:
		default:
			r.stats.eventsDropped.Add(1)
		}
	}
	switch e := e.(type) {
	case events.BurstState:
		h := hubs[e.BurstID]
		if h == nil && (e.State == string(drops.StateLive) || e.State == string(drops.StateEnding)) {
			h = start(e.BurstID) // the run-of-show runs (and is recorded) with nobody watching too
		}
		if h != nil {
			deliver(h)
		}
	case events.Sale:
		if h := hubs[e.BurstID]; h != nil {
			deliver(h)
		}
	case events.StockChanged:
		for _, h := range hubs {
			deliver(h)
		}
	}
}

// lookup asks Run for burstID's hub, starting one when create is set.
func (r *Registry) lookup(ctx context.Context, id int64, create bool) (*Hub, error) {
	q := hubLookup{id: id, create: create, reply: make(chan *Hub, 1)}
	select {
	case r.reqs <- q:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-r.stopped:
		return nil, ErrClosed
	}
	return <-q.reply, nil
}

// withHub runs fn on burstID's hub, starting the hub if the burst exists.
// A hub that stops meanwhile is replaced and fn retried.
func (r *Registry) withHub(ctx context.Context, id int64, fn func(*Hub) error) (*Hub, error) {
	for range 3 {
		h, err := r.lookup(ctx, id, false)
		if err != nil {
			return nil, err
		}
		if h == nil {
			if _, err := r.deps.Drops.Burst(ctx, id); err != nil {
				return nil, err
			}
			if h, err = r.lookup(ctx, id, true); err != nil {
				return nil, err
			}
		}
		if err := fn(h); !errors.Is(err, errHubGone) {
			return h, err
		}
	}
	return nil, fmt.Errorf("burst %d: %w", id, errHubGone)
}

// ask sends req to h and, when reply is not nil, waits for it.
func ask[T any](ctx context.Context, h *Hub, req any, reply chan T) (T, error) {
	var zero T
	select {
	case h.reqs <- req:
	case <-h.done:
		return zero, errHubGone
	case <-ctx.Done():
		return zero, ctx.Err()
	}
	if reply == nil {
		return zero, nil
	}
	select {
	case v := <-reply:
		return v, nil
	case <-h.done:
		return zero, errHubGone
	}
}

// Show puts card cardID of burstID up now for the card's duration (a host
// pin), records it in the timeline and broadcasts it. Errors: not_found
// (burst or card), ErrBurstNotLive.
func (r *Registry) Show(ctx context.Context, burstID, cardID int64) (TimelineEvent, error) {
	return r.card(ctx, burstID, cardID, true)
}

// Hide takes card cardID of burstID down now. Errors: not_found (burst or
// card), conflict (the card is not up), ErrBurstNotLive.
func (r *Registry) Hide(ctx context.Context, burstID, cardID int64) (TimelineEvent, error) {
	return r.card(ctx, burstID, cardID, false)
}

func (r *Registry) card(ctx context.Context, burstID, cardID int64, show bool) (TimelineEvent, error) {
	var res cardResult
	_, err := r.withHub(ctx, burstID, func(h *Hub) error {
		reply := make(chan cardResult, 1)
		var err error
		res, err = ask(ctx, h, cardReq{ctx: ctx, card: cardID, show: show, reply: reply}, reply)
		if err != nil {
			return err
		}
		return res.err
	})
	return res.ev, err
}

// Attach hands a freshly upgraded websocket of client to the channel and
// returns at once; the registry owns the connection from then on. A
// goroutine of the registry joins the burst's hub (the first message is
// "welcome") and hands over to a reader goroutine, which reads commands and
// leaves when the connection ends; a writer
// goroutine runs only while messages are queued. Returning from the HTTP
// handler right away lets net/http free the request and its buffers, which
// is most of an idle connection's memory. Errors: ErrClosed when the
// registry is not running (the socket is closed with 1001).
func (r *Registry) Attach(ws *websocket.Conn, client Client) error {
	r.connMu.Lock()
	if r.runCtx == nil || r.closed {
		r.connMu.Unlock()
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), time.Now().Add(time.Second))
		ws.Close()
		return ErrClosed
	}
	ctx := r.runCtx
	r.conns.Add(1)
	r.connMu.Unlock()
	go func() {
		defer r.conns.Done()
		r.serve(ctx, ws, client)
	}()
	return nil
}

// serve joins c's connection to its burst's hub, then starts the
// connection's reader and returns. The reader is a fresh goroutine rather
// than this one because the join's database reads (the burst, the
// shopper's cart) grow a goroutine's stack to 8 KiB or more, and the runtime
// halves a stack only while less than a quarter of it is in use: the
// goroutine an idle connection keeps, blocked in a read, then holds 4 KiB of
// stack instead of 8 (docs/protocol.md, "Costs per connection").
func (r *Registry) serve(ctx context.Context, ws *websocket.Conn, client Client) {
	c := newConn(ws, client, &r.cfg, func() {
		r.stats.slow.Add(1)
		r.log.Warn("slow consumer closed", "burst_id", client.BurstID)
	})
	// Counted from before the join, which queues the welcome: a client that
	// has read its welcome always finds itself in /metrics.
	r.stats.conns.Add(1)
	cart := r.initialCart(ctx, client)
	h, err := r.withHub(ctx, client.BurstID, func(h *Hub) error {
		reply := make(chan error, 1)
		jerr, err := ask(ctx, h, joinReq{c: c, cart: cart, reply: reply}, reply)
		if err != nil {
			return err
		}
		return jerr
	})
	if err != nil {
		defer r.stats.conns.Add(-1)
		defer c.finish()
		code, msg := wsCode(err)
		if !errors.Is(err, context.Canceled) {
			r.log.Warn("join burst", "burst_id", client.BurstID, "err", err)
		}
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseInternalServerErr, code+": "+msg), time.Now().Add(time.Second))
		return
	}
	c.hub = h
	r.conns.Add(1) // while serve still holds its own count, so Run's Wait cannot slip between
	go func() {
		defer r.conns.Done()
		r.read(ctx, c, h)
	}()
}

// read is a joined connection's reader goroutine: it reads commands until
// the connection ends, then leaves the hub and closes the connection.
func (r *Registry) read(ctx context.Context, c *conn, h *Hub) {
	defer c.finish()
	defer r.stats.conns.Add(-1)
	defer func() { _, _ = ask[struct{}](context.WithoutCancel(ctx), h, leaveReq{c: c}, nil) }()
	s := &session{
		c: c, reg: r, log: r.log,
		limiter:  rate.NewLimiter(rate.Limit(r.cfg.CommandRate), r.cfg.CommandBurst),
		returnTo: r.returnURL(c.burstID),
	}
	s.readLoop(ctx)
}

func (r *Registry) initialCart(ctx context.Context, c Client) any {
	if r.deps.Commerce == nil || c.Host {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.CommandTimeout)
	defer cancel()
	cart, err := r.deps.Commerce.Cart(ctx, c.Shopper, c.BurstID)
	if err != nil {
		r.log.Warn("read cart for welcome", "burst_id", c.BurstID, "err", err)
		return nil
	}
	return cart
}

func (r *Registry) returnURL(burstID int64) string {
	if r.cfg.PublicURL == "" {
		return ""
	}
	return r.cfg.PublicURL + "/watch/" + idString(burstID)
}

// toShopper sends frame to the other connections of from's shopper.
func (r *Registry) toShopper(ctx context.Context, from *conn, frame []byte) {
	if from.hub != nil {
		_, _ = ask[struct{}](ctx, from.hub, toShopperReq{from: from, frame: frame}, nil)
	}
}
