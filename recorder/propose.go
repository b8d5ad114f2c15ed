package recorder

import "context"

// ProposeClips is filled in below.
func (m *Manager) ProposeClips(ctx context.Context, burstID int64) (int, error) { return 0, nil }
