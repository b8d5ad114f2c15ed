package sfu

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// PublishOptions describe a publishing session to Registry.Publish.
type PublishOptions struct {
	// Kind names the ingest for logs and metrics: "whip" or "rtsp".
	Kind string
	// Tracks is how many tracks the session will declare with SetTrack;
	// sinks are started once all are declared (or after a second).
	Tracks int
	// RequestKeyframe asks the source for a keyframe (an RTCP PLI for WebRTC).
	// Nil when the source cannot be asked (RTSP).
	RequestKeyframe func()
	// Close tears the source's transport down. It is called once, from
	// Publisher.Close, when the session is replaced, deleted, or the burst
	// ends. It must not call back into the Publisher.
	Close func()
}

// Publisher is one publishing session (a WHIP peer or an RTSP session)
// feeding a burst's Stream. Its methods are safe for concurrent use; WriteRTP
// for one track must be called from one goroutine at a time.
type Publisher struct {
	st      *Stream
	opts    PublishOptions
	lastRTP atomic.Int64 // unix ns of the last packet
	created time.Time

	// Guarded by st.mu.
	tracks  [numTracks]*TrackInfo
	sinkIdx [numTracks]int
	started bool

	startTimer   *time.Timer
	closeOnce    sync.Once
	done         chan struct{}
	declared     chan struct{} // closed once all opts.Tracks tracks are declared
	declaredOnce sync.Once
}

// awaitTracks waits until all the session's tracks are declared, at most
// until maxWait after the session was created or ctx ends: a viewer joining
// in the first moments of a publish then gets audio and video, not only the
// track whose first packet happened to arrive first.
func (p *Publisher) awaitTracks(ctx context.Context, maxWait time.Duration) {
	if p.declared == nil {
		return
	}
	d := time.Until(p.created.Add(maxWait))
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.declared:
	case <-p.done:
	case <-t.C:
	case <-ctx.Done():
	}
}

// Stream is the stream this publisher feeds.
func (p *Publisher) Stream() *Stream { return p.st }

// Done is closed when the session has been closed (replaced, deleted, burst
// ended or shutdown).
func (p *Publisher) Done() <-chan struct{} { return p.done }

// silent reports whether the publisher has sent nothing for d (counting from
// its creation when it never sent anything).
func (p *Publisher) silent(d time.Duration) bool {
	last := p.lastRTP.Load()
	if last == 0 {
		return time.Since(p.created) > d
	}
	return time.Since(time.Unix(0, last)) > d
}

// SetTrack declares a source track and returns its slot for WriteRTP. A
// session has at most one video and one audio track; a second track of a kind
// replaces the first.
func (p *Publisher) SetTrack(info TrackInfo) (int, error) {
	slot := trackAudio
	switch info.Kind {
	case "video":
		slot = trackVideo
	case "audio":
	default:
		return 0, fmt.Errorf("track kind %q: want video or audio", info.Kind)
	}
	if info.ClockRate == 0 {
		return 0, fmt.Errorf("track %s has no clock rate", info.MimeType)
	}
	st := p.st
	st.mu.Lock()
	i := info
	p.tracks[slot] = &i
	if st.pub == p {
		st.infos[slot] = &i
	}
	n := 0
	for _, t := range p.tracks {
		if t != nil {
			n++
		}
	}
	ready := n >= p.opts.Tracks && !p.started
	st.mu.Unlock()
	if n >= p.opts.Tracks && p.declared != nil {
		p.declaredOnce.Do(func() { close(p.declared) })
	}
	if ready {
		p.startSinks()
	}
	return slot, nil
}

// hasTrack reports whether a track of kind ("video" or "audio") is declared.
func (p *Publisher) hasTrack(kind string) bool {
	slot := trackAudio
	if kind == "video" {
		slot = trackVideo
	}
	p.st.mu.Lock()
	defer p.st.mu.Unlock()
	return p.tracks[slot] != nil
}

// startSinks announces the session's tracks to the sinks, once, and hands
// them this session's video from the GOP cache: a WebRTC track is declared on
// its first packet, so the audio track often arrives after the first
// keyframe has gone by, and without the cache a recording would start only at
// the next keyframe. It runs under the stream's mutex (sinks only queue), so
// no packet forwarded meanwhile can reach a sink ahead of the cached ones.
func (p *Publisher) startSinks() {
	st := p.st
	st.mu.Lock()
	defer st.mu.Unlock()
	if p.started || st.pub != p {
		return
	}
	p.started = true
	tracks := p.sinkTracks()
	var early []*packet
	if p.sinkIdx[trackVideo] >= 0 {
		for _, q := range st.gop.snapshot() {
			if !q.arrival.Before(p.created) { // not a previous session's picture
				early = append(early, q)
			}
		}
	}
	for _, s := range st.sinks {
		s.s.SinkStart(tracks)
		for _, q := range early {
			pkt := rtp.Packet{Header: q.hdr, Payload: q.payload}
			s.s.SinkRTP(p.sinkIdx[trackVideo], &pkt, q.arrival)
		}
	}
}

// sinkTracks lists the declared tracks, video first, and records each slot's
// index in that list. Called with st.mu held.
func (p *Publisher) sinkTracks() []TrackInfo {
	out := []TrackInfo{}
	for slot, t := range p.tracks {
		p.sinkIdx[slot] = -1
		if t != nil {
			p.sinkIdx[slot] = len(out)
			out = append(out, *t)
		}
	}
	return out
}

// WriteRTP hands one packet of track slot to the stream. It copies what it
// keeps, so pkt may be reused after the call, and never blocks on viewers.
func (p *Publisher) WriteRTP(slot int, pkt *rtp.Packet, arrival time.Time) {
	if slot < 0 || slot >= numTracks || len(pkt.Payload) == 0 {
		return // padding-only probes carry nothing to forward
	}
	p.lastRTP.Store(arrival.UnixNano())
	buf := make([]byte, len(pkt.Payload))
	copy(buf, pkt.Payload)
	q := &packet{hdr: pkt.Header, payload: buf, track: slot, arrival: arrival}
	q.hdr.Padding, q.hdr.PaddingSize = false, 0
	p.st.forward(p, q)
}

// SenderReport passes an RTCP sender report of track slot to the sinks.
func (p *Publisher) SenderReport(slot int, rtpTime uint32, ntp time.Time) {
	st := p.st
	st.mu.Lock()
	idx, started, cur, sinks := p.sinkIdx[slot], p.started, st.pub == p, st.sinks
	st.mu.Unlock()
	if !started || !cur || idx < 0 {
		return
	}
	for _, s := range sinks {
		s.s.SinkSenderReport(idx, rtpTime, ntp)
	}
}

// Close ends the session: its transport is closed and, if it was the
// stream's publisher, the grace period starts. It is idempotent.
func (p *Publisher) Close() {
	p.closeOnce.Do(func() {
		if p.startTimer != nil {
			p.startTimer.Stop()
		}
		if p.st != nil {
			p.st.detach(p)
		}
		if p.opts.Close != nil {
			p.opts.Close()
		}
		close(p.done)
	})
}

// mimeKind returns "video" or "audio" for a MIME type such as "video/H264".
func mimeKind(mime string) string {
	k, _, _ := strings.Cut(mime, "/")
	return strings.ToLower(k)
}
