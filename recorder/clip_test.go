package recorder_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dropcast/dropcast/apperr"
	"github.com/dropcast/dropcast/recorder"
	rt "github.com/dropcast/dropcast/recorder/recordertest"
)

func TestClipCut(t *testing.T) {
	rt.NeedFFmpeg(t)
	fx := rt.LoadFixture(t, rt.FixturePath())
	dir := t.TempDir()
	m := newManager(t, dir, recorder.Deps{})
	sink := m.SinkFor(7)
	sink.SinkStart(fx.Tracks())
	rt.Play(sink, fx.Packets(t, rt.Feed{Length: 10 * time.Second, Start: time.Now()}))
	sink.SinkStop()
	waitFor(t, func() bool {
		tl, err := m.Timeline(t.Context(), 7)
		return err == nil && len(tl.Parts) == 1 && tl.Parts[0].State == recorder.StateComplete
	})

	for _, tc := range []struct {
		name     string
		from, to float64
	}{
		{name: "on keyframes", from: 3, to: 8},
		{name: "pre-roll hidden by edit list", from: 3.5, to: 6.2},
		{name: "from the start", from: 0, to: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := m.CreateClip(t.Context(), 7, recorder.ClipRequest{FromS: tc.from, ToS: tc.to, Label: tc.name})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, filepath.FromSlash(c.Path))
			p := rt.FFprobe(t, path)
			want := tc.to - tc.from
			if d := p.Duration(t); d < want-0.1 || d > want+0.1 {
				t.Errorf("clip lasts %.3f s, want %.1f ± 0.1", d, want)
			}
			if len(p.Streams) != 2 {
				t.Errorf("streams %+v, want video and audio", p.Streams)
			}
			if f := rt.FirstVideoPacketFlags(t, path); !strings.HasPrefix(f, "K") {
				t.Errorf("first video packet flags %q, want a keyframe", f)
			}
			if out := rt.DecodeErrors(t, path); out != "" {
				t.Errorf("ffmpeg -v error reported:\n%s", out)
			}
		})
	}

	for _, tc := range []struct {
		name     string
		from, to float64
		field    string
	}{
		{name: "reversed", from: 5, to: 3, field: "to_s"},
		{name: "negative", from: -1, to: 3, field: "from_s"},
		{name: "past the end", from: 11, to: 12, field: "from_s"},
		{name: "ends past the end", from: 8, to: 30, field: "to_s"},
		{name: "too short", from: 2, to: 2.1, field: "to_s"},
	} {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			_, err := m.CreateClip(t.Context(), 7, recorder.ClipRequest{FromS: tc.from, ToS: tc.to})
			var ae *apperr.Error
			if !errors.As(err, &ae) || ae.Code != apperr.Invalid || ae.Field != tc.field {
				t.Fatalf("got %v, want invalid %s", err, tc.field)
			}
		})
	}
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(tb testing.TB, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatal("condition not met within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
