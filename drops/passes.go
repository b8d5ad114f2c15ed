package drops

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dropcast/dropcast/apperr"
	"github.com/dropcast/dropcast/store"
)

// passPrefix starts every VIP pass.
const passPrefix = "vip_"

var (
	// ErrBadPass is returned for a pass that is malformed, unknown, revoked or
	// of another drop.
	ErrBadPass = errors.New("invalid VIP pass")
	// ErrPassExpired is returned for a genuine pass past its expiry.
	ErrPassExpired = errors.New("VIP pass expired")
)

// PassKey is a VIP pass as its holder presents it: "vip_<pass id>_<secret>".
// It redacts itself in logs.
type PassKey string

// LogValue keeps passes out of logs.
func (PassKey) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// String returns the pass itself, for showing it once to its issuer.
func (k PassKey) String() string { return string(k) }

// Pass is a VIP pass's record; the secret is never stored.
type Pass struct {
	ID        int64      `json:"id,string"`
	DropID    int64      `json:"drop_id,string"`
	Label     string     `json:"label"`
	ExpiresAt time.Time  `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
	CreatedAt time.Time  `json:"created_at"`
}

// PassInput issues a pass. Label says whose it is (a name, an order, a list);
// ExpiresAt defaults to the drop's end.
type PassInput struct {
	Label     string     `json:"label"`
	ExpiresAt *time.Time `json:"expires_at"`
}

const passColumns = `id, drop_id, label, expires_at, revoked_at, created_at`

func scanPass(row pgx.Row, extra ...any) (Pass, error) {
	var p Pass
	dst := append([]any{&p.ID, &p.DropID, &p.Label, &p.ExpiresAt, &p.RevokedAt, &p.CreatedAt}, extra...)
	err := row.Scan(dst...)
	return p, err
}

// CreatePass issues a VIP pass for drop dropID and returns it; the pass
// itself is shown only now. Errors: not_found (drop), invalid.
func (s *Service) CreatePass(ctx context.Context, dropID int64, in PassInput) (Pass, PassKey, error) {
	return s.CreatePassWithSecret(ctx, dropID, in, RandomSecret)
}

// PassKeyFor returns the pass that secret makes for pass id; the demo uses it
// to show a pass it derived earlier. secret must be 32 bytes.
func PassKeyFor(id int64, secret []byte) PassKey {
	return PassKey(passPrefix + strconv.FormatInt(id, 10) + "_" + base64.RawURLEncoding.EncodeToString(secret))
}

// CreatePassWithSecret is CreatePass with the pass's secret from secret.
func (s *Service) CreatePassWithSecret(ctx context.Context, dropID int64, in PassInput, secret SecretFunc) (Pass, PassKey, error) {
	if strings.TrimSpace(in.Label) == "" || len(in.Label) > 200 {
		return Pass{}, "", apperr.InvalidField("label", "must be 1-200 bytes")
	}
	var (
		p   Pass
		key PassKey
	)
	err := store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		d, err := s.getDrop(ctx, tx, dropID)
		if err != nil {
			return err
		}
		expires := d.EndsAt
		if in.ExpiresAt != nil {
			expires = *in.ExpiresAt
		}
		if !expires.After(s.now()) {
			return apperr.InvalidField("expires_at", "must be in the future")
		}
		// The pass embeds its id, so insert with a placeholder hash first.
		var id int64
		if err := tx.QueryRow(ctx, `
			INSERT INTO vip_passes (drop_id, label, secret_hash, expires_at) VALUES ($1, $2, $3, $4)
			RETURNING id`, dropID, in.Label, make([]byte, 32), expires).Scan(&id); err != nil {
			return fmt.Errorf("insert pass: %w", err)
		}
		raw, err := secret(id)
		if err != nil {
			return err
		}
		if len(raw) != secretLen {
			return fmt.Errorf("pass secret is %d bytes, want %d", len(raw), secretLen)
		}
		key = PassKeyFor(id, raw)
		sum := sha256.Sum256([]byte(base64.RawURLEncoding.EncodeToString(raw)))
		p, err = scanPass(tx.QueryRow(ctx, `UPDATE vip_passes SET secret_hash = $2 WHERE id = $1 RETURNING `+passColumns, id, sum[:]))
		if err != nil {
			return fmt.Errorf("store pass: %w", err)
		}
		return nil
	})
	return p, key, err
}

// ListPasses returns drop dropID's passes, newest first. Errors: not_found.
func (s *Service) ListPasses(ctx context.Context, dropID int64) ([]Pass, error) {
	if _, err := s.getDrop(ctx, s.db, dropID); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT `+passColumns+` FROM vip_passes WHERE drop_id = $1 ORDER BY id DESC`, dropID)
	if err != nil {
		return nil, fmt.Errorf("list passes: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Pass, error) { return scanPass(r) })
	if err != nil {
		return nil, fmt.Errorf("list passes: %w", err)
	}
	return out, nil
}

// RevokePass stops pass id of drop dropID from working. Revoking twice is
// fine. Errors: not_found.
func (s *Service) RevokePass(ctx context.Context, dropID, id int64) (Pass, error) {
	p, err := scanPass(s.db.QueryRow(ctx, `
		UPDATE vip_passes SET revoked_at = coalesce(revoked_at, $3) WHERE id = $1 AND drop_id = $2
		RETURNING `+passColumns, id, dropID, s.now()))
	if errors.Is(err, pgx.ErrNoRows) {
		return Pass{}, apperr.Errorf(apperr.NotFound, "pass %d of drop %d not found", id, dropID)
	}
	if err != nil {
		return Pass{}, fmt.Errorf("revoke pass %d: %w", id, err)
	}
	return p, nil
}

// CheckPass reports whether key is a live pass of drop dropID, comparing its
// hash in constant time. Errors: ErrBadPass, ErrPassExpired.
func (s *Service) CheckPass(ctx context.Context, dropID int64, key string) (Pass, error) {
	id, hash, err := parseSecret(key, passPrefix, ErrBadPass)
	if err != nil {
		return Pass{}, err
	}
	var stored []byte
	p, err := scanPass(s.db.QueryRow(ctx, `SELECT `+passColumns+`, secret_hash FROM vip_passes WHERE id = $1`, id), &stored)
	if errors.Is(err, pgx.ErrNoRows) {
		return Pass{}, ErrBadPass
	}
	if err != nil {
		return Pass{}, fmt.Errorf("read pass %d: %w", id, err)
	}
	if !hashesEqual(hash, stored) || p.DropID != dropID || p.RevokedAt != nil {
		return Pass{}, ErrBadPass
	}
	if !s.now().Before(p.ExpiresAt) {
		return Pass{}, ErrPassExpired
	}
	return p, nil
}
