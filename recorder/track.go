package recorder

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtp"

	"github.com/dropcast/dropcast/sfu"
)

// sample is one access unit (H264) or packet (Opus) in the track's own RTP
// clock, before it is placed on a part's timeline.
type sample struct {
	dts       int64 // unwrapped RTP ticks
	ptsOffset int32
	sync      bool
	au        [][]byte // H264 NAL units; nil for audio
	payload   []byte   // Opus packet
	sps, pps  []byte   // H264 parameters in force for this sample
	discont   bool     // the source's timestamps jumped before this sample
}

// anchor maps an unwrapped RTP timestamp to wall-clock time.
type anchor struct {
	ts   int64
	wall time.Time
}

// wall is the wall-clock time of ts under a.
func (a anchor) at(ts int64, clock uint32) time.Time {
	return a.wall.Add(time.Duration((ts - a.ts) * int64(time.Second) / int64(clock)))
}

// track is the per-source state of one publisher session: RTP timestamp
// unwrapping, the timing anchors and, for H264, depacketizing and DTS.
// It is owned by the Recorder's goroutine.
type track struct {
	info  sfu.TrackInfo
	video bool
	clock uint32

	haveTS  bool
	lastTS  uint32
	ts64    int64
	haveSeq bool
	lastSeq uint16

	arrival *anchor // first packet's timestamp and arrival time
	sr      *anchor // latest RTCP sender report

	dec      *rtph264.Decoder
	dts      *h264.DTSExtractor
	sps, pps []byte
	waitIDR  bool
	prevTS   int64 // unwrapped timestamp of the previous packet (H264)
	discont  bool  // a timestamp jump was seen; the next sample carries it
}

// Timestamp jumps beyond these are a new timeline (an encoder restart
// behind the same session), not reordering or a pause.
const (
	maxJumpBack    = time.Second
	maxJumpForward = 10 * time.Second
)

// errUnsupportedCodec is returned for sources the recorder refuses.
var errUnsupportedCodec = errors.New("codec not recorded")

// newTrack prepares a track for info, or explains why it is not recorded.
func newTrack(info sfu.TrackInfo) (*track, error) {
	mime := strings.ToLower(info.MimeType)
	t := &track{info: info, clock: info.ClockRate}
	switch mime {
	case "video/h264":
		t.video = true
		if t.clock == 0 {
			t.clock = 90000
		}
		t.dec = &rtph264.Decoder{PacketizationMode: 1}
		if err := t.dec.Init(); err != nil {
			return nil, err
		}
		t.dts = &h264.DTSExtractor{}
		t.dts.Initialize()
		t.waitIDR = true
		t.sps, t.pps = spropParameterSets(info.SDPFmtpLine)
	case "audio/opus":
		if t.clock == 0 {
			t.clock = 48000
		}
	case "video/vp8", "video/vp9", "video/av1":
		return nil, fmt.Errorf("%w: %s (fragmented MP4 recording takes H264; publish H264 from OBS or the browser)", errUnsupportedCodec, info.MimeType)
	default:
		return nil, fmt.Errorf("%w: %s", errUnsupportedCodec, info.MimeType)
	}
	return t, nil
}

// unwrap extends a 32-bit RTP timestamp to 64 bits around the last one seen;
// reordered packets get values below it.
func (t *track) unwrap(ts uint32) int64 {
	if !t.haveTS {
		t.haveTS, t.lastTS, t.ts64 = true, ts, int64(ts)
		return t.ts64
	}
	v := t.ts64 + int64(int32(ts-t.lastTS))
	if v > t.ts64 {
		t.ts64, t.lastTS = v, ts
	}
	return v
}

// senderReport records an RTCP SR mapping.
func (t *track) senderReport(rtpTime uint32, ntp time.Time) {
	var ts int64
	if t.haveTS {
		ts = t.ts64 + int64(int32(rtpTime-t.lastTS))
	} else {
		ts = int64(rtpTime)
	}
	t.sr = &anchor{ts: ts, wall: ntp}
}

// push feeds one RTP packet and returns the samples it completes. gap is
// true when packets were lost before this one.
func (t *track) push(pkt *rtp.Packet, arrival time.Time) (out []sample, decodeErr error) {
	gap := t.haveSeq && pkt.SequenceNumber != t.lastSeq+1
	if t.haveSeq && int16(pkt.SequenceNumber-t.lastSeq) <= 0 {
		return nil, nil // duplicate or late retransmission: the AU is gone
	}
	t.haveSeq, t.lastSeq = true, pkt.SequenceNumber
	hadTS, last := t.haveTS, t.ts64
	ts := t.unwrap(pkt.Timestamp)
	if hadTS && (ts < last-int64(t.clock)*int64(maxJumpBack/time.Second) || ts > last+int64(t.clock)*int64(maxJumpForward/time.Second)) {
		// Re-anchor on this packet and resynchronize on a keyframe.
		t.ts64, t.lastTS = ts, pkt.Timestamp
		t.arrival, t.sr, t.discont = nil, nil, true
		gap = true
	}
	if t.arrival == nil {
		t.arrival = &anchor{ts: ts, wall: arrival}
	}
	if !t.video {
		if len(pkt.Payload) == 0 {
			return nil, nil
		}
		d := t.discont
		t.discont = false
		return []sample{{dts: ts, sync: true, payload: bytes.Clone(pkt.Payload), discont: d}}, nil
	}
	if gap {
		// A lost packet corrupts the AU being assembled; start again at the
		// next keyframe so that everything written decodes.
		t.dec = &rtph264.Decoder{PacketizationMode: 1}
		_ = t.dec.Init()
		t.waitIDR = true
	}
	prev := t.prevTS
	t.prevTS = ts
	au, err := t.dec.Decode(pkt)
	if errors.Is(err, rtph264.ErrMorePacketsNeeded) || errors.Is(err, rtph264.ErrNonStartingPacketAndNoPrevious) {
		return nil, nil
	}
	if err != nil {
		t.waitIDR = true
		return nil, fmt.Errorf("depacketize h264: %w", err)
	}
	auTS := ts
	if !pkt.Marker {
		auTS = prev // the decoder split on a timestamp change: the AU is the previous one
	}
	s, ok, err := t.videoSample(au, auTS)
	if err != nil || !ok {
		return nil, err
	}
	return []sample{s}, nil
}

// videoSample turns an access unit into a sample: it drops delimiters,
// keeps SPS/PPS current, puts them in front of IDR frames that lack them,
// waits for an IDR after a loss and computes the DTS.
func (t *track) videoSample(au [][]byte, pts int64) (sample, bool, error) {
	filtered := au[:0:0]
	idr, haveSPS := false, false
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeAccessUnitDelimiter:
			continue
		case h264.NALUTypeSPS:
			t.sps, haveSPS = bytes.Clone(n), true
		case h264.NALUTypePPS:
			t.pps = bytes.Clone(n)
		case h264.NALUTypeIDR:
			idr = true
		}
		filtered = append(filtered, n)
	}
	if t.waitIDR && !idr {
		return sample{}, false, nil
	}
	if idr && (t.sps == nil || t.pps == nil) {
		return sample{}, false, nil // no parameter sets yet: wait for the next IDR
	}
	if idr && !haveSPS {
		filtered = append([][]byte{t.sps, t.pps}, filtered...)
	}
	if idr && t.waitIDR {
		t.dts = &h264.DTSExtractor{}
		t.dts.Initialize()
	}
	dts, err := t.dts.Extract(filtered, pts)
	if err != nil {
		t.waitIDR = true
		return sample{}, false, fmt.Errorf("extract dts: %w", err)
	}
	t.waitIDR = false
	d := t.discont
	t.discont = false
	return sample{dts: dts, ptsOffset: int32(pts - dts), sync: idr, au: filtered, sps: t.sps, pps: t.pps, discont: d}, true, nil
}
