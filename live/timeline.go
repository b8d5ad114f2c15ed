package live

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dropcast/dropcast/store"
)

// Timeline event kinds.
const (
	KindShow = "show"
	KindHide = "hide"
)

// Timeline event sources: the run-of-show, a host's live pin or hide, or the
// burst's end taking every card down.
const (
	SourceSchedule = "schedule"
	SourcePin      = "pin"
	SourceEnd      = "end"
)

// TimelineEvent is one card going up or coming down in a burst. At is the
// wall-clock time, Offset the time since the burst's live start (the media
// time a replay seeks to). EndsAt is when a shown card comes down by itself
// (nil for hides).
type TimelineEvent struct {
	ID      int64         `json:"id,string"`
	BurstID int64         `json:"burst_id,string"`
	CardID  int64         `json:"card_id,string"`
	Kind    string        `json:"kind"`
	Source  string        `json:"source"`
	At      time.Time     `json:"at"`
	Offset  time.Duration `json:"-"`
	EndsAt  *time.Time    `json:"ends_at"`
}

// OffsetMS is Offset in milliseconds, as stored and as sent to clients.
func (e TimelineEvent) OffsetMS() int64 { return millis(e.Offset) }

// MarshalJSON adds "offset_ms" (the media time) to the event's fields.
func (e TimelineEvent) MarshalJSON() ([]byte, error) {
	type plain TimelineEvent
	return json.Marshal(struct {
		plain
		OffsetMS int64 `json:"offset_ms"`
	}{plain(e), e.OffsetMS()})
}

// Timeline stores and reads burst card timelines in PostgreSQL. It is safe
// for concurrent use; the recorder, replay and KPIs build their own with
// NewTimeline on the app's pool.
type Timeline struct {
	db store.DBTX
}

// NewTimeline returns a Timeline on db (a pool, a connection or a transaction).
func NewTimeline(db store.DBTX) *Timeline { return &Timeline{db: db} }

// Record stores e and returns it with its id. The offset is clamped at zero
// (a pin a moment before live start is at the start).
func (t *Timeline) Record(ctx context.Context, e TimelineEvent) (TimelineEvent, error) {
	if e.Offset < 0 {
		e.Offset = 0
	}
	err := t.db.QueryRow(ctx, `
		INSERT INTO card_events (burst_id, card_id, kind, source, at, offset_ms, ends_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		e.BurstID, e.CardID, e.Kind, e.Source, e.At, e.OffsetMS(), e.EndsAt).Scan(&e.ID)
	if err != nil {
		return TimelineEvent{}, fmt.Errorf("record card %d %s in burst %d: %w", e.CardID, e.Kind, e.BurstID, err)
	}
	return e, nil
}

// Events returns burstID's card timeline in the order it happened (empty,
// never nil, for a burst with none or an unknown burst).
func (t *Timeline) Events(ctx context.Context, burstID int64) ([]TimelineEvent, error) {
	rows, err := t.db.Query(ctx, `
		SELECT id, burst_id, card_id, kind, source, at, offset_ms, ends_at
		FROM card_events WHERE burst_id = $1 ORDER BY at, id`, burstID)
	if err != nil {
		return nil, fmt.Errorf("read timeline of burst %d: %w", burstID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TimelineEvent, error) {
		var e TimelineEvent
		var ms int64
		err := r.Scan(&e.ID, &e.BurstID, &e.CardID, &e.Kind, &e.Source, &e.At, &ms, &e.EndsAt)
		e.Offset = time.Duration(ms) * time.Millisecond
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("read timeline of burst %d: %w", burstID, err)
	}
	if out == nil {
		out = []TimelineEvent{}
	}
	return out, nil
}
