package drops

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dropcast/dropcast/apperr"
	"github.com/dropcast/dropcast/store"
)

// BurstInput creates a burst. MaxDurationS defaults to 900 (15 minutes).
type BurstInput struct {
	Title        string    `json:"title"`
	Kind         Kind      `json:"kind"`
	ScheduledAt  time.Time `json:"scheduled_at"`
	MaxDurationS int       `json:"max_duration_s"`
}

// BurstPatch changes the fields that are not nil. The schedule can change only
// while the burst is scheduled.
type BurstPatch struct {
	Title        *string    `json:"title"`
	Kind         *Kind      `json:"kind"`
	ScheduledAt  *time.Time `json:"scheduled_at"`
	MaxDurationS *int       `json:"max_duration_s"`
}

// Validate checks the input on its own; the drop's window is checked on write.
func (in *BurstInput) Validate() error {
	if err := validTitle("title", in.Title); err != nil {
		return err
	}
	if !in.Kind.Valid() {
		return apperr.InvalidField("kind", "must be one of headline, collab, community, backstage")
	}
	if in.ScheduledAt.IsZero() {
		return apperr.InvalidField("scheduled_at", "is required (RFC 3339 time)")
	}
	if in.MaxDurationS == 0 {
		in.MaxDurationS = int(DefaultMaxDuration / time.Second)
	}
	if in.MaxDurationS < 60 || in.MaxDurationS > 14400 {
		return apperr.InvalidField("max_duration_s", "must be between 60 and 14400 seconds")
	}
	return nil
}

const burstColumns = `id, drop_id, title, kind, scheduled_at, max_duration_s, state, live_at, ended_at, created_at, updated_at`

func scanBurst(row pgx.Row) (Burst, error) {
	var b Burst
	err := row.Scan(&b.ID, &b.DropID, &b.Title, &b.Kind, &b.ScheduledAt, &b.MaxDurationS, &b.State, &b.LiveAt, &b.EndedAt, &b.CreatedAt, &b.UpdatedAt)
	return b, err
}

// SecretFunc gives the secret part of a new burst's stream key once its id is
// known. RandomSecret is the one to use outside the demo.
type SecretFunc func(burstID int64) ([]byte, error)

// RandomSecret returns 32 bytes from crypto/rand.
func RandomSecret(int64) ([]byte, error) {
	b := make([]byte, secretLen)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("generate stream key: %w", err)
	}
	return b, nil
}

// StreamKeyFor returns the key that secret makes for burstID. The demo uses it
// to show keys it derived earlier; secret must be 32 bytes.
func StreamKeyFor(burstID int64, secret []byte) StreamKey {
	k, _, _ := keyFromSecret(burstID, secret)
	return k
}

// CreateBurst stores a new burst of drop dropID with a fresh stream key and
// returns both; the key is not kept and cannot be read back later. Errors:
// not_found (drop), invalid (with field).
func (s *Service) CreateBurst(ctx context.Context, dropID int64, in BurstInput) (Burst, StreamKey, error) {
	return s.CreateBurstWithSecret(ctx, dropID, in, RandomSecret)
}

// CreateBurstWithSecret is CreateBurst with the key's secret from secret.
func (s *Service) CreateBurstWithSecret(ctx context.Context, dropID int64, in BurstInput, secret SecretFunc) (Burst, StreamKey, error) {
	if err := in.Validate(); err != nil {
		return Burst{}, "", err
	}
	var (
		b   Burst
		key StreamKey
	)
	err := store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		d, err := s.getDrop(ctx, tx, dropID)
		if err != nil {
			return err
		}
		if err := inWindow(d, in.ScheduledAt); err != nil {
			return err
		}
		// The key embeds the burst id, so insert with a placeholder hash first.
		var id int64
		if err := tx.QueryRow(ctx, `
			INSERT INTO bursts (drop_id, title, kind, scheduled_at, max_duration_s, stream_key_hash)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			dropID, in.Title, in.Kind, in.ScheduledAt, in.MaxDurationS, make([]byte, 32)).Scan(&id); err != nil {
			return fmt.Errorf("insert burst: %w", err)
		}
		key, b, err = s.setKey(ctx, tx, id, secret)
		return err
	})
	if err != nil {
		return Burst{}, "", err
	}
	return b, key, nil
}

func (s *Service) setKey(ctx context.Context, tx pgx.Tx, id int64, secret SecretFunc) (StreamKey, Burst, error) {
	raw, err := secret(id)
	if err != nil {
		return "", Burst{}, err
	}
	if len(raw) != secretLen {
		return "", Burst{}, fmt.Errorf("stream key secret is %d bytes, want %d", len(raw), secretLen)
	}
	key, hash, err := keyFromSecret(id, raw)
	if err != nil {
		return "", Burst{}, err
	}
	b, err := scanBurst(tx.QueryRow(ctx, `
		UPDATE bursts SET stream_key_hash = $2, updated_at = now() WHERE id = $1 RETURNING `+burstColumns, id, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return "", Burst{}, apperr.Errorf(apperr.NotFound, "burst %d not found", id)
	}
	if err != nil {
		return "", Burst{}, fmt.Errorf("store stream key: %w", err)
	}
	return key, b, nil
}

func inWindow(d Drop, at time.Time) error {
	if at.Before(d.StartsAt) || !at.Before(d.EndsAt) {
		return apperr.InvalidField("scheduled_at", "must fall inside the drop's window %s – %s",
			d.StartsAt.UTC().Format(time.RFC3339), d.EndsAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// RotateStreamKey gives the burst a new stream key; the old one stops working
// at once. Errors: not_found.
func (s *Service) RotateStreamKey(ctx context.Context, id int64) (Burst, StreamKey, error) {
	var (
		b   Burst
		key StreamKey
	)
	err := store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		key, b, err = s.setKey(ctx, tx, id, RandomSecret)
		return err
	})
	return b, key, err
}

// Burst returns the burst with id. Errors: not_found.
func (s *Service) Burst(ctx context.Context, id int64) (Burst, error) {
	return getBurst(ctx, s.db, id, false)
}

func getBurst(ctx context.Context, db store.DBTX, id int64, forUpdate bool) (Burst, error) {
	q := `SELECT ` + burstColumns + ` FROM bursts WHERE id = $1`
	if forUpdate {
		q += ` FOR UPDATE`
	}
	b, err := scanBurst(db.QueryRow(ctx, q, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Burst{}, apperr.Errorf(apperr.NotFound, "burst %d not found", id)
	}
	if err != nil {
		return Burst{}, fmt.Errorf("read burst %d: %w", id, err)
	}
	return b, nil
}

// BurstByStreamKey returns the burst that key publishes to, comparing the
// key's hash in constant time. Errors: ErrBadStreamKey for a malformed or
// unknown key.
func (s *Service) BurstByStreamKey(ctx context.Context, key string) (Burst, error) {
	id, hash, err := ParseStreamKey(key)
	if err != nil {
		return Burst{}, err
	}
	var stored []byte
	b, err := scanBurstWithHash(s.db.QueryRow(ctx, `SELECT `+burstColumns+`, stream_key_hash FROM bursts WHERE id = $1`, id), &stored)
	if errors.Is(err, pgx.ErrNoRows) {
		return Burst{}, ErrBadStreamKey
	}
	if err != nil {
		return Burst{}, fmt.Errorf("read burst %d: %w", id, err)
	}
	if !hashesEqual(hash, stored) {
		return Burst{}, ErrBadStreamKey
	}
	return b, nil
}

func scanBurstWithHash(row pgx.Row, hash *[]byte) (Burst, error) {
	var b Burst
	err := row.Scan(&b.ID, &b.DropID, &b.Title, &b.Kind, &b.ScheduledAt, &b.MaxDurationS, &b.State, &b.LiveAt, &b.EndedAt, &b.CreatedAt, &b.UpdatedAt, hash)
	return b, err
}

// ListBursts returns the bursts of drop dropID in schedule order. Errors:
// not_found (drop).
func (s *Service) ListBursts(ctx context.Context, dropID int64) ([]Burst, error) {
	if _, err := s.getDrop(ctx, s.db, dropID); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT `+burstColumns+` FROM bursts WHERE drop_id = $1 ORDER BY scheduled_at, id`, dropID)
	if err != nil {
		return nil, fmt.Errorf("list bursts: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Burst, error) { return scanBurst(r) })
	if err != nil {
		return nil, fmt.Errorf("list bursts: %w", err)
	}
	return out, nil
}

// UpdateBurst applies p. Errors: not_found, invalid, conflict (schedule of a
// burst that is no longer scheduled, or any change to an ended burst).
func (s *Service) UpdateBurst(ctx context.Context, id int64, p BurstPatch) (Burst, error) {
	var out Burst
	err := store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		b, err := getBurst(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if b.State == StateEnded {
			return apperr.Errorf(apperr.Conflict, "burst %d has ended", id)
		}
		in := BurstInput{Title: b.Title, Kind: b.Kind, ScheduledAt: b.ScheduledAt, MaxDurationS: b.MaxDurationS}
		setIf(&in.Title, p.Title)
		setIf(&in.Kind, p.Kind)
		setIf(&in.ScheduledAt, p.ScheduledAt)
		setIf(&in.MaxDurationS, p.MaxDurationS)
		if p.MaxDurationS != nil && *p.MaxDurationS == 0 {
			return apperr.InvalidField("max_duration_s", "must be between 60 and 14400 seconds")
		}
		if err := in.Validate(); err != nil {
			return err
		}
		if p.ScheduledAt != nil && b.State != StateScheduled {
			return &apperr.Error{Code: apperr.Conflict, Field: "scheduled_at", Message: "cannot reschedule a burst that has gone live"}
		}
		if p.Kind != nil && *p.Kind != b.Kind && b.State != StateScheduled {
			return &apperr.Error{Code: apperr.Conflict, Field: "kind", Message: "cannot change the kind of a burst that has gone live"}
		}
		d, err := s.getDrop(ctx, tx, b.DropID)
		if err != nil {
			return err
		}
		if err := inWindow(d, in.ScheduledAt); err != nil {
			return err
		}
		out, err = scanBurst(tx.QueryRow(ctx, `
			UPDATE bursts SET title = $2, kind = $3, scheduled_at = $4, max_duration_s = $5, updated_at = now()
			WHERE id = $1 RETURNING `+burstColumns,
			id, in.Title, in.Kind, in.ScheduledAt, in.MaxDurationS))
		if err != nil {
			return fmt.Errorf("update burst %d: %w", id, err)
		}
		return nil
	})
	return out, err
}

// ErrBadTransition is returned by Transition when the burst is not in a state
// that may move to the one asked for.
var ErrBadTransition = errors.New("burst state does not allow this transition")

// enteredFrom lists the states that state to may be entered from.
func enteredFrom(to State) []string {
	switch to {
	case StateLive:
		return []string{string(StateScheduled)}
	case StateEnding:
		return []string{string(StateLive)}
	case StateEnded:
		return []string{string(StateScheduled), string(StateLive), string(StateEnding)}
	}
	return nil
}

// Transition moves the burst to state to at time at: live sets live_at,
// ended sets ended_at. It is one conditional update, so two callers racing for
// the same transition see exactly one success. Errors: not_found,
// ErrBadTransition (wrapped, with the current state).
func (s *Service) Transition(ctx context.Context, id int64, to State, at time.Time) (Burst, error) {
	fromText := enteredFrom(to)
	if fromText == nil {
		return Burst{}, fmt.Errorf("%w: to %q", ErrBadTransition, to)
	}
	b, err := scanBurst(s.db.QueryRow(ctx, `
		UPDATE bursts SET state = $2,
			live_at = CASE WHEN $2 = 'live' THEN $3 ELSE live_at END,
			ended_at = CASE WHEN $2 = 'ended' THEN $3 ELSE ended_at END,
			updated_at = now()
		WHERE id = $1 AND state = ANY($4)
		RETURNING `+burstColumns, id, string(to), at, fromText))
	if errors.Is(err, pgx.ErrNoRows) {
		cur, gerr := s.Burst(ctx, id)
		if gerr != nil {
			return Burst{}, gerr
		}
		return cur, fmt.Errorf("%w: %s → %s", ErrBadTransition, cur.State, to)
	}
	if err != nil {
		return Burst{}, fmt.Errorf("move burst %d to %s: %w", id, to, err)
	}
	return b, nil
}
