package live

import (
	"context"
	"log/slog"
	"time"

	"github.com/gorilla/websocket"

	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/events"
)

// Hub is the shopper channel of one burst: its connections, viewer count,
// active cards, card scheduler and stock coalescing. One goroutine (run)
// owns all of that state; connections, host pins and bus events reach it as
// request structs on channels, and requests that need an answer carry their
// own reply channel. The registry starts a hub when a burst first needs one
// (a connection, a pin, the burst going live) and the hub stops by itself
// once nobody is connected and its burst is not live (Config.HubIdle), or
// when the registry stops.
type Hub struct {
	id     int64
	reg    *Registry
	log    *slog.Logger
	reqs   chan any
	events chan events.Event
	done   chan struct{}
	fan    *fanout

	// Owned by run.
	burst     drops.Burst
	endsAt    time.Time
	currency  string
	scheduled bool
	active    map[int64]*activeCard
	plan      []planned
	timer     *time.Timer
	byShopper map[string][]*conn
	viewers   map[string]int
	busCount  int // the viewer count last published on the bus; -1 before
	sentCount int
	stock     map[int64]int // variant → available, changed since stockAt
	stockAt   time.Time     // when the last "stock" batch went out
	stockT    *time.Timer
	idleSince time.Time
	lastEvent TimelineEvent // the last event recorded, for pin replies
}

// hubInbox is a hub's queue of bus events. Stock changes arrive in bursts
// during a sale; a dropped one could leave a stale count on screen.
const hubInbox = 4096

type joinReq struct {
	c     *conn
	cart  any
	reply chan error
}

type leaveReq struct{ c *conn }

type toShopperReq struct {
	from  *conn
	frame []byte
}

type cardReq struct {
	ctx   context.Context
	card  int64
	show  bool
	reply chan cardResult
}

type cardResult struct {
	ev  TimelineEvent
	err error
}

func newHub(reg *Registry, id int64) *Hub {
	return &Hub{
		id:        id,
		reg:       reg,
		log:       reg.log.With("burst_id", id),
		reqs:      make(chan any),
		events:    make(chan events.Event, hubInbox),
		done:      make(chan struct{}),
		active:    make(map[int64]*activeCard),
		byShopper: make(map[string][]*conn),
		viewers:   make(map[string]int),
		busCount:  -1,
		stock:     make(map[int64]int),
	}
}

// BurstID is the id of the hub's burst.
func (h *Hub) BurstID() int64 { return h.id }

// run is the hub's goroutine. It returns when ctx is done (closing every
// connection with 1001) or when the hub has been idle for Config.HubIdle.
func (h *Hub) run(ctx context.Context) {
	defer close(h.done)
	h.fan = h.reg.local.open(h.id)
	defer h.reg.local.close(h.id, h.fan)
	h.timer = time.NewTimer(time.Hour)
	h.timer.Stop()
	h.stockT = time.NewTimer(time.Hour)
	h.stockT.Stop()
	defer h.timer.Stop()
	defer h.stockT.Stop()
	if err := h.load(ctx); err != nil {
		h.log.Error("load burst", "err", err)
		return
	}
	tick := time.NewTicker(h.reg.cfg.ViewersInterval)
	defer tick.Stop()
	// One ticker pings every connection of the burst, instead of a timer
	// per connection.
	ping := time.NewTicker(h.reg.cfg.PingInterval)
	defer ping.Stop()
	h.idleSince = h.now()
	for {
		select {
		case <-ctx.Done():
			h.closeAll(websocket.CloseGoingAway, "server shutting down")
			return
		case r := <-h.reqs:
			h.handle(r)
		case e := <-h.events:
			h.onEvent(ctx, e)
		case <-h.timer.C:
			h.fireDue(ctx)
		case <-h.stockT.C:
			h.flushStock()
		case <-ping.C:
			h.fan.send(Everyone, []*websocket.PreparedMessage{pingFrame}, nil)
		case <-tick.C:
			h.tickViewers()
			if h.idleFor() >= h.reg.cfg.HubIdle {
				h.log.Debug("hub idle, stopping")
				return
			}
		}
	}
}

func (h *Hub) now() time.Time { return h.reg.cfg.Now() }

// load reads the burst and its drop's currency and, when the burst is
// already live, brings the run-of-show up to date.
func (h *Hub) load(ctx context.Context) error {
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	b, err := h.reg.deps.Drops.Burst(lctx, h.id)
	if err != nil {
		return err
	}
	d, err := h.reg.deps.Drops.Drop(lctx, b.DropID)
	if err != nil {
		return err
	}
	h.burst, h.currency, h.endsAt = b, d.Currency, b.Deadline()
	if h.isLive() {
		h.startSchedule(lctx)
	}
	return nil
}

// stateRank orders the lifecycle: scheduled → live → ending → ended.
func stateRank(s drops.State) int {
	switch s {
	case drops.StateLive:
		return 1
	case drops.StateEnding:
		return 2
	case drops.StateEnded:
		return 3
	}
	return 0
}

func (h *Hub) isLive() bool {
	return h.burst.State == drops.StateLive || h.burst.State == drops.StateEnding
}

// idleFor is how long the hub has had no connection while its burst is not
// live; zero otherwise.
func (h *Hub) idleFor() time.Duration {
	if len(h.byShopper) > 0 || h.isLive() {
		h.idleSince = time.Time{}
		return 0
	}
	if h.idleSince.IsZero() {
		h.idleSince = h.now()
	}
	return h.now().Sub(h.idleSince)
}

func (h *Hub) handle(r any) {
	switch r := r.(type) {
	case joinReq:
		r.reply <- h.join(r.c, r.cart)
	case leaveReq:
		h.leave(r.c)
	case toShopperReq:
		h.toShopper(r.from, r.frame)
	case cardReq:
		var res cardResult
		if r.show {
			res.ev, res.err = h.pin(r.ctx, r.card)
		} else {
			res.ev, res.err = h.unpin(r.ctx, r.card)
		}
		r.reply <- res
	}
}

// join registers c and queues its welcome first, so that every later
// broadcast follows the state the welcome describes.
func (h *Hub) join(c *conn, cart any) error {
	frame, err := encode(h.welcome(c, cart))
	if err != nil {
		return err
	}
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, frame)
	if err != nil {
		return err
	}
	h.fan.addAfter(c, func() { c.enqueue(pm) })
	h.byShopper[c.shopper] = append(h.byShopper[c.shopper], c)
	if !c.host {
		h.viewers[c.shopper]++
	}
	return nil
}

func (h *Hub) leave(c *conn) {
	h.fan.remove(c)
	list := without(h.byShopper[c.shopper], c)
	if len(list) == 0 {
		delete(h.byShopper, c.shopper)
	} else {
		h.byShopper[c.shopper] = list
	}
	if !c.host {
		if h.viewers[c.shopper]--; h.viewers[c.shopper] <= 0 {
			delete(h.viewers, c.shopper)
		}
	}
}

func (h *Hub) welcome(c *conn, cart any) welcomeMsg {
	now := h.now()
	cards := make([]CardView, 0, len(h.active))
	for _, a := range h.active {
		cards = append(cards, a.view)
	}
	sortCards(cards)
	w := welcomeMsg{
		Type: TypeWelcome, Shopper: c.shopper, Host: c.host, Burst: h.info(),
		Cards: cards, Cart: cart, Viewers: h.viewerCount(c), ServerTime: now,
	}
	if h.burst.LiveAt != nil {
		ms := millis(now.Sub(*h.burst.LiveAt))
		w.MediaTime = &ms
	}
	return w
}

// viewerCount is the number of distinct shoppers watching, counting c's
// shopper if it is about to join.
func (h *Hub) viewerCount(joining *conn) int {
	n := len(h.viewers)
	if joining != nil && !joining.host && h.viewers[joining.shopper] == 0 {
		n++
	}
	return n
}

func (h *Hub) info() BurstInfo {
	return BurstInfo{
		ID: h.burst.ID, DropID: h.burst.DropID, Title: h.burst.Title, State: string(h.burst.State),
		ScheduledAt: h.burst.ScheduledAt, LiveAt: h.burst.LiveAt, EndsAt: timePtr(h.endsAt),
	}
}

func (h *Hub) toShopper(from *conn, frame []byte) {
	var pm *websocket.PreparedMessage
	for _, c := range h.byShopper[from.shopper] {
		if c == from {
			continue
		}
		if pm == nil {
			var err error
			if pm, err = websocket.NewPreparedMessage(websocket.TextMessage, frame); err != nil {
				return
			}
		}
		c.enqueue(pm)
	}
}

// broadcast encodes v once and hands it to the registry's Broadcaster.
func (h *Hub) broadcast(to Audience, v any) {
	frame, err := encode(v)
	if err != nil {
		h.log.Error("encode broadcast", "err", err)
		return
	}
	h.reg.out.Broadcast(h.id, to, frame)
}

// broadcastBatch sends vs together: one write per connection for the lot.
func (h *Hub) broadcastBatch(to Audience, vs []any) {
	frames := make([][]byte, 0, len(vs))
	for _, v := range vs {
		frame, err := encode(v)
		if err != nil {
			h.log.Error("encode broadcast", "err", err)
			return
		}
		frames = append(frames, frame)
	}
	h.reg.out.BroadcastBatch(h.id, to, frames)
}

func (h *Hub) tickViewers() {
	n := len(h.viewers)
	if n != h.sentCount {
		h.sentCount = n
		h.broadcast(Everyone, viewersMsg{Type: TypeViewers, Viewers: n})
	}
	// The live audience goes out on the bus (the KPIs keep its peak): the
	// count at the first tick of the live burst, then each change.
	if h.isLive() && n != h.busCount {
		h.busCount = n
		h.reg.deps.Bus.Publish(events.Viewers{BurstID: h.id, Count: n, At: h.now()})
	}
}

func (h *Hub) closeAll(code int, reason string) {
	for _, list := range h.byShopper {
		for _, c := range list {
			c.kick(code, reason, nil)
		}
	}
}

func (h *Hub) onEvent(ctx context.Context, e events.Event) {
	switch e := e.(type) {
	case events.BurstState:
		h.onBurstState(ctx, e)
	case events.StockChanged:
		if e.DropID == h.burst.DropID {
			h.onStock(e.VariantID, e.Available)
		}
	case events.Sale:
		var card *string
		if e.CardID != 0 {
			s := idString(e.CardID)
			card = &s
		}
		h.broadcast(Hosts, saleMsg{Type: TypeSale, Order: e.OrderID, Card: card, Amount: e.Amount,
			Currency: e.Currency, Items: e.Items, At: e.At})
	}
}

func (h *Hub) onBurstState(ctx context.Context, e events.BurstState) {
	st := drops.State(e.State)
	if !st.Valid() || stateRank(st) < stateRank(h.burst.State) {
		// A stale event (the hub read a later state from the database
		// first): the lifecycle only moves forward.
		return
	}
	h.burst.State = st
	if !e.LiveAt.IsZero() {
		t := e.LiveAt
		h.burst.LiveAt = &t
	}
	if !e.EndsAt.IsZero() {
		h.endsAt = e.EndsAt
	} else if h.endsAt.IsZero() {
		h.endsAt = h.burst.Deadline()
	}
	h.log.Info("burst state", "state", st)
	announce := func() {
		h.broadcast(Everyone, burstMsg{Type: TypeBurst, State: string(st), LiveAt: h.burst.LiveAt,
			EndsAt: timePtr(h.endsAt), ServerTime: h.now()})
	}
	switch st {
	case drops.StateLive, drops.StateEnding:
		if h.burst.LiveAt == nil {
			// An event without live_at: read it from the database.
			if b, err := h.reg.deps.Drops.Burst(ctx, h.id); err == nil {
				h.burst.LiveAt = b.LiveAt
				h.endsAt = b.Deadline()
			}
		}
		// The state first, then the cards that are due.
		announce()
		h.startSchedule(ctx)
	case drops.StateEnded:
		// The cards come down first; the final state is the last word.
		h.endAll(ctx, e.At)
		announce()
	default:
		announce()
	}
}
