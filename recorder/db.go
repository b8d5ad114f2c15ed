package recorder

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dropcast/dropcast/store"
)

// DB keeps the recordings and clips tables.
type DB struct {
	pool *pgxpool.Pool
}

// NewDB returns the recorder's tables on pool.
func NewDB(pool *pgxpool.Pool) *DB { return &DB{pool: pool} }

// Recording is one part file of a burst's recording.
type Recording struct {
	ID         int64     `json:"id,string"`
	BurstID    int64     `json:"burst_id,string"`
	Part       int       `json:"part"`
	Path       string    `json:"path"`
	Codecs     string    `json:"codecs"`
	StartedAt  time.Time `json:"started_at"`
	DurationMS int64     `json:"duration_ms"`
	Bytes      int64     `json:"bytes"`
	State      string    `json:"state"`
	UpdatedAt  time.Time `json:"updated_at"`
}

const recordingCols = `id, burst_id, part, path, codecs, started_at, duration_ms, bytes, state, updated_at`

func scanRecording(row pgx.Row) (Recording, error) {
	var r Recording
	err := row.Scan(&r.ID, &r.BurstID, &r.Part, &r.Path, &r.Codecs, &r.StartedAt, &r.DurationMS, &r.Bytes, &r.State, &r.UpdatedAt)
	return r, err
}

func (d *DB) startPart(ctx context.Context, burstID int64, n int, key string, startedAt time.Time, codecs string) (int64, error) {
	var id int64
	err := d.pool.QueryRow(ctx, `
		INSERT INTO recordings (burst_id, part, path, codecs, started_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (burst_id, part) DO UPDATE
		SET path = EXCLUDED.path, codecs = EXCLUDED.codecs, started_at = EXCLUDED.started_at,
		    state = 'recording', duration_ms = 0, bytes = 0, updated_at = now()
		RETURNING id`, burstID, n, key, codecs, startedAt).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("insert recording part %d of burst %d: %w", n, burstID, err)
	}
	return id, nil
}

func (d *DB) finishPart(ctx context.Context, id int64, dur time.Duration, bytes int64, state string) error {
	_, err := d.pool.Exec(ctx, `
		UPDATE recordings SET duration_ms = $2, bytes = $3, state = $4, updated_at = now() WHERE id = $1`,
		id, dur.Milliseconds(), bytes, state)
	if err != nil {
		return fmt.Errorf("update recording %d: %w", id, err)
	}
	return nil
}

// Recordings lists a burst's parts in order.
func (d *DB) Recordings(ctx context.Context, burstID int64) ([]Recording, error) {
	return d.recordings(ctx, `WHERE burst_id = $1 ORDER BY part`, burstID)
}

// unfinished lists parts still marked recording (left by a crash).
func (d *DB) unfinished(ctx context.Context) ([]Recording, error) {
	return d.recordings(ctx, `WHERE state = 'recording' ORDER BY id`)
}

func (d *DB) recordings(ctx context.Context, where string, args ...any) ([]Recording, error) {
	rows, err := d.pool.Query(ctx, `SELECT `+recordingCols+` FROM recordings `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list recordings: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Recording, error) { return scanRecording(row) })
	if err != nil {
		return nil, fmt.Errorf("list recordings: %w", err)
	}
	return out, nil
}

// Clip is a short cut of a burst's recording, with the products it shows.
type Clip struct {
	ID         int64     `json:"id,string"`
	BurstID    int64     `json:"burst_id,string"`
	Kind       string    `json:"kind"`
	Label      string    `json:"label"`
	FromS      float64   `json:"from_s"`
	ToS        float64   `json:"to_s"`
	Path       string    `json:"path"`
	Bytes      int64     `json:"bytes"`
	CardID     *int64    `json:"card_id,string"`
	ProductIDs []string  `json:"product_ids"`
	CreatedAt  time.Time `json:"created_at"`
}

// Clip kinds.
const (
	ClipManual = "manual"
	ClipSnap   = "snap"
	ClipCut    = "cut"
	ClipHero   = "hero"
)

const clipSelect = `
	SELECT c.id, c.burst_id, c.kind, c.label, c.from_ms, c.to_ms, c.path, c.bytes, c.card_id, c.created_at,
	       coalesce(array_agg(cp.product_id::text ORDER BY cp.product_id) FILTER (WHERE cp.product_id IS NOT NULL), '{}')
	FROM clips c LEFT JOIN clip_products cp ON cp.clip_id = c.id `

func scanClip(row pgx.Row) (Clip, error) {
	var c Clip
	var from, to int64
	err := row.Scan(&c.ID, &c.BurstID, &c.Kind, &c.Label, &from, &to, &c.Path, &c.Bytes, &c.CardID, &c.CreatedAt, &c.ProductIDs)
	c.FromS, c.ToS = float64(from)/1000, float64(to)/1000
	return c, err
}

// insertClip stores a cut clip and its product links. It returns
// errDuplicateProposal when the same proposal exists already.
func (d *DB) insertClip(ctx context.Context, c Clip, products []int64) (Clip, error) {
	var id int64
	err := store.InTx(ctx, d.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `
			INSERT INTO clips (burst_id, kind, label, from_ms, to_ms, path, bytes, card_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			c.BurstID, c.Kind, c.Label, int64(c.FromS*1000+0.5), int64(c.ToS*1000+0.5), c.Path, c.Bytes, c.CardID).Scan(&id)
		if err != nil {
			return err
		}
		for _, p := range products {
			if _, err := tx.Exec(ctx, `INSERT INTO clip_products (clip_id, product_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, id, p); err != nil {
				return err
			}
		}
		return nil
	})
	if store.IsCode(err, store.CodeUniqueViolation, "clips_proposal_key") {
		return Clip{}, errDuplicateProposal
	}
	if err != nil {
		return Clip{}, fmt.Errorf("insert clip of burst %d: %w", c.BurstID, err)
	}
	return d.Clip(ctx, id)
}

var errDuplicateProposal = errors.New("clip proposal exists")

// Clip returns one clip, or ErrClipNotFound.
func (d *DB) Clip(ctx context.Context, id int64) (Clip, error) {
	c, err := scanClip(d.pool.QueryRow(ctx, clipSelect+`WHERE c.id = $1 GROUP BY c.id`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Clip{}, ErrClipNotFound
	}
	if err != nil {
		return Clip{}, fmt.Errorf("get clip %d: %w", id, err)
	}
	return c, nil
}

// Clips lists a burst's clips by position.
func (d *DB) Clips(ctx context.Context, burstID int64) ([]Clip, error) {
	rows, err := d.pool.Query(ctx, clipSelect+`WHERE c.burst_id = $1 GROUP BY c.id ORDER BY c.from_ms, c.id`, burstID)
	if err != nil {
		return nil, fmt.Errorf("list clips: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Clip, error) { return scanClip(row) })
	if err != nil {
		return nil, fmt.Errorf("list clips: %w", err)
	}
	return out, nil
}

// setRepaired records the outcome of repairing an unfinished part.
func (d *DB) setRepaired(ctx context.Context, id int64, dur time.Duration, bytes int64, state string) error {
	return d.finishPart(ctx, id, dur, bytes, state)
}
