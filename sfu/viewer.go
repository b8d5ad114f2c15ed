package sfu

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// viewer is one WHEP session. Packets reach it through a bounded ring
// queue filled by the stream's forwarding path and drained by the viewer's
// own writer goroutine: when the queue is full the oldest packet is dropped
// and counted, so a slow or dead viewer never holds up the publisher or the
// other viewers.
type viewer struct {
	id     string
	st     *Stream
	pc     *webrtc.PeerConnection
	tracks [numTracks]*outTrack
	log    *slog.Logger
	joined time.Time

	mu      sync.Mutex
	ring    []*packet
	head, n int
	closed  bool

	wake      chan struct{}
	ready     chan struct{} // closed once the peer connection is connected
	readyOnce sync.Once
	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	dropped   atomic.Int64
	sent      atomic.Int64
}

func newViewer(id string, st *Stream, pc *webrtc.PeerConnection, queue int) *viewer {
	return &viewer{
		id: id, st: st, pc: pc, joined: time.Now(),
		ring:  make([]*packet, queue),
		wake:  make(chan struct{}, 1),
		ready: make(chan struct{}),
		done:  make(chan struct{}),
		log:   st.log.With("session_id", id),
	}
}

// enqueue adds p without blocking, dropping the oldest packet when full.
func (v *viewer) enqueue(p *packet) {
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return
	}
	if v.n == len(v.ring) {
		v.ring[v.head] = nil
		v.head = (v.head + 1) % len(v.ring)
		v.n--
		v.dropped.Add(1)
	}
	v.ring[(v.head+v.n)%len(v.ring)] = p
	v.n++
	v.mu.Unlock()
	select {
	case v.wake <- struct{}{}:
	default:
	}
}

// take moves up to len(dst) queued packets into dst.
func (v *viewer) take(dst []*packet) int {
	v.mu.Lock()
	k := min(v.n, len(dst))
	for i := range k {
		dst[i] = v.ring[v.head]
		v.ring[v.head] = nil
		v.head = (v.head + 1) % len(v.ring)
	}
	v.n -= k
	v.mu.Unlock()
	return k
}

// start launches the writer and the RTCP readers.
func (v *viewer) start() {
	v.wg.Add(1)
	go v.writeLoop()
	for _, s := range v.pc.GetSenders() {
		if s.Track() == nil {
			continue
		}
		v.wg.Add(1)
		go v.rtcpLoop(s)
	}
}

// writeLoop sends queued packets. Video waits for a keyframe so the first
// frame a viewer decodes is a picture, not garbage.
func (v *viewer) writeLoop() {
	defer v.wg.Done()
	var (
		batch    [64]*packet
		gotKey   bool
		sent     int64
		sentB    int64
		flushAt  = 64
		m        = v.st.m
		needsKey = v.tracks[trackVideo] != nil
	)
	var reportedDrops int64
	flush := func() {
		m.packetsOut.Add(float64(sent))
		m.bytesOut.Add(float64(sentB))
		v.sent.Add(sent)
		sent, sentB = 0, 0
		if d := v.dropped.Load(); d > reportedDrops {
			m.viewerDrops.Add(float64(d - reportedDrops))
			reportedDrops = d
		}
	}
	pace := pacer{rate: catchUpRate}
	defer flush()
	// Packets written before DTLS/SRTP is up are lost, and they would be
	// the cached GOP: hold them until the connection is ready.
	select {
	case <-v.done:
		return
	case <-v.ready:
	}
	for {
		select {
		case <-v.done:
			return
		case <-v.wake:
		}
		for {
			k := v.take(batch[:])
			if k == 0 {
				break
			}
			now := time.Now() // once per batch: time.Now shows in profiles
			for i, p := range batch[:k] {
				batch[i] = nil
				t := v.tracks[p.track]
				if t == nil || t.mime != p.mime {
					continue
				}
				if p.track == trackVideo && needsKey && !gotKey {
					if !p.keyframe {
						continue
					}
					gotKey = true
					m.firstKeyframe.Observe(time.Since(v.joined).Seconds())
				}
				// Packets older than catchUpAge are the GOP replay or a
				// backlog: send them paced, not as one burst that the
				// viewer's socket or network would drop.
				if now.Sub(p.arrival) > catchUpAge {
					if !pace.wait(v.done) {
						return
					}
				}
				if t.write(p) {
					sent++
					sentB += int64(len(p.payload))
				}
			}
			if sent >= int64(flushAt) {
				flush()
			}
		}
	}
}

// rtcpLoop answers a viewer's NACKs from the shared cache and passes its
// keyframe requests upstream, coalesced by the stream.
func (v *viewer) rtcpLoop(s *webrtc.RTPSender) {
	defer v.wg.Done()
	t, _ := s.Track().(*outTrack)
	budget := tokenBucket{rate: rtxPerSecond, burst: rtxPerSecond}
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch pkt := pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				v.st.m.plis.Add(1)
				v.st.requestKeyframe()
			case *rtcp.TransportLayerNack:
				if t == nil {
					continue
				}
				slot := trackVideo
				if t.kind == webrtc.RTPCodecTypeAudio {
					slot = trackAudio
				}
				for _, pair := range pkt.Nacks {
					for _, seq := range pair.PacketList() {
						v.st.m.nacks.Add(1)
						// A viewer that cannot keep up NACKs everything;
						// answering it all would only add to its overload.
						if !budget.take(time.Now()) {
							continue
						}
						if p := v.st.caches[slot].get(seq); p != nil {
							t.write(p)
						}
					}
				}
			}
		}
	}
}

// connected releases the writer once the peer connection is up.
func (v *viewer) connected() { v.readyOnce.Do(func() { close(v.ready) }) }

// close stops the viewer: its peer connection is closed and its goroutines
// have exited when close returns. It is idempotent.
func (v *viewer) close() {
	v.closeOnce.Do(func() {
		v.mu.Lock()
		v.closed = true
		v.ring = nil
		v.n = 0
		v.mu.Unlock()
		close(v.done)
		v.st.removeViewer(v)
		_ = v.pc.Close() // unblocks ReadRTCP; an error means already closed
		v.wg.Wait()
		if d := v.dropped.Load(); d > 0 {
			v.log.Warn("viewer dropped packets", "dropped", d, "sent", v.sent.Load())
		}
	})
}
