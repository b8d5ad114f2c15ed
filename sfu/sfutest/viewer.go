package sfutest

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Viewer is a WHEP client that records what it receives.
type Viewer struct {
	PC       *webrtc.PeerConnection
	Location string
	ETag     string // the session's ETag from the WHEP answer
	token    string
	// Stall makes the viewer stop reading its tracks (a stuck client).
	Stall atomic.Bool

	mu        sync.Mutex
	cond      chan struct{} // closed and replaced on every packet
	video     TrackStats
	audio     TrackStats
	firstNALs []byte
	firstVP8  []byte
	firstKey  time.Duration
	firstPkt  time.Duration
	connected time.Duration
	answered  time.Duration
	started   time.Time
	wg        sync.WaitGroup

	// Set with WatchOptions.HeadersOnly: RTP is counted from its headers
	// by the tap; ssrcs are the tracks' SSRCs as Pion reported them.
	tap       *headerTap
	mux       *ice.UDPMuxDefault
	videoSSRC uint32
	audioSSRC uint32
}

// TrackStats summarises one received track.
type TrackStats struct {
	Mime     string
	SSRCs    []uint32
	Packets  int
	Bytes    int
	Gaps     int // sequence numbers skipped forward
	Reorders int // packets at or behind the last sequence number
	MaxSize  int // largest RTP packet, header included, in bytes
	LastSeq  uint16
	started  bool
}

// WatchOptions tunes a Viewer.
type WatchOptions struct {
	// HeadersOnly, for load generators, counts packets from their RTP
	// headers and stops decrypting once the first video keyframe and the
	// first audio packet have been read (see headerTap). FirstNALs,
	// FirstVP8 and FirstKeyframe work as usual; Stats count packets and
	// sequence gaps from the headers, and Bytes is the SRTP payload size.
	HeadersOnly bool
}

// Watch offers to receive H264/VP8 video and Opus audio from whepURL.
func Watch(ctx context.Context, whepURL, token string) (*Viewer, error) {
	return WatchWith(ctx, whepURL, token, WatchOptions{})
}

// WatchWith is Watch with options.
func WatchWith(ctx context.Context, whepURL, token string, opts WatchOptions) (*Viewer, error) {
	var (
		tap *headerTap
		mux *ice.UDPMuxDefault
	)
	if opts.HeadersOnly {
		var err error
		if tap, err = newHeaderTap(); err != nil {
			return nil, err
		}
		mux = ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: tap})
	}
	var iceMux ice.UDPMux // stays a nil interface without a tap
	if mux != nil {
		iceMux = mux
	}
	pc, err := newPeerWith(false, iceMux)
	if err != nil {
		if mux != nil {
			mux.Close()
		}
		return nil, err
	}
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			pc.Close()
			return nil, err
		}
	}
	v := &Viewer{PC: pc, token: token, cond: make(chan struct{}), started: time.Now(), tap: tap, mux: mux}
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		v.wg.Add(1)
		go v.read(t)
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			v.mu.Lock()
			if v.connected == 0 {
				v.connected = time.Since(v.started)
			}
			v.mu.Unlock()
		}
	})
	loc, tag, err := exchange(ctx, pc, whepURL, token)
	if err != nil {
		v.Close()
		return nil, err
	}
	v.mu.Lock()
	v.answered = time.Since(v.started)
	v.mu.Unlock()
	v.Location, v.ETag = loc, tag
	return v, nil
}

func (v *Viewer) read(t *webrtc.TrackRemote) {
	defer v.wg.Done()
	video := t.Kind() == webrtc.RTPCodecTypeVideo
	buf := make([]byte, 1600)
	var pkt rtp.Packet
	for {
		for v.Stall.Load() {
			time.Sleep(10 * time.Millisecond)
			if v.PC.ConnectionState() == webrtc.PeerConnectionStateClosed {
				return
			}
		}
		n, _, err := t.Read(buf)
		if err != nil {
			return
		}
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		v.mu.Lock()
		s := &v.audio
		if video {
			if v.firstPkt == 0 {
				v.firstPkt = time.Since(v.started)
			}
			s = &v.video
			v.videoSSRC = pkt.SSRC
		} else {
			v.audioSSRC = pkt.SSRC
		}
		if video {
			if strings.EqualFold(t.Codec().MimeType, webrtc.MimeTypeVP8) {
				if v.firstVP8 == nil {
					v.firstVP8 = vp8Header(pkt.Payload)
				}
			} else {
				if len(v.firstNALs) < 16 && len(pkt.Payload) > 0 {
					v.firstNALs = append(v.firstNALs, nalTypes(pkt.Payload)...)
				}
				if v.firstKey == 0 && containsIDR(pkt.Payload) {
					v.firstKey = time.Since(v.started)
				}
			}
		}
		s.Mime = t.Codec().MimeType
		if v.tap != nil {
			// The tap counts; once the picture can start and audio flows,
			// the rest need not be decrypted.
			if v.firstKey != 0 && v.audioSSRC != 0 {
				v.tap.bypass.Store(true)
			}
		} else {
			if len(s.SSRCs) == 0 || s.SSRCs[len(s.SSRCs)-1] != pkt.SSRC {
				s.SSRCs = append(s.SSRCs, pkt.SSRC)
			}
			countSeq(s, pkt.SequenceNumber, n, len(pkt.Payload))
		}
		close(v.cond)
		v.cond = make(chan struct{})
		v.mu.Unlock()
	}
}

// countSeq adds one packet of size bytes (payload bytes of it) with
// sequence number seq to s.
func countSeq(s *TrackStats, seq uint16, size, payload int) {
	if s.started {
		switch d := int16(seq - s.LastSeq); {
		case d > 1:
			s.Gaps += int(d) - 1
		case d <= 0:
			s.Reorders++
		}
	}
	if !s.started || int16(seq-s.LastSeq) > 0 {
		s.LastSeq = seq
	}
	s.started = true
	s.Packets++
	s.MaxSize = max(s.MaxSize, size)
	s.Bytes += payload
}

// nalTypes lists the H264 NAL unit types a packet carries (the types inside
// a STAP-A, the fragmented type of an FU-A start).
func nalTypes(p []byte) []byte {
	switch t := p[0] & 0x1f; t {
	case 24:
		var out []byte
		for i := 1; i+2 < len(p); {
			size := int(p[i])<<8 | int(p[i+1])
			i += 2
			if i+size > len(p) || size == 0 {
				break
			}
			out = append(out, p[i]&0x1f)
			i += size
		}
		return out
	case 28:
		if len(p) > 1 && p[1]&0x80 != 0 {
			return []byte{p[1] & 0x1f}
		}
		return nil
	default:
		return []byte{t}
	}
}

func containsIDR(p []byte) bool {
	for _, t := range nalTypes(p) {
		if t == 5 {
			return true
		}
	}
	return false
}

// Stats returns copies of the video and audio statistics.
func (v *Viewer) Stats() (video, audio TrackStats) {
	v.mu.Lock()
	defer v.mu.Unlock()
	video, audio = v.video, v.audio
	if v.tap != nil {
		vm, am := video.Mime, audio.Mime
		video, audio = v.tap.stats(v.videoSSRC), v.tap.stats(v.audioSSRC)
		video.Mime, audio.Mime = vm, am
	}
	video.SSRCs = append([]uint32(nil), video.SSRCs...)
	audio.SSRCs = append([]uint32(nil), audio.SSRCs...)
	return video, audio
}

// FirstNALs returns the H264 NAL unit types of the first video packets
// (7 SPS, 8 PPS, 5 IDR, 1 non-IDR slice).
func (v *Viewer) FirstNALs() []byte {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]byte(nil), v.firstNALs...)
}

// FirstVP8 returns the first byte of the VP8 payload header of the first
// VP8 packet (bit 0 clear for a key frame), or nil.
func (v *Viewer) FirstVP8() []byte {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.firstVP8
}

// vp8Header skips the VP8 payload descriptor (RFC 7741 §4.2).
func vp8Header(p []byte) []byte {
	if len(p) < 1 {
		return []byte{}
	}
	i := 1
	if p[0]&0x80 != 0 && len(p) > 1 {
		ext := p[1]
		i = 2
		if ext&0x80 != 0 {
			if len(p) > i && p[i]&0x80 != 0 {
				i++
			}
			i++
		}
		if ext&0x40 != 0 {
			i++
		}
		if ext&0x30 != 0 {
			i++
		}
	}
	if i >= len(p) {
		return []byte{}
	}
	return []byte{p[i]}
}

// FirstKeyframe is the time from Watch's start to the first IDR packet (0
// before one arrived).
func (v *Viewer) FirstKeyframe() time.Duration {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.firstKey
}

// Timeline is when a viewer's steps happened, from Watch's start; zero
// for a step not reached.
type Timeline struct {
	Answered   time.Duration // WHEP answer applied (offer gathered, POST answered)
	Connected  time.Duration // ICE and DTLS up (PeerConnectionStateConnected)
	FirstVideo time.Duration // first video packet read
	Keyframe   time.Duration // first packet of an IDR read
}

// Timeline returns the viewer's timeline so far.
func (v *Viewer) Timeline() Timeline {
	v.mu.Lock()
	defer v.mu.Unlock()
	return Timeline{Answered: v.answered, Connected: v.connected, FirstVideo: v.firstPkt, Keyframe: v.firstKey}
}

// WaitFor waits until cond holds for the stats, or ctx ends.
func (v *Viewer) WaitFor(ctx context.Context, cond func(video, audio TrackStats) bool) bool {
	if v.tap != nil {
		// Header counts change without a signal: poll them.
		for {
			if cond(v.Stats()) {
				return true
			}
			select {
			case <-ctx.Done():
				return false
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	for {
		v.mu.Lock()
		ok := cond(v.video, v.audio)
		ch := v.cond
		v.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-ch:
		}
	}
}

// Delete ends the session with DELETE and closes the connection.
func (v *Viewer) Delete(ctx context.Context) (int, error) {
	code, err := deleteSession(ctx, v.Location, v.token)
	v.Close()
	return code, err
}

// Close closes the connection and waits for the read loops.
func (v *Viewer) Close() {
	v.PC.Close()
	if v.mux != nil {
		v.mux.Close() // a mux given to Pion is not closed with the peer
	}
	v.wg.Wait()
}
