package live_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/events"
	"github.com/dropcast/dropcast/live"
)

func cardID(t testing.TB, m msg) int64 {
	t.Helper()
	card, _ := m["card"].(map[string]any)
	id, err := strconv.ParseInt(fmt.Sprint(card["id"]), 10, 64)
	if err != nil {
		t.Fatalf("card.show without a card id: %v", m)
	}
	return id
}

// A card appears at its offset from the burst's actual live start, to every
// client, and comes down after its duration; both moments are in the
// timeline and on the bus.
func TestCardAppearsAtOffset(t *testing.T) {
	e := newEnv(t, live.Config{})
	deal := int64(3900)
	c := e.card(10, 1, &deal)
	sub := e.bus.Subscribe(16, events.ForBurst(e.burst.ID))
	defer sub.Close()

	clients := []*client{e.dial(e.wsPath(), nil), e.dial(e.wsPath(), nil), e.dial(e.wsPath(), nil)}
	for _, cl := range clients {
		w := cl.next(live.TypeWelcome, 5*time.Second)
		if b := w["burst"].(map[string]any); b["state"] != "scheduled" {
			t.Fatalf("welcome burst state = %v, want scheduled", b["state"])
		}
	}
	// The burst went live 9.4 s ago (scheduled time is a minute away): the
	// 10 s card is due in 0.6 s, not in 10 s and not at once.
	liveAt := time.Now().Add(-9400 * time.Millisecond)
	e.goLive(liveAt)
	for i, cl := range clients {
		cl.next(live.TypeBurst, 5*time.Second)
		m := cl.next(live.TypeCardShow, 5*time.Second)
		got := time.Now()
		if id := cardID(t, m); id != c.ID {
			t.Fatalf("client %d: card %d shown, want %d", i, id, c.ID)
		}
		if due := liveAt.Add(10 * time.Second); got.Before(due.Add(-50 * time.Millisecond)) {
			t.Fatalf("client %d: card shown %v before its offset", i, due.Sub(got))
		}
		media := m["media_time_ms"].(float64)
		if math.Abs(media-10000) > 500 {
			t.Fatalf("client %d: media_time_ms = %v, want about 10000", i, media)
		}
		card := m["card"].(map[string]any)
		if card["deal_price"].(float64) != 3900 || card["currency"] != "EUR" {
			t.Fatalf("card deal/currency wrong: %v", card)
		}
		vs := card["variants"].([]any)
		if len(vs) != 3 || vs[1].(map[string]any)["available"].(float64) != 5 {
			t.Fatalf("card variants wrong: %v", vs)
		}
	}
	for i, cl := range clients {
		m := cl.next(live.TypeCardHide, 5*time.Second)
		if m.str("card") != strconv.FormatInt(c.ID, 10) {
			t.Fatalf("client %d: hid %v", i, m["card"])
		}
	}
	evs, err := e.reg.Timeline(t.Context(), e.burst.ID)
	must(t, err)
	if len(evs) != 2 || evs[0].Kind != live.KindShow || evs[1].Kind != live.KindHide ||
		evs[0].Source != live.SourceSchedule || evs[1].Source != live.SourceSchedule {
		t.Fatalf("timeline = %+v, want a scheduled show and hide", evs)
	}
	if d := evs[0].Offset - 10*time.Second; d < -100*time.Millisecond || d > 500*time.Millisecond {
		t.Fatalf("show offset = %v, want about 10 s", evs[0].Offset)
	}
	if d := evs[1].Offset - 11*time.Second; d < -100*time.Millisecond || d > 500*time.Millisecond {
		t.Fatalf("hide offset = %v, want about 11 s", evs[1].Offset)
	}
	var shown, hidden bool
	deadline := time.After(2 * time.Second)
	for !shown || !hidden {
		select {
		case ev := <-sub.C:
			switch ev.(type) {
			case events.CardShown:
				shown = true
			case events.CardHidden:
				hidden = true
			}
		case <-deadline:
			t.Fatalf("bus events: shown=%v hidden=%v", shown, hidden)
		}
	}
}

// A host pin reaches every client; only the admin token or this burst's
// stream key may pin; a reconnecting client finds the pinned card in its
// welcome; a host hide takes it down.
func TestHostPinAndReconnect(t *testing.T) {
	e := newEnv(t, live.Config{})
	c := e.card(600, 120, nil)
	other, otherKey, err := e.drops.CreateBurst(t.Context(), e.drop.ID, drops.BurstInput{Title: "Other",
		Kind: drops.KindCollab, ScheduledAt: time.Now().Add(time.Hour)})
	must(t, err)
	_ = other

	if st, _ := e.post(e.cardPath(c.ID, "show"), string(e.key)); st != http.StatusConflict {
		t.Fatalf("pin before live: status %d, want 409", st)
	}
	a, b := e.dial(e.wsPath(), nil), e.dial(e.wsPath(), nil)
	a.next(live.TypeWelcome, 5*time.Second)
	b.next(live.TypeWelcome, 5*time.Second)
	e.goLive(time.Now())

	for _, tc := range []struct {
		name, token string
		want        int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"wrong token", "not-a-key", http.StatusUnauthorized},
		{"other burst's key", string(otherKey), http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if st, body := e.post(e.cardPath(c.ID, "show"), tc.token); st != tc.want {
				t.Fatalf("status %d (%s), want %d", st, body, tc.want)
			}
		})
	}
	if st, _ := e.post(e.cardPath(999999, "show"), string(e.key)); st != http.StatusNotFound {
		t.Fatalf("pin of unknown card: %d, want 404", st)
	}
	st, body := e.post(e.cardPath(c.ID, "show"), string(e.key))
	if st != http.StatusOK {
		t.Fatalf("pin: status %d: %s", st, body)
	}
	var ev struct {
		Kind, Source string
		CardID       string `json:"card_id"`
		OffsetMS     *int64 `json:"offset_ms"`
	}
	must(t, json.Unmarshal(body, &ev))
	if ev.Kind != "show" || ev.Source != "pin" || ev.CardID != strconv.FormatInt(c.ID, 10) || ev.OffsetMS == nil {
		t.Fatalf("pin answer = %s", body)
	}
	for _, cl := range []*client{a, b} {
		m := cl.next(live.TypeCardShow, 5*time.Second)
		if cardID(t, m) != c.ID || m["card"].(map[string]any)["pinned"] != true {
			t.Fatalf("pin message = %v", m)
		}
	}

	// Reconnect: the card is in the welcome.
	r := e.dial(e.wsPath(), nil)
	w := r.next(live.TypeWelcome, 5*time.Second)
	cards := w["cards"].([]any)
	if len(cards) != 1 || cards[0].(map[string]any)["id"] != strconv.FormatInt(c.ID, 10) {
		t.Fatalf("welcome cards = %v", cards)
	}
	if w["media_time_ms"] == nil || w["burst"].(map[string]any)["state"] != "live" {
		t.Fatalf("welcome = %v", w)
	}

	if st, body := e.post(e.cardPath(c.ID, "hide"), adminToken); st != http.StatusOK {
		t.Fatalf("hide: %d %s", st, body)
	}
	for _, cl := range []*client{a, b, r} {
		cl.next(live.TypeCardHide, 5*time.Second)
	}
	if st, _ := e.post(e.cardPath(c.ID, "hide"), adminToken); st != http.StatusConflict {
		t.Fatalf("hide of a hidden card: %d, want 409", st)
	}
	evs, err := e.reg.Timeline(t.Context(), e.burst.ID)
	must(t, err)
	if len(evs) != 2 || evs[0].Source != live.SourcePin || evs[1].Kind != live.KindHide {
		t.Fatalf("timeline = %+v", evs)
	}
}

// Identity: ?shopper= is honoured, a forged token gets a fresh identity,
// two tabs of one shopper count as one viewer, and the cookie is set on the
// upgrade response.
func TestShopperIdentityAndViewers(t *testing.T) {
	e := newEnv(t, live.Config{ViewersInterval: 100 * time.Millisecond})
	id, token, err := e.signer.New()
	must(t, err)
	tab1 := e.dial(e.wsPath()+"?shopper="+string(token), nil)
	if w := tab1.next(live.TypeWelcome, 5*time.Second); w.str("shopper") != string(id) {
		t.Fatalf("welcome shopper = %v, want %s", w["shopper"], id)
	}
	tab2 := e.dial(e.wsPath()+"?shopper="+string(token), nil)
	tab2.next(live.TypeWelcome, 5*time.Second)
	forged := e.dial(e.wsPath()+"?shopper="+string(id)+".forged", nil)
	fw := forged.next(live.TypeWelcome, 5*time.Second)
	if fw.str("shopper") == string(id) || fw.str("shopper") == "" {
		t.Fatalf("forged token got shopper %v", fw["shopper"])
	}
	if len(forged.resp.Header.Values("Set-Cookie")) == 0 {
		t.Fatal("fresh identity without Set-Cookie on the 101 response")
	}
	host := e.dial(e.wsPath()+"?role=host&host_token="+string(e.key), nil)
	if w := host.next(live.TypeWelcome, 5*time.Second); w["host"] != true {
		t.Fatalf("host welcome = %v", w)
	}
	// Two distinct shoppers (tabs of one count once; the host not at all).
	waitViewers := func(cl *client, want float64) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			m, ok := cl.tryNext(live.TypeViewers, time.Until(deadline))
			if ok && m["viewers"].(float64) == want {
				return
			}
		}
		t.Fatalf("viewers never reached %v", want)
	}
	waitViewers(tab1, 2)
	forged.ws.Close()
	waitViewers(tab2, 1)

	if _, err := e.tryDial(e.wsPath()+"?role=host&host_token=wrong", nil); err == nil {
		t.Fatal("host with a wrong token connected")
	}
}

// Stock changes are coalesced per variant: a burst of changes yields at most
// one message per StockInterval, and the last value always arrives.
func TestStockCoalesced(t *testing.T) {
	const every = 200 * time.Millisecond
	e := newEnv(t, live.Config{StockInterval: every})
	cl := e.dial(e.wsPath(), nil)
	cl.next(live.TypeWelcome, 5*time.Second)
	v := e.product.Variants[0].ID
	start := time.Now()
	for i := 100; i > 0; i-- {
		e.bus.Publish(events.StockChanged{DropID: e.drop.ID, VariantID: v, Available: i})
		if i%10 == 0 {
			time.Sleep(10 * time.Millisecond) // spread the changes over about 100 ms of a real sale
		}
	}
	e.bus.Publish(events.StockChanged{DropID: e.drop.ID + 1000, VariantID: v, Available: 77}) // another drop
	var got []float64
	for {
		m, ok := cl.tryNext(live.TypeStock, 3*every)
		if !ok {
			break
		}
		if m.str("variant") != strconv.FormatInt(v, 10) {
			t.Fatalf("stock for variant %v", m["variant"])
		}
		got = append(got, m["available"].(float64))
	}
	elapsed := time.Since(start)
	if len(got) == 0 || got[len(got)-1] != 1 {
		t.Fatalf("stock messages %v: want the last value 1", got)
	}
	if maxMsgs := int(elapsed/every) + 2; len(got) > maxMsgs || len(got) > 5 {
		t.Fatalf("%d stock messages in %v (%v): not coalesced", len(got), elapsed, got)
	}
}

// Lifecycle: ending carries ends_at; ended takes the cards down (recorded
// as the end) and announces the final state.
func TestBurstLifecycle(t *testing.T) {
	e := newEnv(t, live.Config{})
	c := e.card(0, 300, nil)
	cl := e.dial(e.wsPath(), nil)
	cl.next(live.TypeWelcome, 5*time.Second)
	e.goLive(time.Now())
	if m := cl.next(live.TypeBurst, 5*time.Second); m.str("state") != "live" || m["ends_at"] == nil {
		t.Fatalf("burst message = %v", m)
	}
	if id := cardID(t, cl.next(live.TypeCardShow, 5*time.Second)); id != c.ID {
		t.Fatalf("card %d shown", id)
	}
	e.transition(drops.StateEnding, time.Now())
	m := cl.next(live.TypeBurst, 5*time.Second)
	if m.str("state") != "ending" || m["ends_at"] == nil {
		t.Fatalf("ending message = %v", m)
	}
	e.transition(drops.StateEnded, time.Now())
	cl.next(live.TypeCardHide, 5*time.Second)
	if m := cl.next(live.TypeBurst, 5*time.Second); m.str("state") != "ended" {
		t.Fatalf("ended message = %v", m)
	}
	evs, err := e.reg.Timeline(t.Context(), e.burst.ID)
	must(t, err)
	if len(evs) != 2 || evs[1].Source != live.SourceEnd {
		t.Fatalf("timeline = %+v", evs)
	}
	// After the end a new client sees no card and the final state.
	w := e.dial(e.wsPath(), nil).next(live.TypeWelcome, 5*time.Second)
	if len(w["cards"].([]any)) != 0 || w["burst"].(map[string]any)["state"] != "ended" {
		t.Fatalf("welcome after end = %v", w)
	}
}

// Sales go to host connections only.
func TestSaleToHosts(t *testing.T) {
	e := newEnv(t, live.Config{})
	shopperConn := e.dial(e.wsPath(), nil)
	shopperConn.next(live.TypeWelcome, 5*time.Second)
	hdr := http.Header{"Authorization": {"Bearer " + adminToken}}
	host := e.dial(e.wsPath()+"?role=host", hdr)
	host.next(live.TypeWelcome, 5*time.Second)
	e.bus.Publish(events.Sale{OrderID: 42, DropID: e.drop.ID, BurstID: e.burst.ID, CardID: 7, Amount: 3900,
		Currency: "EUR", Items: 1, At: time.Now()})
	m := host.next(live.TypeSale, 5*time.Second)
	if m.str("order") != "42" || m["amount"].(float64) != 3900 || m.str("card") != "7" {
		t.Fatalf("sale = %v", m)
	}
	if _, ok := shopperConn.tryNext(live.TypeSale, 300*time.Millisecond); ok {
		t.Fatal("a shopper received a sale")
	}
}

// A restart in the middle of a burst loses no card: the new hub restores
// what the timeline says is up (without recording it twice), and a
// scheduled card that is due shows once, not again after the restart.
func TestRestartRestoresCards(t *testing.T) {
	e := newEnv(t, live.Config{})
	scheduled := e.card(0, 600, nil)
	pinned := e.card(500, 60, nil)
	cl := e.dial(e.wsPath(), nil)
	cl.next(live.TypeWelcome, 5*time.Second)
	e.goLive(time.Now().Add(-5 * time.Second))
	cl.next(live.TypeCardShow, 5*time.Second)
	if st, body := e.post(e.cardPath(pinned.ID, "show"), adminToken); st != http.StatusOK {
		t.Fatalf("pin: %d %s", st, body)
	}
	cl.next(live.TypeCardShow, 5*time.Second)

	e.stop()
	if ce := cl.closeErr(5 * time.Second); ce.Code != 1001 {
		t.Fatalf("close at shutdown = %v, want 1001", ce)
	}
	e.start()
	w := e.dial(e.wsPath(), nil).next(live.TypeWelcome, 5*time.Second)
	cards := w["cards"].([]any)
	got := map[string]bool{}
	for _, c := range cards {
		got[c.(map[string]any)["id"].(string)] = true
	}
	if len(cards) != 2 || !got[strconv.FormatInt(scheduled.ID, 10)] || !got[strconv.FormatInt(pinned.ID, 10)] {
		t.Fatalf("welcome cards after restart = %v", cards)
	}
	evs, err := e.reg.Timeline(t.Context(), e.burst.ID)
	must(t, err)
	if len(evs) != 2 {
		t.Fatalf("timeline after restart = %+v, want the two original shows", evs)
	}
}

// A card for one variant offers only that variant, with its live stock; a
// reconnecting client sees stock changed since the card went up.
func TestVariantCardStock(t *testing.T) {
	e := newEnv(t, live.Config{})
	v := e.product.Variants[1] // M, 5 in stock
	c, err := e.drops.CreateCard(t.Context(), e.burst.ID, drops.CardInput{ProductID: e.product.ID, VariantID: &v.ID,
		OffsetS: 0, DurationS: 300})
	must(t, err)
	cl := e.dial(e.wsPath(), nil)
	cl.next(live.TypeWelcome, 5*time.Second)
	e.goLive(time.Now())
	m := cl.next(live.TypeCardShow, 5*time.Second)
	vs := m["card"].(map[string]any)["variants"].([]any)
	if cardID(t, m) != c.ID || len(vs) != 1 || vs[0].(map[string]any)["id"] != strconv.FormatInt(v.ID, 10) ||
		vs[0].(map[string]any)["available"].(float64) != 5 {
		t.Fatalf("card = %v", m)
	}
	e.bus.Publish(events.StockChanged{DropID: e.drop.ID, VariantID: v.ID, Available: 2})
	if s := cl.next(live.TypeStock, 5*time.Second); s["available"].(float64) != 2 {
		t.Fatalf("stock = %v", s)
	}
	w := e.dial(e.wsPath(), nil).next(live.TypeWelcome, 5*time.Second)
	wv := w["cards"].([]any)[0].(map[string]any)["variants"].([]any)[0].(map[string]any)
	if wv["available"].(float64) != 2 {
		t.Fatalf("welcome variant = %v, want available 2", wv)
	}
}

// A rush on several variants reaches shoppers as one batch per interval:
// the first change at once, then each variant's latest value together when
// the interval is over, in variant order.
func TestStockBatchedAcrossVariants(t *testing.T) {
	const every = 300 * time.Millisecond
	e := newEnv(t, live.Config{StockInterval: every})
	cl := e.dial(e.wsPath(), nil)
	cl.next(live.TypeWelcome, 5*time.Second)
	vs := e.product.Variants
	e.bus.Publish(events.StockChanged{DropID: e.drop.ID, VariantID: vs[0].ID, Available: 9})
	first := cl.next(live.TypeStock, 5*time.Second)
	firstAt := time.Now()
	if first.str("variant") != strconv.FormatInt(vs[0].ID, 10) || first["available"].(float64) != 9 {
		t.Fatalf("first stock message %v, want variant %d at 9", first, vs[0].ID)
	}
	for i := 8; i >= 4; i-- {
		for _, v := range vs {
			e.bus.Publish(events.StockChanged{DropID: e.drop.ID, VariantID: v.ID, Available: i})
		}
	}
	var got []string
	for range vs {
		m := cl.next(live.TypeStock, 5*time.Second)
		got = append(got, fmt.Sprintf("%s=%v", m.str("variant"), m["available"]))
	}
	if wait := time.Since(firstAt); wait < every-50*time.Millisecond {
		t.Errorf("second batch %v after the first, want about the interval %v", wait, every)
	}
	var want []string
	for _, v := range vs {
		want = append(want, fmt.Sprintf("%d=4", v.ID))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("batch %v, want each variant's latest value in order %v", got, want)
	}
	if m, ok := cl.tryNext(live.TypeStock, 2*every); ok {
		t.Fatalf("stock message %v after the batch, want none", m)
	}
}
