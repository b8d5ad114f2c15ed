// Package kpi keeps and reports the figures a label reads after a drop: who
// watched each burst live and on replay, the peak audience, how each card
// sold while it was up and afterwards (second-chance sales from the replay),
// and sell-through per variant.
//
// The Tracker collects audience figures in memory from the hot paths (a
// channel join, a viewer-count change) and writes them in batches, so a rush
// of joins costs one statement per flush, not one per shopper. The reports
// (Reports) are computed from the database on request.
package kpi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dropcast/dropcast/events"
)

// Mode is how a shopper came to a burst.
type Mode string

const (
	// ModeLive is a join before the burst ended (waiting room or live).
	ModeLive Mode = "live"
	// ModeReplay is a join after the end, from the replay page.
	ModeReplay Mode = "replay"
)

// DefaultFlushInterval is how often pending audience figures are written.
const DefaultFlushInterval = 2 * time.Second

// maxPending bounds the joins held between flushes (each ~100 bytes); past
// it new shoppers are counted as dropped until the next flush succeeds.
const maxPending = 200_000

type audienceKey struct {
	burstID int64
	mode    Mode
	shopper string
}

type visit struct {
	first, last time.Time
	visits      int
}

type peak struct {
	n  int
	at time.Time
}

// Tracker batches audience figures into PostgreSQL. Seen may be called from
// any goroutine; Run owns the flushing.
type Tracker struct {
	pool     *pgxpool.Pool
	sub      *events.Subscription
	log      *slog.Logger
	interval time.Duration

	mu      sync.Mutex
	pending map[audienceKey]visit
	peaks   map[int64]peak
	dropped int64
}

// NewTracker returns a Tracker writing to pool every interval (0: the
// default) and following viewer counts on bus from now on (Run reads them).
func NewTracker(pool *pgxpool.Pool, bus *events.Bus, log *slog.Logger, interval time.Duration) *Tracker {
	if interval <= 0 {
		interval = DefaultFlushInterval
	}
	sub := bus.Subscribe(1024, func(e events.Event) bool { _, ok := e.(events.Viewers); return ok })
	return &Tracker{pool: pool, sub: sub, log: log, interval: interval,
		pending: make(map[audienceKey]visit), peaks: make(map[int64]peak)}
}

// Seen records that shopper joined burstID's channel at at.
func (t *Tracker) Seen(burstID int64, shopper string, mode Mode, at time.Time) {
	k := audienceKey{burstID: burstID, mode: mode, shopper: shopper}
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.pending[k]
	if !ok {
		if len(t.pending) >= maxPending {
			t.dropped++
			return
		}
		v.first = at
	}
	v.last = at
	v.visits++
	t.pending[k] = v
}

// viewers notes a live viewer count; only the highest since the last flush
// is kept.
func (t *Tracker) viewers(e events.Viewers) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p, ok := t.peaks[e.BurstID]; !ok || e.Count > p.n {
		t.peaks[e.BurstID] = peak{n: e.Count, at: e.At}
	}
}

// Run follows viewer counts and flushes every interval until ctx is done,
// then flushes once more (bounded) so that a clean shutdown loses nothing,
// and stops following the bus. Call it once.
func (t *Tracker) Run(ctx context.Context) error {
	sub := t.sub
	defer sub.Close()
	tick := time.NewTicker(t.interval)
	defer tick.Stop()
	for {
		select {
		case e := <-sub.C:
			t.viewers(e.(events.Viewers))
		case <-tick.C:
			if err := t.Flush(ctx); err != nil && ctx.Err() == nil {
				t.log.Warn("kpi flush", "err", err)
			}
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := t.Flush(fctx); err != nil {
				return fmt.Errorf("final kpi flush: %w", err)
			}
			return nil
		}
	}
}

// Flush writes what is pending. On failure the figures are put back (unless
// newer ones took their place) for the next try.
func (t *Tracker) Flush(ctx context.Context) error {
	t.mu.Lock()
	pending, peaks, dropped := t.pending, t.peaks, t.dropped
	t.pending, t.peaks, t.dropped = make(map[audienceKey]visit, len(pending)), make(map[int64]peak), 0
	t.mu.Unlock()
	if dropped > 0 {
		t.log.Warn("kpi: audience joins dropped while the database lagged", "dropped", dropped)
	}
	err := errors.Join(t.writeAudience(ctx, pending), t.writePeaks(ctx, peaks))
	if err != nil {
		t.mu.Lock()
		for k, v := range pending {
			if now, ok := t.pending[k]; ok {
				v.last, v.visits = now.last, v.visits+now.visits
			}
			if len(t.pending) < maxPending {
				t.pending[k] = v
			}
		}
		for id, p := range peaks {
			if now, ok := t.peaks[id]; !ok || p.n > now.n {
				t.peaks[id] = p
			}
		}
		t.mu.Unlock()
	}
	return err
}

func (t *Tracker) writeAudience(ctx context.Context, pending map[audienceKey]visit) error {
	if len(pending) == 0 {
		return nil
	}
	n := len(pending)
	bursts, modes, shoppers := make([]int64, 0, n), make([]string, 0, n), make([]string, 0, n)
	firsts, lasts, visits := make([]time.Time, 0, n), make([]time.Time, 0, n), make([]int32, 0, n)
	for k, v := range pending {
		bursts, modes, shoppers = append(bursts, k.burstID), append(modes, string(k.mode)), append(shoppers, k.shopper)
		firsts, lasts, visits = append(firsts, v.first), append(lasts, v.last), append(visits, int32(v.visits))
	}
	// Bursts deleted meanwhile are skipped (the join), not an error.
	_, err := t.pool.Exec(ctx, `
		INSERT INTO burst_audience (burst_id, mode, shopper_id, first_seen, last_seen, visits)
		SELECT u.burst_id, u.mode, u.shopper_id, u.first_seen, u.last_seen, u.visits
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::int[])
		     AS u(burst_id, mode, shopper_id, first_seen, last_seen, visits)
		JOIN bursts b ON b.id = u.burst_id
		ON CONFLICT (burst_id, mode, shopper_id) DO UPDATE SET
		    first_seen = least(burst_audience.first_seen, excluded.first_seen),
		    last_seen = greatest(burst_audience.last_seen, excluded.last_seen),
		    visits = burst_audience.visits + excluded.visits`,
		bursts, modes, shoppers, firsts, lasts, visits)
	if err != nil {
		return fmt.Errorf("write audience: %w", err)
	}
	return nil
}

func (t *Tracker) writePeaks(ctx context.Context, peaks map[int64]peak) error {
	if len(peaks) == 0 {
		return nil
	}
	ids, ns, ats := make([]int64, 0, len(peaks)), make([]int32, 0, len(peaks)), make([]time.Time, 0, len(peaks))
	for id, p := range peaks {
		ids, ns, ats = append(ids, id), append(ns, int32(p.n)), append(ats, p.at)
	}
	// The counts are the live audience's (events.Viewers): the replay's is
	// reported apart.
	_, err := t.pool.Exec(ctx, `
		INSERT INTO burst_peaks (burst_id, peak_viewers, peak_at)
		SELECT u.burst_id, u.n, u.at
		FROM unnest($1::bigint[], $2::int[], $3::timestamptz[]) AS u(burst_id, n, at)
		JOIN bursts b ON b.id = u.burst_id
		ON CONFLICT (burst_id) DO UPDATE SET peak_viewers = excluded.peak_viewers, peak_at = excluded.peak_at
		WHERE excluded.peak_viewers > burst_peaks.peak_viewers`, ids, ns, ats)
	if err != nil {
		return fmt.Errorf("write peaks: %w", err)
	}
	return nil
}
