package drops

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ActiveBursts returns every burst that is live or ending, oldest live start
// first. The media core uses it at start to re-arm the lifecycle timers of
// bursts that were live when the server stopped.
func (s *Service) ActiveBursts(ctx context.Context) ([]Burst, error) {
	rows, err := s.db.Query(ctx, `SELECT `+burstColumns+` FROM bursts WHERE state IN ('live', 'ending') ORDER BY live_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list active bursts: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Burst, error) { return scanBurst(r) })
	if err != nil {
		return nil, fmt.Errorf("list active bursts: %w", err)
	}
	return out, nil
}
