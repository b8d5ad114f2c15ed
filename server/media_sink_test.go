package server

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/sfu"
)

// recordingSink records what a Sink is told, as the recorder would see it.
type recordingSink struct {
	mu      sync.Mutex
	starts  [][]sfu.TrackInfo
	packets map[int]int
	reports map[int]int
	stops   int
}

func (s *recordingSink) SinkStart(tracks []sfu.TrackInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.starts = append(s.starts, tracks)
}

func (s *recordingSink) SinkRTP(track int, pkt *rtp.Packet, _ time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(pkt.Payload) > 0 {
		s.packets[track]++
	}
}

func (s *recordingSink) SinkSenderReport(track int, _ uint32, ntp time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if time.Since(ntp).Abs() < time.Minute {
		s.reports[track]++
	}
}

func (s *recordingSink) SinkStop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stops++
}

func (s *recordingSink) snapshot() (starts [][]sfu.TrackInfo, packets, reports map[int]int, stops int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	packets, reports = map[int]int{}, map[int]int{}
	for k, v := range s.packets {
		packets[k] = v
	}
	for k, v := range s.reports {
		reports[k] = v
	}
	return append([][]sfu.TrackInfo(nil), s.starts...), packets, reports, s.stops
}

// A sink attached through the OnStream hook gets the publisher's tracks,
// every packet, sender reports, and SinkStop when the publisher leaves.
func TestSinkViaOnStream(t *testing.T) {
	e := newMediaEnv(t, sfu.Config{})
	sink := &recordingSink{packets: map[int]int{}, reports: map[int]int{}}
	hooked := make(chan int64, 1)
	e.media.OnStream(func(burstID int64, st *sfu.Stream) {
		st.AddSink(sink)
		hooked <- burstID
	})
	b, key := e.burst(t, drops.KindHeadline, time.Now())
	pub := startPublisher(t, e, key)
	if id := <-hooked; id != b.ID {
		t.Fatalf("hook for burst %d, want %d", id, b.ID)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		starts, packets, reports, _ := sink.snapshot()
		if len(starts) == 1 && packets[0] > 50 && packets[1] > 20 && reports[0] > 0 && reports[1] > 0 {
			tr := starts[0]
			if len(tr) != 2 || tr[0].MimeType != "video/H264" || tr[0].ClockRate != 90000 || tr[1].MimeType != "audio/opus" || tr[1].ClockRate != 48000 {
				t.Fatalf("tracks %+v", tr)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sink got starts %v packets %v reports %v", starts, packets, reports)
		}
		time.Sleep(50 * time.Millisecond)
	}
	pub.Close()
	for {
		if _, _, _, stops := sink.snapshot(); stops == 1 {
			return
		}
		if time.Now().After(deadline.Add(10 * time.Second)) {
			t.Fatal("no SinkStop after the publisher left")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
