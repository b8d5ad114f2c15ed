package sfu

import (
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// Stream is the live media of one burst: the current publisher's tracks, the
// viewers, and the caches that serve them. It outlives a publisher blip:
// viewers stay attached while the publisher is away for up to Config.Grace.
//
// Concurrency: a mutex guards short critical sections (publisher swap,
// rewriting, the GOP cache, viewer and sink sets). The viewer and sink sets
// are copy-on-write slices, so the forwarding path takes a snapshot under the
// lock and hands packets to each viewer's bounded queue without it. No lock
// is held across network I/O or a channel send.
type Stream struct {
	burstID int64
	reg     *Registry
	log     *slog.Logger
	m       *streamMetrics

	mu      sync.Mutex
	pub     *Publisher
	infos   [numTracks]*TrackInfo
	rw      [numTracks]rewriter
	gop     gopCache
	viewers []*viewer // copy-on-write
	sinks   []*sinkEntry
	closed  bool

	caches      [numTracks]rtxCache
	lastKeyReq  atomic.Int64  // unix ns of the last keyframe request sent upstream
	pubChanged  chan struct{} // signals the stream's run loop (cap 1)
	done        chan struct{}
	doneOnce    sync.Once
	viewerCount atomic.Int64
}

type sinkEntry struct{ s Sink }

// BurstID is the burst this stream carries.
func (st *Stream) BurstID() int64 { return st.burstID }

// Viewers is the number of viewers attached now.
func (st *Stream) Viewers() int { return int(st.viewerCount.Load()) }

// Done is closed when the stream has closed (burst ended, grace expired or
// shutdown).
func (st *Stream) Done() <-chan struct{} { return st.done }

// AddSink attaches s to the stream: it gets SinkStart with the current
// publisher's tracks at once when one is publishing, then every packet and
// sender report until it is removed or the stream closes (SinkStop). The
// returned func removes it; it is idempotent and does not call SinkStop.
// Sinks are called from the stream's goroutines and must not block.
func (st *Stream) AddSink(s Sink) (remove func()) {
	e := &sinkEntry{s: s}
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return func() {}
	}
	st.sinks = append(slices.Clip(st.sinks), e)
	var tracks []TrackInfo
	if st.pub != nil && st.pub.started {
		tracks = st.pub.sinkTracks()
	}
	st.mu.Unlock()
	if tracks != nil {
		s.SinkStart(tracks)
	}
	return func() {
		st.mu.Lock()
		st.sinks = slices.DeleteFunc(slices.Clone(st.sinks), func(x *sinkEntry) bool { return x == e })
		st.mu.Unlock()
	}
}

func (st *Stream) sinkSnapshot() []*sinkEntry {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.sinks
}

// forward is the publisher's hand-off: map the packet into the output space,
// cache it, and queue it for every viewer. It never blocks on a viewer.
func (st *Stream) forward(pub *Publisher, p *packet) {
	st.mu.Lock()
	if st.pub != pub || st.closed {
		st.mu.Unlock()
		return
	}
	info := pub.tracks[p.track]
	if info == nil {
		st.mu.Unlock()
		return
	}
	p.mime = info.MimeType
	p.seq, p.ts = st.rw[p.track].next(pub, &p.hdr, info.ClockRate, p.arrival)
	if p.track == trackVideo {
		p.keyframe = isKeyframe(info.MimeType, p.payload)
		st.gop.add(p)
	}
	viewers := st.viewers
	sinks := st.sinks
	sinkIdx := pub.sinkIdx[p.track]
	started := pub.started
	st.mu.Unlock()

	st.caches[p.track].put(p)
	st.m.packetsIn.Add(1)
	st.m.bytesIn.Add(float64(len(p.payload)))
	for _, v := range viewers {
		v.enqueue(p)
	}
	if started && sinkIdx >= 0 {
		pkt := rtp.Packet{Header: p.hdr, Payload: p.payload}
		for _, s := range sinks {
			s.s.SinkRTP(sinkIdx, &pkt, p.arrival)
		}
	}
}

// requestKeyframe asks the publisher for a keyframe, at most once per
// Config.KeyframeInterval whatever the number of viewers asking.
func (st *Stream) requestKeyframe() {
	now := time.Now().UnixNano()
	last := st.lastKeyReq.Load()
	if now-last < int64(st.reg.cfg.KeyframeInterval) || !st.lastKeyReq.CompareAndSwap(last, now) {
		return
	}
	st.mu.Lock()
	pub := st.pub
	st.mu.Unlock()
	if pub != nil && pub.opts.RequestKeyframe != nil {
		st.m.keyframeRequests.Add(1)
		pub.opts.RequestKeyframe()
	}
}

// attach makes pub the stream's publisher, replacing a silent one. It
// returns the publisher it replaced (to be closed by the caller) or
// ErrPublisherActive.
func (st *Stream) attach(pub *Publisher) (*Publisher, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return nil, ErrBurstEnded
	}
	old := st.pub
	if old != nil && !old.silent(st.reg.cfg.SilentAfter) {
		return nil, ErrPublisherActive
	}
	st.pub = pub
	pub.st = st
	st.signal()
	return old, nil
}

// busy reports whether an active publisher would refuse a new one.
func (st *Stream) busy() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.pub != nil && !st.pub.silent(st.reg.cfg.SilentAfter)
}

// detach removes pub if it is still the publisher; the grace period starts.
func (st *Stream) detach(pub *Publisher) {
	st.mu.Lock()
	cur := st.pub == pub
	if cur {
		st.pub = nil
		st.signal()
	}
	sinks := st.sinks
	started := pub.started
	st.mu.Unlock()
	if cur && started {
		for _, s := range sinks {
			s.s.SinkStop()
		}
	}
}

func (st *Stream) signal() {
	select {
	case st.pubChanged <- struct{}{}:
	default:
	}
}

// hasPublisher reports whether a publisher is attached.
func (st *Stream) hasPublisher() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.pub != nil
}

// close ends the stream: publisher and viewers are closed, sinks stopped.
func (st *Stream) close(reason string) {
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return
	}
	st.closed = true
	pub, viewers, sinks := st.pub, st.viewers, st.sinks
	st.pub, st.viewers, st.sinks = nil, nil, nil
	st.gop.reset()
	st.mu.Unlock()
	st.log.Info("stream closed", "reason", reason, "viewers", len(viewers))
	if pub != nil {
		pub.Close()
		if pub.started {
			for _, s := range sinks {
				s.s.SinkStop()
			}
		}
	}
	for _, v := range viewers {
		v.close()
	}
	st.doneOnce.Do(func() { close(st.done) })
}

// addViewer attaches v and queues the cached GOP ahead of live packets. The
// snapshot and the insertion happen under one lock, so v gets every packet
// exactly once.
func (st *Stream) addViewer(v *viewer) error {
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return ErrNotLive
	}
	gop := st.gop.snapshot()
	if len(gop)+st.reg.cfg.ViewerQueue > len(v.ring) {
		v.ring = make([]*packet, len(gop)+st.reg.cfg.ViewerQueue)
	}
	for _, p := range gop {
		v.enqueue(p)
	}
	st.viewers = append(slices.Clip(st.viewers), v)
	n := len(st.viewers)
	st.mu.Unlock()
	st.viewerCount.Store(int64(n))
	st.m.viewers.Set(float64(n))
	return nil
}

func (st *Stream) removeViewer(v *viewer) {
	st.mu.Lock()
	i := slices.Index(st.viewers, v)
	if i >= 0 {
		st.viewers = slices.Delete(slices.Clone(st.viewers), i, i+1)
	}
	n := len(st.viewers)
	st.mu.Unlock()
	st.viewerCount.Store(int64(n))
	st.m.viewers.Set(float64(n))
}

// trackInfos returns the tracks viewers can get: the current publisher's,
// or the last one's during a blip.
func (st *Stream) trackInfos() [numTracks]*TrackInfo {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.infos
}
