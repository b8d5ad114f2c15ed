package live_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dropcast/dropcast/catalog"
	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/events"
	"github.com/dropcast/dropcast/live"
	"github.com/dropcast/dropcast/store/storetest"
)

// The run-of-show on the bubble's fake clock: with real minute-long offsets,
// every card goes up and comes down at exactly live_at + offset (+ duration),
// and the ending/ended lifecycle takes the rest down, in no real time.
func TestScheduleOnFakeClock(t *testing.T) {
	_, dbURL := storetest.NewWithURL(t)
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		pool, err := pgxpool.New(ctx, dbURL)
		must(t, err)
		defer pool.Close()
		ds, cs, bus := drops.NewService(pool, nil), catalog.NewService(pool), events.NewBus()
		now := time.Now()
		d, err := ds.CreateDrop(ctx, drops.DropInput{Slug: "fake", Title: "Fake", StartsAt: now.Add(-time.Hour),
			EndsAt: now.Add(24 * time.Hour), Currency: "USD"})
		must(t, err)
		p, err := cs.CreateProduct(ctx, d.ID, catalog.ProductInput{Title: "Cap",
			Variants: []catalog.VariantInput{{SKU: "CAP", Label: "One size", Price: 2500, Stock: 3}}})
		must(t, err)
		b, _, err := ds.CreateBurst(ctx, d.ID, drops.BurstInput{Title: "B", Kind: drops.KindCollab, ScheduledAt: now.Add(time.Hour)})
		must(t, err)
		first, err := ds.CreateCard(ctx, b.ID, drops.CardInput{ProductID: p.ID, OffsetS: 60, DurationS: 120})
		must(t, err)
		second, err := ds.CreateCard(ctx, b.ID, drops.CardInput{ProductID: p.ID, OffsetS: 300, DurationS: 600})
		must(t, err)

		reg, err := live.NewRegistry(live.Config{}, live.Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Bus: bus, Drops: ds, Catalog: cs, DB: pool})
		must(t, err)
		sub := bus.Subscribe(64, events.ForBurst(b.ID))
		defer sub.Close()
		done := make(chan error, 1)
		go func() { done <- reg.Run(ctx) }()

		// Live 10 minutes after the scheduled start would have been irrelevant:
		// offsets count from here.
		time.Sleep(10 * time.Minute)
		liveAt := time.Now()
		lb, err := ds.Transition(ctx, b.ID, drops.StateLive, liveAt)
		must(t, err)
		bus.Publish(events.BurstState{BurstID: b.ID, DropID: d.ID, State: "live", At: liveAt, LiveAt: liveAt, EndsAt: lb.Deadline()})

		expect := func(card int64, shown bool, at time.Duration) {
			t.Helper()
			for e := range sub.C {
				switch e := e.(type) {
				case events.CardShown:
					if !shown || e.CardID != card {
						t.Fatalf("card %d shown at %v, want %v of card %d (shown=%v)", e.CardID, e.Offset, at, card, shown)
					}
				case events.CardHidden:
					if shown || e.CardID != card {
						t.Fatalf("card %d hidden at %v, want %v of card %d (shown=%v)", e.CardID, e.Offset, at, card, shown)
					}
				default:
					continue
				}
				if got := time.Since(liveAt); got != at {
					t.Fatalf("card %d (shown=%v) at %v after live, want exactly %v", card, shown, got, at)
				}
				return
			}
		}
		expect(first.ID, true, time.Minute)
		expect(first.ID, false, 3*time.Minute)
		expect(second.ID, true, 5*time.Minute)

		time.Sleep(9*time.Minute - time.Since(liveAt)) // one minute before the 15-minute limit
		bus.Publish(events.BurstState{BurstID: b.ID, DropID: d.ID, State: "ending", At: time.Now(), LiveAt: liveAt, EndsAt: liveAt.Add(10 * time.Minute)})
		time.Sleep(time.Minute)
		_, err = ds.Transition(ctx, b.ID, drops.StateEnded, time.Now())
		must(t, err)
		bus.Publish(events.BurstState{BurstID: b.ID, DropID: d.ID, State: "ended", At: time.Now(), LiveAt: liveAt})
		expect(second.ID, false, 10*time.Minute)

		evs, err := reg.Timeline(ctx, b.ID)
		must(t, err)
		want := []struct {
			kind, source string
			offset       time.Duration
		}{
			{"show", "schedule", time.Minute}, {"hide", "schedule", 3 * time.Minute},
			{"show", "schedule", 5 * time.Minute}, {"hide", "end", 10 * time.Minute},
		}
		if len(evs) != len(want) {
			t.Fatalf("timeline = %+v", evs)
		}
		for i, w := range want {
			if evs[i].Kind != w.kind || evs[i].Source != w.source || evs[i].Offset != w.offset {
				t.Fatalf("timeline[%d] = %+v, want %+v", i, evs[i], w)
			}
		}
		cancel()
		must(t, <-done)
	})
}
