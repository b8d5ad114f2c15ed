package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

func TestRewriterContinuesAcrossPublishers(t *testing.T) {
	var w rewriter
	a, b := &Publisher{}, &Publisher{}
	t0 := time.Unix(100, 0)
	for i := range 5 {
		h := &rtp.Header{SSRC: 1, SequenceNumber: uint16(65533 + i), Timestamp: uint32(1000 + 3000*i)}
		seq, ts := w.next(a, h, 90000, t0.Add(time.Duration(i)*33*time.Millisecond))
		if seq != h.SequenceNumber || ts != h.Timestamp {
			t.Fatalf("first source rewritten: %d %d", seq, ts)
		}
	}
	// Last output: seq 65537 → 1 (wrapped), ts 13000 at t0+132ms.
	h := &rtp.Header{SSRC: 2, SequenceNumber: 40000, Timestamp: 777}
	seq, ts := w.next(b, h, 90000, t0.Add(132*time.Millisecond+time.Second))
	if seq != 2 {
		t.Fatalf("seq after blip = %d, want 2", seq)
	}
	if ts != 13000+90000 {
		t.Fatalf("ts after blip = %d, want %d", ts, 13000+90000)
	}
	h = &rtp.Header{SSRC: 2, SequenceNumber: 40001, Timestamp: 777 + 3000}
	if seq, ts = w.next(b, h, 90000, t0.Add(2*time.Second)); seq != 3 || ts != 13000+90000+3000 {
		t.Fatalf("next after blip = %d %d", seq, ts)
	}
	// A late packet of the same source keeps its place and does not move last.
	h = &rtp.Header{SSRC: 2, SequenceNumber: 39999, Timestamp: 777 + 100}
	if seq, _ = w.next(b, h, 90000, t0.Add(2*time.Second)); seq != 1 {
		t.Fatalf("late packet seq = %d, want 1", seq)
	}
	if w.lastSeq != 3 {
		t.Fatalf("last seq moved back to %d", w.lastSeq)
	}
}

func TestTokenBucket(t *testing.T) {
	b := tokenBucket{rate: 10, burst: 5}
	now := time.Unix(0, 0)
	n := 0
	for range 20 {
		if b.take(now) {
			n++
		}
	}
	if n != 5 {
		t.Fatalf("burst allowed %d, want 5", n)
	}
	if !b.take(now.Add(100*time.Millisecond)) || b.take(now.Add(100*time.Millisecond)) {
		t.Fatal("refill after 100 ms should allow exactly one")
	}
}
