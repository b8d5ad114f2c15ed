package sfutest

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Viewer is a WHEP client that records what it receives.
type Viewer struct {
	PC       *webrtc.PeerConnection
	Location string
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
	started   time.Time
	wg        sync.WaitGroup
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

// Watch offers to receive H264/VP8 video and Opus audio from whepURL.
func Watch(ctx context.Context, whepURL, token string) (*Viewer, error) {
	pc, err := newPeer(false)
	if err != nil {
		return nil, err
	}
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			pc.Close()
			return nil, err
		}
	}
	v := &Viewer{PC: pc, token: token, cond: make(chan struct{}), started: time.Now()}
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		v.wg.Add(1)
		go v.read(t)
	})
	loc, err := exchange(ctx, pc, whepURL, token)
	if err != nil {
		pc.Close()
		return nil, err
	}
	v.Location = loc
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
			s = &v.video
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
		if len(s.SSRCs) == 0 || s.SSRCs[len(s.SSRCs)-1] != pkt.SSRC {
			s.SSRCs = append(s.SSRCs, pkt.SSRC)
		}
		if s.started {
			switch d := int16(pkt.SequenceNumber - s.LastSeq); {
			case d > 1:
				s.Gaps += int(d) - 1
			case d <= 0:
				s.Reorders++
			}
		}
		if !s.started || int16(pkt.SequenceNumber-s.LastSeq) > 0 {
			s.LastSeq = pkt.SequenceNumber
		}
		s.started = true
		s.Packets++
		s.MaxSize = max(s.MaxSize, n)
		s.Bytes += len(pkt.Payload)
		close(v.cond)
		v.cond = make(chan struct{})
		v.mu.Unlock()
	}
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

// WaitFor waits until cond holds for the stats, or ctx ends.
func (v *Viewer) WaitFor(ctx context.Context, cond func(video, audio TrackStats) bool) bool {
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
	v.wg.Wait()
}
