package recorder

import (
	"testing"
	"time"
)

func TestMediaOffset(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 18, 0, 0, 0, time.UTC)
	tl := Timeline{Parts: []TimelinePart{
		{Part: 1, StartedAt: t0, DurationS: 60},
		{Part: 2, StartedAt: t0.Add(90 * time.Second), DurationS: 30}, // a 30 s blip before it
	}}
	for _, tc := range []struct {
		name string
		at   time.Time
		want float64
	}{
		{"before the recording", t0.Add(-time.Second), 0},
		{"inside part 1", t0.Add(12500 * time.Millisecond), 12.5},
		{"in the gap", t0.Add(75 * time.Second), 60},
		{"inside part 2", t0.Add(100 * time.Second), 70},
		{"after the end", t0.Add(time.Hour), 90},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tl.mediaOffset(tc.at); got != tc.want {
				t.Errorf("got %.3f, want %.3f", got, tc.want)
			}
		})
	}
}

func TestHeroWindow(t *testing.T) {
	ms := func(s ...float64) []moment {
		var out []moment
		for i, x := range s {
			out = append(out, moment{cardID: int64(i + 1), mediaS: x})
		}
		return out
	}
	for _, tc := range []struct {
		name         string
		moments      []moment
		total        float64
		from, to     float64
		wantCardsLen int
	}{
		{"none", nil, 600, 0, 0, 0},
		{"one card centred", ms(300), 600, 255, 345, 1},
		{"densest run wins", ms(10, 400, 420, 450, 470), 900, 390, 480, 4},
		{"clamped at the start", ms(5, 20), 600, 0, 90, 2},
		{"clamped at the end", ms(590, 595), 600, 510, 600, 2},
		{"short recording", ms(5), 40, 0, 40, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			from, to, in := heroWindow(tc.moments, tc.total, heroS)
			if len(in) != tc.wantCardsLen || (len(in) > 0 && (from != tc.from || to != tc.to)) {
				t.Errorf("got [%.1f, %.1f] with %d cards, want [%.1f, %.1f] with %d", from, to, len(in), tc.from, tc.to, tc.wantCardsLen)
			}
		})
	}
}
