package recorder_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dropcast/dropcast/recorder"
	rt "github.com/dropcast/dropcast/recorder/recordertest"
	"github.com/dropcast/dropcast/sfu"
)

func counter(tb testing.TB, reg *prometheus.Registry, name string) float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	tb.Fatalf("metric %s not found", name)
	return 0
}

func TestBlipStartsNewPart(t *testing.T) {
	rt.NeedFFmpeg(t)
	fx := rt.LoadFixture(t, rt.FixturePath())
	dir := t.TempDir()
	m := newManager(t, dir, recorder.Deps{})
	sink := m.SinkFor(3)
	start := time.Now()
	for i := range 2 {
		sink.SinkStart(fx.Tracks())
		rt.Play(sink, fx.Packets(t, rt.Feed{Length: 3 * time.Second, Start: start.Add(time.Duration(i) * 5 * time.Second)}))
		sink.SinkStop()
	}
	waitFor(t, func() bool {
		tl, err := m.Timeline(t.Context(), 3)
		return err == nil && len(tl.Parts) == 2 && tl.Parts[1].State == recorder.StateComplete
	})
	tl, _ := m.Timeline(t.Context(), 3)
	if tl.Parts[1].MediaS < 2.9 || tl.Parts[1].MediaS > 3.1 {
		t.Errorf("second part starts at media %.3f s, want 3", tl.Parts[1].MediaS)
	}
	for n := 1; n <= 2; n++ {
		file := filepath.Join(dir, filepath.FromSlash(recorder.PartKey(3, n)))
		if d := rt.FFprobe(t, file).Duration(t); d < 2.5 || d > 3.5 {
			t.Errorf("part %d lasts %.3f s, want 3 ± 0.5", n, d)
		}
	}
}

func TestSPSChangeStartsNewPart(t *testing.T) {
	rt.NeedFFmpeg(t)
	fx := rt.LoadFixture(t, rt.FixturePath())
	// The same pictures with another level_idc in an in-band SPS: what an
	// encoder restart with new settings looks like to the recorder.
	changed := *fx
	changed.SPS = slices.Clone(fx.SPS)
	changed.SPS[3]++
	changed.Video = nil
	for _, v := range fx.Video {
		if v.IDR() {
			v.AU = append([][]byte{changed.SPS, fx.PPS}, v.AU...)
		}
		changed.Video = append(changed.Video, v)
	}
	dir := t.TempDir()
	m := newManager(t, dir, recorder.Deps{})
	sink := m.SinkFor(4)
	sink.SinkStart(fx.Tracks())
	start := time.Now()
	first := fx.Packets(t, rt.Feed{Length: 4 * time.Second, Start: start})
	second := changed.Packets(t, rt.Feed{Length: 4 * time.Second, Start: start.Add(4 * time.Second), MediaOffset: 4 * time.Second})
	rt.Play(sink, rt.Renumber(first, second))
	sink.SinkStop()
	waitFor(t, func() bool {
		tl, err := m.Timeline(t.Context(), 4)
		return err == nil && len(tl.Parts) == 2 && tl.Parts[1].State == recorder.StateComplete
	})
	for n := 1; n <= 2; n++ {
		file := filepath.Join(dir, filepath.FromSlash(recorder.PartKey(4, n)))
		if d := rt.FFprobe(t, file).Duration(t); d < 3.5 || d > 4.5 {
			t.Errorf("part %d lasts %.3f s, want 4 ± 0.5", n, d)
		}
		if out := rt.DecodeErrors(t, file); out != "" {
			t.Errorf("part %d: ffmpeg -v error reported:\n%s", n, out)
		}
	}
}

func TestVP8IsRefused(t *testing.T) {
	reg := prometheus.NewRegistry()
	dir := t.TempDir()
	m := newManager(t, dir, recorder.Deps{Registry: reg})
	sink := m.SinkFor(5)
	sink.SinkStart([]sfu.TrackInfo{{Kind: "video", MimeType: "video/VP8", ClockRate: 90000}})
	waitFor(t, func() bool { return counter(t, reg, "dropcast_recorder_tracks_refused_total") == 1 })
}

// blockingStorage stalls Create until release is closed.
type blockingStorage struct {
	recorder.Dir
	release chan struct{}
}

func (b blockingStorage) Create(ctx context.Context, key string) (recorder.WriteFile, error) {
	<-b.release
	return b.Dir.Create(ctx, key)
}

func TestSinkNeverBlocks(t *testing.T) {
	fx := rt.LoadFixture(t, rt.FixturePath())
	reg := prometheus.NewRegistry()
	st := blockingStorage{Dir: recorder.Dir{Root: t.TempDir()}, release: make(chan struct{})}
	m, err := recorder.NewManager(recorder.Config{QueuePackets: 64}, recorder.Deps{Storage: st, Logger: discardLogger(), Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release := func() { once.Do(func() { close(st.release) }) }
	t.Cleanup(func() { release(); m.Close() })
	sink := m.SinkFor(6)
	sink.SinkStart(fx.Tracks())
	pkts := fx.Packets(t, rt.Feed{Length: 10 * time.Second, Start: time.Now()})
	began := time.Now()
	rt.Play(sink, pkts) // the writer is stuck in Create after ~1 s of media
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("handing %d packets to a stuck recorder took %v", len(pkts), took)
	}
	if d := counter(t, reg, "dropcast_recorder_packets_dropped_total"); d == 0 {
		t.Error("no packet counted as dropped")
	}
	release()
}

// fullStorage fails writes past limit bytes per file, like a full disk.
type fullStorage struct {
	recorder.Dir
	limit int64
}

type fullFile struct {
	recorder.WriteFile
	n, limit int64
}

func (f fullStorage) Create(ctx context.Context, key string) (recorder.WriteFile, error) {
	w, err := f.Dir.Create(ctx, key)
	return &fullFile{WriteFile: w, limit: f.limit}, err
}

func (f *fullFile) Write(p []byte) (int, error) {
	if f.n+int64(len(p)) > f.limit {
		n, _ := f.WriteFile.Write(p[:f.limit-f.n]) // a torn write
		f.n += int64(n)
		return n, &os.PathError{Op: "write", Path: "part", Err: syscall.ENOSPC}
	}
	n, err := f.WriteFile.Write(p)
	f.n += int64(n)
	return n, err
}

func (f *fullFile) Truncate(size int64) error {
	f.n = size
	return f.WriteFile.Truncate(size)
}

func TestDiskFullKeepsPlayableFile(t *testing.T) {
	rt.NeedFFmpeg(t)
	fx := rt.LoadFixture(t, rt.FixturePath())
	reg := prometheus.NewRegistry()
	dir := t.TempDir()
	m := newManager(t, dir, recorder.Deps{Storage: fullStorage{Dir: recorder.Dir{Root: dir}, limit: 60 << 10}, Registry: reg})
	sink := m.SinkFor(8)
	sink.SinkStart(fx.Tracks())
	rt.Play(sink, fx.Packets(t, rt.Feed{Length: 10 * time.Second, Start: time.Now()}))
	sink.SinkStop()
	waitFor(t, func() bool {
		tl, err := m.Timeline(t.Context(), 8)
		return err == nil && len(tl.Parts) == 1 && tl.Parts[0].State == recorder.StateComplete
	})
	if n := counter(t, reg, "dropcast_recorder_write_errors_total"); n == 0 {
		t.Error("write errors not counted")
	}
	file := filepath.Join(dir, filepath.FromSlash(recorder.PartKey(8, 1)))
	if d := rt.FFprobe(t, file).Duration(t); d < 1 || d > 9 {
		t.Errorf("full-disk recording lasts %.3f s, want the fragments that fit", d)
	}
	if out := rt.DecodeErrors(t, file); out != "" {
		t.Errorf("ffmpeg -v error reported:\n%s", out)
	}
	if !errors.Is(&os.PathError{Err: syscall.ENOSPC}, syscall.ENOSPC) {
		t.Fatal("unreachable")
	}
}
