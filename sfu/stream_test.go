package sfu

import (
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func testStream(t testing.TB) *Stream {
	t.Helper()
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	r := &Registry{cfg: Config{KeyframeInterval: 100 * time.Millisecond}.withDefaults()}
	return &Stream{burstID: 1, reg: r, log: slog.New(slog.NewTextHandler(io.Discard, nil)), m: m.forBurst(1), pubChanged: make(chan struct{}, 1), done: make(chan struct{})}
}

// Keyframe requests from any number of viewers reach the publisher at most
// once per KeyframeInterval.
func TestKeyframeRequestsCoalesced(t *testing.T) {
	st := testStream(t)
	var n atomic.Int64
	st.pub = &Publisher{opts: PublishOptions{RequestKeyframe: func() { n.Add(1) }}}
	for range 100 {
		st.requestKeyframe()
	}
	if got := n.Load(); got != 1 {
		t.Fatalf("%d requests sent for 100 asked at once, want 1", got)
	}
	deadline := time.Now().Add(2 * time.Second)
	for n.Load() < 2 && time.Now().Before(deadline) {
		st.requestKeyframe()
		time.Sleep(10 * time.Millisecond)
	}
	if got := n.Load(); got != 2 {
		t.Fatalf("%d requests after the interval, want 2", got)
	}
}

// A full viewer queue drops its oldest packets and counts them; the
// producer never waits.
func TestViewerQueueDropsOldest(t *testing.T) {
	st := testStream(t)
	v := newViewer("v", st, nil, 4)
	for i := range 10 {
		v.enqueue(&packet{seq: uint16(i)})
	}
	var out [8]*packet
	k := v.take(out[:])
	if k != 4 || out[0].seq != 6 || out[3].seq != 9 {
		t.Fatalf("took %d packets starting at %d, want 4 from 6", k, out[0].seq)
	}
	if d := v.dropped.Load(); d != 6 {
		t.Fatalf("dropped %d, want 6", d)
	}
}

func BenchmarkViewerEnqueueTake(b *testing.B) {
	v := newViewer("v", testStream(b), nil, 1024)
	p := &packet{}
	var out [64]*packet
	b.ReportAllocs()
	for b.Loop() {
		for range 64 {
			v.enqueue(p)
		}
		v.take(out[:])
	}
	b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "packets/s")
}
