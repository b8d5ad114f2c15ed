package recorder

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/dropcast/dropcast/apperr"
)

// ClipRequest asks for a clip of a burst's replay timeline.
type ClipRequest struct {
	FromS float64 // seconds on the replay timeline
	ToS   float64
	Label string
	// Kind is ClipManual unless set (proposals use ClipSnap, ClipCut, ClipHero).
	Kind string
	// CardID and ProductIDs link the clip to what it sells.
	CardID     int64
	ProductIDs []int64

	clampToPart bool // proposals: end at the part's end instead of refusing
}

// Validate checks the request's own fields (not the recording).
func (r ClipRequest) Validate(maxClip time.Duration) error {
	switch {
	case math.IsNaN(r.FromS) || math.IsInf(r.FromS, 0) || r.FromS < 0:
		return apperr.InvalidField("from_s", "must be a number of seconds, 0 or more")
	case math.IsNaN(r.ToS) || math.IsInf(r.ToS, 0) || r.ToS <= r.FromS:
		return apperr.InvalidField("to_s", "must be a number of seconds after from_s")
	case r.ToS-r.FromS < 0.5:
		return apperr.InvalidField("to_s", "a clip lasts at least 0.5 s")
	case r.ToS-r.FromS > maxClip.Seconds():
		return apperr.InvalidField("to_s", "a clip lasts at most %.0f s", maxClip.Seconds())
	case utf8.RuneCountInString(r.Label) > 200 || !utf8.ValidString(r.Label):
		return apperr.InvalidField("label", "must be valid text of at most 200 characters")
	}
	switch r.Kind {
	case "", ClipManual, ClipSnap, ClipCut, ClipHero:
	default:
		return apperr.InvalidField("kind", "must be manual, snap, cut or hero")
	}
	return nil
}

// Timeline returns a burst's recording timeline, or ErrNoRecording.
func (m *Manager) Timeline(ctx context.Context, burstID int64) (Timeline, error) {
	tl, err := readTimeline(ctx, m.deps.Storage, burstID)
	if errors.Is(err, fs.ErrNotExist) {
		return Timeline{}, ErrNoRecording
	}
	if err != nil {
		return Timeline{}, err
	}
	return tl, nil
}

// CreateClip cuts req from the burst's recording into a new MP4 (see Cut)
// and stores it with its product links. A range outside the recording, or
// across a publisher reconnect (two part files), is an *apperr.Error of
// code invalid naming the field.
func (m *Manager) CreateClip(ctx context.Context, burstID int64, req ClipRequest) (Clip, error) {
	if req.Kind == "" {
		req.Kind = ClipManual
	}
	if err := req.Validate(m.cfg.MaxClip); err != nil {
		return Clip{}, err
	}
	tl, err := m.Timeline(ctx, burstID)
	if err != nil {
		return Clip{}, err
	}
	p, err := partFor(tl, &req)
	if err != nil {
		return Clip{}, err
	}
	src, err := m.deps.Storage.Open(ctx, p.Path)
	if err != nil {
		return Clip{}, fmt.Errorf("open recording part %d: %w", p.Part, err)
	}
	defer src.Close()
	key := clipKey(burstID, req)
	out, err := m.deps.Storage.Create(ctx, key)
	if err != nil {
		return Clip{}, err
	}
	from := time.Duration((req.FromS - p.MediaS) * float64(time.Second))
	to := time.Duration((req.ToS - p.MediaS) * float64(time.Second))
	res, err := Cut(ctx, src, src.Size(), from, to, out)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, ErrEmptyRange) {
		return Clip{}, apperr.InvalidField("from_s", "the range holds no recorded media")
	}
	if err != nil {
		return Clip{}, fmt.Errorf("cut clip of burst %d: %w", burstID, err)
	}
	if req.ProductIDs == nil {
		req.ProductIDs = m.productsShown(ctx, tl, req.FromS, req.ToS)
	}
	c := Clip{BurstID: burstID, Kind: req.Kind, Label: req.Label, FromS: req.FromS, ToS: req.ToS, Path: key, Bytes: res.Bytes, CreatedAt: time.Now()}
	if req.CardID != 0 {
		c.CardID = &req.CardID
	}
	if m.deps.DB == nil {
		return c, nil
	}
	return m.deps.DB.insertClip(ctx, c, req.ProductIDs)
}

// partFor finds the part holding the request's range.
func partFor(tl Timeline, req *ClipRequest) (TimelinePart, error) {
	total := tl.Duration()
	if req.FromS >= total {
		return TimelinePart{}, apperr.InvalidField("from_s", "is past the end of the recording (%.1f s)", total)
	}
	const slack = 0.05 // rounding of durations
	for _, p := range tl.Parts {
		end := p.MediaS + p.DurationS
		if req.FromS < p.MediaS || req.FromS >= end {
			continue
		}
		if req.ToS > end+slack {
			if req.clampToPart {
				req.ToS = end
				return p, nil
			}
			if req.ToS > total+slack {
				return TimelinePart{}, apperr.InvalidField("to_s", "is past the end of the recording (%.1f s)", total)
			}
			return TimelinePart{}, apperr.InvalidField("to_s", "crosses the publisher reconnect at %.1f s; cut within one part", end)
		}
		return p, nil
	}
	return TimelinePart{}, apperr.InvalidField("from_s", "is past the end of the recording (%.1f s)", total)
}

func clipKey(burstID int64, req ClipRequest) string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand does not fail on supported platforms
	return fmt.Sprintf("clips/burst-%d/%s-%d-%d-%s.mp4", burstID, req.Kind, int64(req.FromS*1000), int64(req.ToS*1000), hex.EncodeToString(b[:]))
}

// OpenFile opens a recording or clip file by its storage key, for serving.
func (m *Manager) OpenFile(ctx context.Context, key string) (ReadFile, error) {
	f, err := m.deps.Storage.Open(ctx, key)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) {
		return nil, apperr.Errorf(apperr.NotFound, "file not found")
	}
	return f, err
}

// Recordings lists a burst's recording parts (from the database).
func (m *Manager) Recordings(ctx context.Context, burstID int64) ([]Recording, error) {
	if m.deps.DB == nil {
		return nil, apperr.Errorf(apperr.Unavailable, "recordings are not stored in a database here")
	}
	return m.deps.DB.Recordings(ctx, burstID)
}

// Clips lists a burst's clips.
func (m *Manager) Clips(ctx context.Context, burstID int64) ([]Clip, error) {
	if m.deps.DB == nil {
		return nil, apperr.Errorf(apperr.Unavailable, "clips are not stored in a database here")
	}
	return m.deps.DB.Clips(ctx, burstID)
}

// Clip returns one clip, or ErrClipNotFound.
func (m *Manager) Clip(ctx context.Context, id int64) (Clip, error) {
	if m.deps.DB == nil {
		return Clip{}, ErrClipNotFound
	}
	return m.deps.DB.Clip(ctx, id)
}

// productsShown lists the products of the cards on screen during
// [from, to] of the replay timeline, so a clip sells what it shows.
func (m *Manager) productsShown(ctx context.Context, tl Timeline, from, to float64) []int64 {
	var ms []moment
	for i, e := range tl.Events {
		if e.Type != EventCardShow || e.MediaS > to {
			continue
		}
		end := math.Inf(1)
		for _, h := range tl.Events[i+1:] {
			if h.Type == EventCardHide && h.CardID == e.CardID {
				end = h.MediaS
				break
			}
		}
		if end >= from {
			ms = append(ms, moment{cardID: e.CardID, mediaS: e.MediaS})
		}
	}
	var out []int64
	for _, ps := range m.cardProducts(ctx, tl.BurstID, ms) {
		out = append(out, ps...)
	}
	slices.Sort(out)
	return dedupe(out)
}
