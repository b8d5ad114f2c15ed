package sfu

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/dropcast/dropcast/drops"
)

// negotiate applies an offer and returns the answer with every local
// candidate in it: OBS sends no candidates and does no trickle ICE, so the
// answer must carry reachable addresses.
func (r *Registry) negotiate(ctx context.Context, pc *webrtc.PeerConnection, offer string, beforeAnswer func() error) (string, error) {
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	if beforeAnswer != nil {
		if err := beforeAnswer(); err != nil {
			return "", err
		}
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoCodec, err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		if errors.Is(err, webrtc.ErrUnsupportedCodec) || strings.Contains(err.Error(), "codec") {
			return "", fmt.Errorf("%w: %v", ErrNoCodec, err)
		}
		return "", fmt.Errorf("set local description: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.GatherTimeout)
	defer cancel()
	select {
	case <-gathered:
	case <-ctx.Done():
		r.log.Warn("ice gathering incomplete; answering with the candidates so far")
	}
	return pc.LocalDescription().SDP, nil
}

// acceptedMedia counts the audio/video sections of an answer that were
// accepted (non-zero port, a direction other than inactive).
func acceptedMedia(answer string) int {
	var sd sdp.SessionDescription
	if sd.UnmarshalString(answer) != nil {
		return 0
	}
	n := 0
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Port.Value == 0 || (md.MediaName.Media != "audio" && md.MediaName.Media != "video") {
			continue
		}
		if _, inactive := md.Attribute("inactive"); inactive {
			continue
		}
		n++
	}
	return n
}

// PublishWHIP answers a WHIP offer for burst b (checked with Authorize) and
// attaches the new publisher. Errors: ErrBadOffer, ErrNoCodec,
// ErrPublisherActive, ErrBurstEnded, ErrClosed.
func (r *Registry) PublishWHIP(ctx context.Context, b drops.Burst, offer string) (Session, error) {
	if _, err := ParseOffer(offer, true); err != nil {
		return Session{}, err
	}
	if st := r.Stream(b.ID); st != nil && st.busy() {
		return Session{}, ErrPublisherActive
	}
	pc, err := r.eng.newPeer()
	if err != nil {
		return Session{}, fmt.Errorf("new peer connection: %w", err)
	}
	answer, err := r.negotiate(ctx, pc, offer, nil)
	if err != nil {
		pc.Close()
		return Session{}, err
	}
	n := acceptedMedia(answer)
	if n == 0 {
		pc.Close()
		return Session{}, fmt.Errorf("%w: no offered codec matches the server's", ErrNoCodec)
	}
	var videoSSRC atomic.Uint32
	pub, err := r.Publish(ctx, b, PublishOptions{
		Kind:   "whip",
		Tracks: n,
		RequestKeyframe: func() {
			if ssrc := videoSSRC.Load(); ssrc != 0 {
				_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}) // a closed peer is moot
			}
		},
		Close: func() { _ = pc.Close() },
	})
	if err != nil {
		pc.Close()
		return Session{}, err
	}
	id, tag := newID(), etag()
	r.addSession(id, &session{burstID: b.ID, pub: pub, pc: pc, etag: tag, offer: offer})
	var sim *layers // the simulcast layers of the video, when it has rids
	var simOnce sync.Once
	pc.OnTrack(func(t *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		if t.Kind() == webrtc.RTPCodecTypeVideo && t.RID() != "" {
			simOnce.Do(func() {
				sim = newLayers(t.Codec().MimeType,
					func(ssrc uint32) {
						_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}) // a closed peer is moot
					},
					func(ssrc uint32) {
						videoSSRC.Store(ssrc)
						pub.st.log.Info("simulcast layer forwarded", "ssrc", ssrc)
					})
			})
			sim.add(t.RID(), uint32(t.SSRC()))
			if pub.hasTrack("video") {
				// Another layer of the declared video: read and weighed.
				if r.track(2) {
					go r.readTrack(pub, trackVideo, t, sim)
					go r.readReceiverRTCP(pub, trackVideo, recv, t.RID(), &videoSSRC)
				}
				return
			}
		} else if pub.hasTrack(t.Kind().String()) {
			pub.st.log.Warn("extra publisher track ignored", "kind", t.Kind().String())
			return
		}
		c := t.Codec()
		info := TrackInfo{Kind: t.Kind().String(), MimeType: c.MimeType, ClockRate: c.ClockRate, Channels: c.Channels, SDPFmtpLine: c.SDPFmtpLine}
		slot, err := pub.SetTrack(info)
		if err != nil {
			pub.st.log.Warn("publisher track refused", "err", err)
			return
		}
		if slot == trackVideo {
			videoSSRC.Store(uint32(t.SSRC()))
		}
		if !r.track(2) {
			return
		}
		var layer *layers // nil unless this is a simulcast layer
		if slot == trackVideo {
			layer = sim
		}
		go r.readTrack(pub, slot, t, layer)
		go r.readReceiverRTCP(pub, slot, recv, t.RID(), &videoSSRC)
		if slot == trackVideo {
			pub.st.requestKeyframe()
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateClosed {
			r.removeSession(id)
			pub.Close()
		}
	})
	return Session{ID: id, Answer: answer, ETag: tag}, nil
}

// readTrack is a publisher track's read loop: it only parses and hands off.
// For a simulcast layer (sim not nil) it hands off only while sim forwards
// that layer.
func (r *Registry) readTrack(pub *Publisher, slot int, t *webrtc.TrackRemote, sim *layers) {
	defer r.wg.Done()
	rid := t.RID()
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			return
		}
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		now := time.Now()
		if sim == nil || sim.forward(rid, pkt.Payload, now) {
			pub.WriteRTP(slot, &pkt, now)
		}
	}
}

// track counts n more publisher goroutines, unless the registry is closed
// (then it reports false and none may start).
func (r *Registry) track(n int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.wg.Add(n)
	return true
}

// readReceiverRTCP drains the RTCP of a publisher's track (which drives
// Pion's receiver-report and NACK interceptors) and passes sender reports on
// to the sinks. For a simulcast layer (rid not "") it passes only those of
// the layer being forwarded, whose SSRC is active: each layer has its own
// RTP clock base, so another layer's would misplace the recording's audio.
func (r *Registry) readReceiverRTCP(pub *Publisher, slot int, recv *webrtc.RTPReceiver, rid string, active *atomic.Uint32) {
	defer r.wg.Done()
	read := recv.ReadRTCP
	if rid != "" {
		read = func() ([]rtcp.Packet, interceptor.Attributes, error) { return recv.ReadSimulcastRTCP(rid) }
	}
	for {
		pkts, _, err := read()
		if err != nil {
			return
		}
		for _, p := range pkts {
			if sr, ok := p.(*rtcp.SenderReport); ok && (rid == "" || sr.SSRC == active.Load()) {
				pub.SenderReport(slot, sr.RTPTime, ntpTime(sr.NTPTime))
			}
		}
	}
}

// ntpTime converts a 64-bit NTP timestamp to time.Time.
func ntpTime(v uint64) time.Time {
	const ntpEpochOffset = 2208988800
	secs := int64(v>>32) - ntpEpochOffset
	frac := (v & 0xffffffff) * 1e9 >> 32
	return time.Unix(secs, int64(frac))
}

// Subscribe answers a WHEP offer for the burst's stream. Errors:
// ErrBadOffer, ErrNoCodec, ErrNotLive, ErrClosed.
func (r *Registry) Subscribe(ctx context.Context, burstID int64, offer string) (Session, error) {
	want, err := ParseOffer(offer, false)
	if err != nil {
		return Session{}, err
	}
	st := r.Stream(burstID)
	if st == nil {
		return Session{}, ErrNotLive
	}
	st.mu.Lock()
	pub := st.pub
	st.mu.Unlock()
	if pub != nil {
		// The same bound after which sinks start with the tracks so far.
		pub.awaitTracks(ctx, time.Second)
	}
	infos := st.trackInfos()
	if (infos[trackVideo] == nil || !want.Video) && (infos[trackAudio] == nil || !want.Audio) {
		if infos[trackVideo] == nil && infos[trackAudio] == nil {
			return Session{}, fmt.Errorf("%w: the publisher has not sent media yet", ErrNotLive)
		}
		return Session{}, fmt.Errorf("%w: the offer receives none of the stream's media", ErrNoCodec)
	}
	pc, err := r.eng.newPeer()
	if err != nil {
		return Session{}, fmt.Errorf("new peer connection: %w", err)
	}
	id := newID()
	v := newViewer(id, st, pc, r.cfg.ViewerQueue)
	answer, err := r.negotiate(ctx, pc, offer, func() error {
		for slot, info := range infos {
			if info == nil || (slot == trackVideo && !want.Video) || (slot == trackAudio && !want.Audio) {
				continue
			}
			kind := webrtc.RTPCodecTypeVideo
			if slot == trackAudio {
				kind = webrtc.RTPCodecTypeAudio
			}
			t := newOutTrack(kind, info.MimeType, fmt.Sprintf("burst-%d", burstID))
			if _, err := pc.AddTrack(t); err != nil {
				return fmt.Errorf("add %s track: %w", kind, err)
			}
			v.tracks[slot] = t
		}
		return nil
	})
	if err != nil {
		pc.Close()
		return Session{}, err
	}
	for slot, t := range v.tracks {
		if t != nil && t.binding.Load() == nil {
			pc.Close()
			return Session{}, fmt.Errorf("%w: the viewer cannot receive %s", ErrNoCodec, infos[slot].MimeType)
		}
	}
	if err := st.addViewer(v); err != nil {
		pc.Close()
		return Session{}, err
	}
	tag := etag()
	r.addSession(id, &session{burstID: burstID, viewer: v, pc: pc, etag: tag, offer: offer})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			v.connected()
		}
		if s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateClosed {
			r.removeSession(id)
			v.close()
		}
	})
	v.start()
	if pc.ConnectionState() == webrtc.PeerConnectionStateConnected {
		v.connected()
	}
	st.requestKeyframe()
	return Session{ID: id, Answer: answer, ETag: tag}, nil
}

func etag() string { return `"` + newID()[:16] + `"` }
