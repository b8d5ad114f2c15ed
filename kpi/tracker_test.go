package kpi_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/events"
	"github.com/dropcast/dropcast/kpi"
	"github.com/dropcast/dropcast/store/storetest"
)

func newBurst(t *testing.T, ds *drops.Service, slug string) drops.Burst {
	t.Helper()
	now := time.Now()
	d, err := ds.CreateDrop(t.Context(), drops.DropInput{Slug: slug, Title: slug, StartsAt: now.Add(-time.Hour), EndsAt: now.Add(time.Hour), Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := ds.CreateBurst(t.Context(), d.ID, drops.BurstInput{Title: "B", Kind: drops.KindHeadline, ScheduledAt: now})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTrackerAudience checks that joins are merged per shopper and mode
// across flushes, that joins for a deleted burst are skipped without
// failing the others, and that a failed flush keeps its figures for the next.
func TestTrackerAudience(t *testing.T) {
	pool := storetest.New(t)
	ds := drops.NewService(pool, nil)
	reports := kpi.NewReports(pool, ds)
	b := newBurst(t, ds, "aud")
	gone := newBurst(t, ds, "gone")
	tr := kpi.NewTracker(pool, events.NewBus(), slog.New(slog.NewTextHandler(io.Discard, nil)), time.Hour)
	at := time.Now()
	for _, s := range []string{"ana", "ana", "bo"} {
		tr.Seen(b.ID, s, kpi.ModeLive, at)
	}
	tr.Seen(b.ID, "ana", kpi.ModeReplay, at)
	tr.Seen(gone.ID, "cy", kpi.ModeLive, at)
	if _, err := pool.Exec(t.Context(), `DELETE FROM drops WHERE id = $1`, gone.DropID); err != nil {
		t.Fatal(err)
	}
	if err := tr.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}

	// A flush that cannot reach the database keeps what it had.
	tr.Seen(b.ID, "cy", kpi.ModeLive, at.Add(time.Second))
	tr.Seen(b.ID, "ana", kpi.ModeLive, at.Add(time.Second))
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	if err := tr.Flush(cancelled); err == nil {
		t.Fatal("flush with a cancelled context succeeded")
	}
	if err := tr.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}

	rep, err := reports.Burst(t.Context(), b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Audience.LiveShoppers != 3 || rep.Audience.ReplayShoppers != 1 {
		t.Errorf("audience %+v, want 3 live (ana, bo, cy) and 1 replay", rep.Audience)
	}
	var visits int
	if err := pool.QueryRow(t.Context(), `SELECT visits FROM burst_audience WHERE burst_id = $1 AND mode = 'live' AND shopper_id = 'ana'`, b.ID).Scan(&visits); err != nil {
		t.Fatal(err)
	}
	if visits != 3 {
		t.Errorf("ana's live visits %d, want 3 (two, then one kept through a failed flush)", visits)
	}
}

// TestTrackerPeaks checks that the live viewer counts on the bus make the
// burst's peak, and that a lower count never replaces a higher one.
func TestTrackerPeaks(t *testing.T) {
	pool := storetest.New(t)
	ds := drops.NewService(pool, nil)
	reports := kpi.NewReports(pool, ds)
	b := newBurst(t, ds, "peak")
	bus := events.NewBus()
	tr := kpi.NewTracker(pool, bus, slog.New(slog.NewTextHandler(io.Discard, nil)), 10*time.Millisecond)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	peak := func() int {
		t.Helper()
		rep, err := reports.Burst(t.Context(), b.ID)
		if err != nil {
			t.Fatal(err)
		}
		return rep.Audience.PeakViewers
	}
	waitPeak := func(want int) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); peak() != want; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("peak %d, want %d", peak(), want)
			}
		}
	}

	bus.Publish(events.Viewers{BurstID: b.ID, Count: 12, At: time.Now()})
	waitPeak(12)
	bus.Publish(events.Viewers{BurstID: b.ID, Count: 30, At: time.Now()})
	waitPeak(30)
	bus.Publish(events.Viewers{BurstID: b.ID, Count: 5, At: time.Now()})
	time.Sleep(50 * time.Millisecond)
	if p := peak(); p != 30 {
		t.Fatalf("peak %d after a lower count, want 30", p)
	}
}
