package sfu

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// recordingSink keeps what a Sink is told, in order.
type recordingSink struct {
	mu     sync.Mutex
	starts int
	seqs   []uint16 // video packets' sequence numbers as received
}

func (s *recordingSink) SinkStart([]TrackInfo) { s.mu.Lock(); s.starts++; s.mu.Unlock() }
func (s *recordingSink) SinkRTP(track int, pkt *rtp.Packet, _ time.Time) {
	if track != 0 { // video is first in the announced tracks
		return
	}
	s.mu.Lock()
	s.seqs = append(s.seqs, pkt.SequenceNumber)
	s.mu.Unlock()
}
func (s *recordingSink) SinkSenderReport(int, uint32, time.Time) {}
func (s *recordingSink) SinkStop()                               {}

// A WebRTC publisher declares each track on its first packet, so video can
// flow (keyframe first) before the audio track exists and the sinks start.
// The sinks must still get that first picture — from the GOP cache, in
// order and before anything forwarded later — and nothing of a previous
// session's picture.
func TestSinksGetVideoSentBeforeEveryTrackWasDeclared(t *testing.T) {
	st := testStream(t)
	sink := &recordingSink{}
	st.AddSink(sink)

	// A previous session's GOP is still cached.
	old := &Publisher{opts: PublishOptions{Tracks: 2}, created: time.Now().Add(-time.Minute), st: st, done: make(chan struct{})}
	st.pub = old
	if _, err := old.SetTrack(TrackInfo{Kind: "video", MimeType: mimeH264, ClockRate: 90000}); err != nil {
		t.Fatal(err)
	}
	idr := []byte{0x65, 0x88, 0x84}
	slice := []byte{0x41, 0x9a, 0x02}
	write := func(p *Publisher, seq uint16, ts uint32, payload []byte) {
		p.WriteRTP(trackVideo, &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 102, SequenceNumber: seq, Timestamp: ts, SSRC: 1}, Payload: payload}, time.Now())
	}
	write(old, 500, 1000, idr) // not started (audio never declared): cached only

	pub := &Publisher{opts: PublishOptions{Tracks: 2}, created: time.Now(), st: st, done: make(chan struct{})}
	for i := range pub.sinkIdx {
		pub.sinkIdx[i] = -1
	}
	st.mu.Lock()
	st.pub = pub
	st.mu.Unlock()
	if _, err := pub.SetTrack(TrackInfo{Kind: "video", MimeType: mimeH264, ClockRate: 90000}); err != nil {
		t.Fatal(err)
	}
	write(pub, 10, 9000, slice) // the new session's first packets, before a keyframe: not cached
	write(pub, 11, 12000, idr)
	write(pub, 12, 12000, idr)
	write(pub, 13, 15000, slice)
	if sink.starts != 0 || len(sink.seqs) != 0 {
		t.Fatalf("sink got %d starts and %v before every track was declared", sink.starts, sink.seqs)
	}
	if _, err := pub.SetTrack(TrackInfo{Kind: "audio", MimeType: "audio/opus", ClockRate: 48000, Channels: 2}); err != nil {
		t.Fatal(err)
	}
	write(pub, 14, 18000, slice)
	if want := []uint16{11, 12, 13, 14}; sink.starts != 1 || !slices.Equal(sink.seqs, want) {
		t.Fatalf("sink got %d starts and video %v, want 1 start and %v", sink.starts, sink.seqs, want)
	}
}

// A new session that has sent no keyframe yet hands the sinks nothing of
// the previous session's cached picture.
func TestSinksSkipPreviousSessionsPicture(t *testing.T) {
	st := testStream(t)
	sink := &recordingSink{}
	st.AddSink(sink)
	newPub := func(created time.Time) *Publisher {
		p := &Publisher{opts: PublishOptions{Tracks: 2}, created: created, st: st, done: make(chan struct{})}
		for i := range p.sinkIdx {
			p.sinkIdx[i] = -1
		}
		st.mu.Lock()
		st.pub = p
		st.mu.Unlock()
		if _, err := p.SetTrack(TrackInfo{Kind: "video", MimeType: mimeH264, ClockRate: 90000}); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write := func(p *Publisher, seq uint16, ts uint32, payload []byte) {
		p.WriteRTP(trackVideo, &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, SSRC: 1}, Payload: payload}, time.Now())
	}
	old := newPub(time.Now().Add(-time.Minute))
	write(old, 500, 1000, []byte{0x65, 0x88}) // cached keyframe of the old session
	write(old, 501, 4000, []byte{0x41, 0x9a})
	time.Sleep(time.Millisecond)
	cur := newPub(time.Now())
	write(cur, 10, 9000, []byte{0x41, 0x9a}) // appended to the old GOP
	if _, err := cur.SetTrack(TrackInfo{Kind: "audio", MimeType: "audio/opus", ClockRate: 48000, Channels: 2}); err != nil {
		t.Fatal(err)
	}
	if want := []uint16{10}; !slices.Equal(sink.seqs, want) {
		t.Fatalf("sink got video %v, want only the new session's %v", sink.seqs, want)
	}
}
