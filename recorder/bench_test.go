package recorder_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/dropcast/dropcast/recorder"
	rt "github.com/dropcast/dropcast/recorder/recordertest"
)

// benchSource makes (once per machine, in the temp dir) a 20 s 720p30
// H264 + Opus source at about 2.5 Mbit/s, and optionally a 15-minute fMP4
// recording looped from it. Nothing is committed.
func benchSource(b *testing.B, long bool) string {
	b.Helper()
	rt.NeedFFmpeg(b)
	dir := filepath.Join(os.TempDir(), "dropcast-recorder-bench")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	src := filepath.Join(dir, "src-2500k-20s.mp4")
	run := func(out string, args ...string) {
		if _, err := os.Stat(out); err == nil {
			return
		}
		tmp := out + ".tmp.mp4"
		args = append(append([]string{"-nostdin", "-v", "error", "-y"}, args...), tmp)
		if o, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
			b.Fatalf("ffmpeg: %v\n%s", err, o)
		}
		if err := os.Rename(tmp, out); err != nil {
			b.Fatal(err)
		}
	}
	frag := []string{"-movflags", "+frag_keyframe+empty_moov+default_base_moof"}
	run(src, append([]string{"-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", "20", "-vf", "noise=alls=12:allf=t", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-bf", "0",
		"-g", "30", "-keyint_min", "30", "-sc_threshold", "0", "-b:v", "2500k", "-maxrate", "2500k", "-bufsize", "2500k",
		"-pix_fmt", "yuv420p", "-c:a", "libopus", "-b:a", "96k", "-ac", "2", "-frame_duration", "20"}, frag...)...)
	if !long {
		return src
	}
	rec := filepath.Join(dir, "rec-15min.mp4")
	run(rec, append([]string{"-stream_loop", "44", "-i", src, "-c", "copy"}, frag...)...)
	return rec
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRecord2500kbps records 20 s of a 2.5 Mbit/s 720p30 H264 + Opus
// burst per iteration, from RTP handed to the sink to the finalized file,
// and reports the process CPU time per second of media as percent of a core.
func BenchmarkRecord2500kbps(b *testing.B) {
	fx := rt.LoadFixture(b, benchSource(b, false))
	const length = 20 * time.Second
	pkts := fx.Packets(b, rt.Feed{Length: length, Start: time.Now(), SRs: true})
	var bytesIn int
	for _, p := range pkts {
		bytesIn += len(p.Pkt.Payload)
	}
	dir := b.TempDir()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	var n int64
	for b.Loop() {
		n++
		m, err := recorder.NewManager(recorder.Config{QueuePackets: 1 << 20}, recorder.Deps{Storage: recorder.Dir{Root: dir}, Logger: discardLogger()})
		if err != nil {
			b.Fatal(err)
		}
		sink := m.SinkFor(n)
		sink.SinkStart(fx.Tracks())
		rt.Play(sink, pkts)
		sink.SinkStop()
		m.Close()
	}
	cpu := cpuTime() - cpu0
	media := time.Duration(n) * length
	b.ReportMetric(100*cpu.Seconds()/media.Seconds(), "%core")
	b.ReportMetric(float64(bytesIn*8)/length.Seconds()/1e6, "Mbit/s")
	b.ReportMetric(float64(len(pkts))*float64(n)/b.Elapsed().Seconds(), "packets/s")
}

// BenchmarkCut90sFrom15min cuts a 90 s clip from the middle of a 15-minute
// 2.5 Mbit/s recording: index the file, write a progressive MP4.
func BenchmarkCut90sFrom15min(b *testing.B) {
	rec := benchSource(b, true)
	f, err := os.Open(rec)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	out := filepath.Join(b.TempDir(), "clip.mp4")
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		w, err := os.Create(out)
		if err != nil {
			b.Fatal(err)
		}
		res, err := recorder.Cut(context.Background(), f, st.Size(), 400500*time.Millisecond, 490500*time.Millisecond, w)
		if err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		if res.Duration < 89*time.Second || res.Duration > 91*time.Second {
			b.Fatalf("clip of %v", res.Duration)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/clip")
	b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/clip")
	if d := rt.FFprobe(b, out).Duration(b); d < 89.9 || d > 90.1 {
		b.Errorf("clip plays %.3f s, want 90", d)
	}
	if o := rt.DecodeErrors(b, out); o != "" && !bytes.Contains([]byte(o), []byte("non monotonically")) {
		b.Errorf("clip decode errors: %s", o)
	}
}
