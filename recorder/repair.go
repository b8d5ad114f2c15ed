package recorder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
)

// truncater is a Storage that can cut a file in place (Dir can).
type truncater interface {
	TruncateFile(key string, size int64) error
}

// Repair finalizes the parts that a crash left in state "recording": each
// file is cut after its last complete fragment (a kill -9 can leave half a
// fragment), its duration is read back from the fragments, and the row and
// the timeline sidecar are updated. Parts with nothing playable are marked
// failed. It runs at Start, before any new recording.
func (m *Manager) Repair(ctx context.Context) error {
	if m.deps.DB == nil {
		return nil
	}
	recs, err := m.deps.DB.unfinished(ctx)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		dur, size, state := m.repairFile(ctx, rec.Path)
		if err := m.deps.DB.setRepaired(ctx, rec.ID, dur, size, state); err != nil {
			return err
		}
		m.repairTimeline(ctx, rec.BurstID, rec.Part, dur, size, state)
		m.log.Warn("unfinished recording repaired", "burst_id", rec.BurstID, "part", rec.Part, "duration", dur, "bytes", size, "state", state)
	}
	return nil
}

// repairFile cuts a part file to its valid length and measures it.
func (m *Manager) repairFile(ctx context.Context, key string) (time.Duration, int64, string) {
	f, err := m.deps.Storage.Open(ctx, key)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			m.log.Error("open unfinished recording", "key", key, "err", err)
		}
		return 0, 0, StateFailed
	}
	idx, dur, err := indexFile(f)
	f.Close()
	if err != nil || len(idx.Fragments) == 0 {
		return 0, 0, StateFailed
	}
	if idx.ValidSize < f.Size() {
		t, ok := m.deps.Storage.(truncater)
		if !ok {
			m.log.Error("storage cannot truncate a torn recording", "key", key)
		} else if err := t.TruncateFile(key, idx.ValidSize); err != nil {
			m.log.Error("truncate torn recording", "key", key, "err", err)
		}
	}
	return dur, idx.ValidSize, StateRepaired
}

func (m *Manager) repairTimeline(ctx context.Context, burstID int64, n int, dur time.Duration, size int64, state string) {
	tl, err := readTimeline(ctx, m.deps.Storage, burstID)
	if err != nil {
		return
	}
	if tp := tl.part(n); tp != nil {
		tp.DurationS, tp.Bytes, tp.State = dur.Seconds(), size, state
	}
	tl.resolve()
	if err := putJSON(ctx, m.deps.Storage, TimelineKey(burstID), tl); err != nil {
		m.log.Error("write repaired timeline", "burst_id", burstID, "err", err)
	}
}

// indexFile indexes an fMP4 file and measures its media length (the end of
// the longest track).
func indexFile(f ReadFile) (*Index, time.Duration, error) {
	idx, err := ParseIndex(f, f.Size())
	if err != nil {
		return nil, 0, err
	}
	init, err := readInit(f, idx)
	if err != nil {
		return nil, 0, err
	}
	var d time.Duration
	for _, it := range init.Tracks {
		d = max(d, idx.trackEnd(uint32(it.ID), it.TimeScale))
	}
	return idx, d, nil
}

// readInit decodes the init section.
func readInit(f io.ReaderAt, idx *Index) (*fmp4.Init, error) {
	var init fmp4.Init
	if err := init.Unmarshal(io.NewSectionReader(f, 0, idx.InitSize)); err != nil {
		return nil, fmt.Errorf("read init section: %w", err)
	}
	return &init, nil
}

// trackEnd is where track id ends, as a duration.
func (idx *Index) trackEnd(id uint32, timescale uint32) time.Duration {
	for i := len(idx.Fragments) - 1; i >= 0; i-- {
		if t, ok := idx.Fragments[i].Track(id); ok {
			return dur(int64(t.BaseTime+t.Duration()), timescale)
		}
	}
	return 0
}
