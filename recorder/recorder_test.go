package recorder_test

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/dropcast/dropcast/recorder"
	rt "github.com/dropcast/dropcast/recorder/recordertest"
)

func newManager(tb testing.TB, dir string, deps recorder.Deps) *recorder.Manager {
	tb.Helper()
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		if os.Getenv("RECORDER_TEST_LOG") != "" {
			deps.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
	}
	if deps.Storage == nil {
		deps.Storage = recorder.Dir{Root: dir}
	}
	m, err := recorder.NewManager(recorder.Config{QueuePackets: 1 << 20}, deps)
	if err != nil {
		tb.Fatal(err)
	}
	if err := m.Start(tb.Context()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		m.Close()
		checkNoRecorderGoroutines(tb)
	})
	return m
}

// checkNoRecorderGoroutines fails when a recorder goroutine outlives Close.
func checkNoRecorderGoroutines(tb testing.TB) {
	tb.Helper()
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	for _, fn := range []string{"recorder.(*Recorder).run", "recorder.(*Manager).route", "recorder.(*Manager).ended"} {
		if strings.Contains(stacks, fn) {
			tb.Errorf("goroutine %s still running after Close", fn)
		}
	}
}

// record plays fd into a fresh manager's sink for burst 1, closes the
// manager and returns the data directory.
func record(tb testing.TB, fx *rt.Fixture, fd rt.Feed) string {
	tb.Helper()
	dir := tb.TempDir()
	m := newManager(tb, dir, recorder.Deps{})
	sink := m.SinkFor(1)
	sink.SinkStart(fx.Tracks())
	rt.Play(sink, fx.Packets(tb, fd))
	sink.SinkStop()
	m.Close()
	return dir
}

func TestRecordTenSecondBurst(t *testing.T) {
	rt.NeedFFmpeg(t)
	fx := rt.LoadFixture(t, rt.FixturePath())
	for _, tc := range []struct {
		name       string
		audioDelay time.Duration
		srs        bool
		srStart    time.Duration
	}{
		{name: "arrival timing", audioDelay: 0},
		{name: "sender reports correct 300ms audio lag", audioDelay: 300 * time.Millisecond, srs: true},
		{name: "late first sender reports still used", audioDelay: 300 * time.Millisecond, srs: true, srStart: 1800 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := record(t, fx, rt.Feed{Length: 10 * time.Second, Start: time.Now(), AudioDelay: tc.audioDelay, SRs: tc.srs, SRStart: tc.srStart})
			file := filepath.Join(dir, "recordings/burst-1/part-001.mp4")
			p := rt.FFprobe(t, file)
			if d := p.Duration(t); d < 9.5 || d > 10.5 {
				t.Errorf("duration %.3f s, want 10 ± 0.5", d)
			}
			if len(p.Streams) != 2 || p.Streams[0].CodecName != "h264" || p.Streams[1].CodecName != "opus" {
				t.Errorf("streams %+v, want h264 + opus", p.Streams)
			}
			if off := p.Start(t, "audio") - p.Start(t, "video"); off > 0.1 || off < -0.1 {
				t.Errorf("audio starts %.3f s after video, want within 0.1", off)
			}
			if out := rt.DecodeErrors(t, file); out != "" {
				t.Errorf("ffmpeg -v error reported:\n%s", out)
			}
		})
	}
}

func TestArrivalTimingWithoutReportsKeepsLag(t *testing.T) {
	// Without sender reports the recorder can only trust arrival: a 300 ms
	// audio lag stays in the file. This shows the SR case above is doing work.
	rt.NeedFFmpeg(t)
	fx := rt.LoadFixture(t, rt.FixturePath())
	dir := record(t, fx, rt.Feed{Length: 4 * time.Second, Start: time.Now(), AudioDelay: 300 * time.Millisecond})
	p := rt.FFprobe(t, filepath.Join(dir, "recordings/burst-1/part-001.mp4"))
	if off := p.Start(t, "audio") - p.Start(t, "video"); off < 0.2 {
		t.Errorf("audio offset %.3f s, want about 0.3 (arrival timing)", off)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
