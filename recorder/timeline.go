package recorder

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/dropcast/dropcast/events"
)

// Recording part states, as in the recordings table.
const (
	StateRecording = "recording" // being written
	StateComplete  = "complete"  // finalized cleanly
	StateRepaired  = "repaired"  // left unfinished by a crash, cut to its last complete fragment
	StateFailed    = "failed"    // nothing playable was written
)

// Timeline is a burst's recording sidecar (timeline.json next to the
// parts): the parts with their wall-clock start, and card and lifecycle
// marks at their media offsets. Media time runs over the parts end to end,
// so a mark at media_s is at that position of the replay.
type Timeline struct {
	BurstID int64           `json:"burst_id,string"`
	Parts   []TimelinePart  `json:"parts"`
	Events  []TimelineEvent `json:"events"`
}

// TimelinePart is one recording file of the burst.
type TimelinePart struct {
	Part       int       `json:"part"`
	Path       string    `json:"path"`
	StartedAt  time.Time `json:"started_at"` // wall-clock time of the part's first frame
	MediaS     float64   `json:"media_s"`    // where the part starts on the replay timeline
	DurationS  float64   `json:"duration_s"`
	Bytes      int64     `json:"bytes"`
	State      string    `json:"state"`
	Codecs     string    `json:"codecs"`
	SyncedBySR bool      `json:"synced_by_rtcp_sr"`
}

// Timeline event types.
const (
	EventCardShow = "card.show"
	EventCardHide = "card.hide"
	EventBurst    = "burst"
)

// TimelineEvent is a card shown or hidden, or a burst lifecycle mark.
type TimelineEvent struct {
	Type    string    `json:"type"`
	CardID  int64     `json:"card_id,string,omitempty"`
	State   string    `json:"state,omitempty"`
	Pinned  bool      `json:"pinned,omitempty"`
	At      time.Time `json:"at"`
	OffsetS float64   `json:"offset_s"` // since the burst went live, as published
	MediaS  float64   `json:"media_s"`  // on the replay timeline
}

func (tl *Timeline) part(n int) *TimelinePart {
	for i := range tl.Parts {
		if tl.Parts[i].Part == n {
			return &tl.Parts[i]
		}
	}
	return nil
}

// Duration is the replay length: the parts end to end.
func (tl Timeline) Duration() float64 {
	var d float64
	for _, p := range tl.Parts {
		d += p.DurationS
	}
	return d
}

// mediaOffset places wall-clock time at on the replay timeline: inside the
// part playing then, or at the start of the next part for a time in a gap.
func (tl Timeline) mediaOffset(at time.Time) float64 {
	var m float64
	for _, p := range tl.Parts {
		if at.Before(p.StartedAt) {
			return m
		}
		if off := at.Sub(p.StartedAt).Seconds(); off <= p.DurationS {
			return m + off
		}
		m += p.DurationS
	}
	return m
}

// resolve recomputes the media offsets from the parts.
func (tl *Timeline) resolve() {
	var m float64
	for i := range tl.Parts {
		tl.Parts[i].MediaS = m
		m += tl.Parts[i].DurationS
	}
	for i := range tl.Events {
		tl.Events[i].MediaS = math.Round(tl.mediaOffset(tl.Events[i].At)*1000) / 1000
	}
}

// TimelineKey is the storage key of a burst's timeline sidecar.
func TimelineKey(burstID int64) string {
	return fmt.Sprintf("recordings/burst-%d/timeline.json", burstID)
}

func readTimeline(ctx context.Context, st Storage, burstID int64) (Timeline, error) {
	f, err := st.Open(ctx, TimelineKey(burstID))
	if err != nil {
		return Timeline{}, err
	}
	defer f.Close()
	var tl Timeline
	if err := json.NewDecoder(f).Decode(&tl); err != nil {
		return Timeline{}, fmt.Errorf("decode timeline of burst %d: %w", burstID, err)
	}
	tl.BurstID = burstID
	return tl, nil
}

// mark adds a bus event to the timeline and reports whether the burst ended.
func (r *Recorder) mark(ctx context.Context, e events.Event) bool {
	var ev TimelineEvent
	ended := false
	switch e := e.(type) {
	case events.CardShown:
		ev = TimelineEvent{Type: EventCardShow, CardID: e.CardID, Pinned: e.Pinned, At: e.At, OffsetS: e.Offset.Seconds()}
	case events.CardHidden:
		ev = TimelineEvent{Type: EventCardHide, CardID: e.CardID, At: e.At, OffsetS: e.Offset.Seconds()}
	case events.BurstState:
		ev = TimelineEvent{Type: EventBurst, State: e.State, At: e.At}
		if !e.LiveAt.IsZero() {
			ev.OffsetS = e.At.Sub(e.LiveAt).Seconds()
		}
		ended = e.State == "ended"
	default:
		return false
	}
	if ev.At.IsZero() {
		ev.At = time.Now()
	}
	r.timeline.Events = append(r.timeline.Events, ev)
	if !ended { // the final save happens once the part is closed
		r.saveTimeline(ctx)
	}
	return ended
}

// saveTimeline writes the sidecar; the open part counts with what is written.
func (r *Recorder) saveTimeline(ctx context.Context) {
	if r.part != nil && r.part.locked {
		if tp := r.timeline.part(r.part.n); tp != nil {
			tp.DurationS, tp.Bytes = r.part.duration().Seconds(), r.part.size
		}
	}
	r.timeline.resolve()
	b, err := json.MarshalIndent(r.timeline, "", "  ")
	if err == nil {
		err = r.storage.Put(ctx, TimelineKey(r.burstID), b)
	}
	if err != nil {
		r.metrics.writeErrors.Inc()
		r.log.Error("write timeline", "err", err)
	}
}

func putJSON(ctx context.Context, st Storage, key string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return st.Put(ctx, key, b)
}
