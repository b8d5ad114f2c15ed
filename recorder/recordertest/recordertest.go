// Package recordertest holds what recorder tests share: the committed
// H264 + Opus fixture as RTP (gortsplib's rtph264 encoder, one Opus packet
// per RTP packet) with synthetic arrival times and optional RTCP sender
// reports, and ffprobe/ffmpeg helpers. It is for tests only.
package recordertest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4"
	"github.com/pion/rtp"

	"github.com/dropcast/dropcast/sfu"
)

// Fixture is testdata/fixture.mp4 as access units and Opus packets.
type Fixture struct {
	SPS, PPS []byte
	Video    []Video
	audio    []fxAudio
	length   time.Duration
}

// Video is one access unit.
type Video struct {
	PTS int64 // 90 kHz
	AU  [][]byte
}

// IDR reports whether the access unit holds an IDR slice.
func (v Video) IDR() bool {
	for _, n := range v.AU {
		if len(n) > 0 && h264.NALUType(n[0]&0x1f) == h264.NALUTypeIDR {
			return true
		}
	}
	return false
}

type fxAudio struct {
	ts      int64 // 48 kHz
	payload []byte
}

// FixturePath is the committed fixture, testdata/fixture.mp4.
func FixturePath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "fixture.mp4")
}

// LoadFixture reads an fMP4 file with one H264 and one Opus track.
func LoadFixture(tb testing.TB, path string) *Fixture {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var init fmp4.Init
	if err := init.Unmarshal(bytes.NewReader(b)); err != nil {
		tb.Fatalf("read %s: %v", path, err)
	}
	var parts fmp4.Parts
	if err := parts.Unmarshal(b); err != nil {
		tb.Fatalf("read %s: %v", path, err)
	}
	fx := &Fixture{}
	for _, it := range init.Tracks {
		if c, ok := it.Codec.(*mp4.CodecH264); ok {
			fx.SPS, fx.PPS = c.SPS, c.PPS
		}
		for _, p := range parts {
			for _, pt := range p.Tracks {
				if pt.ID != it.ID {
					continue
				}
				t := int64(pt.BaseTime)
				for _, s := range pt.Samples {
					switch it.Codec.(type) {
					case *mp4.CodecH264:
						var au h264.AVCC
						if err := au.Unmarshal(s.Payload); err != nil {
							tb.Fatal(err)
						}
						pts := (t + int64(s.PTSOffset)) * 90000 / int64(it.TimeScale)
						fx.Video = append(fx.Video, Video{PTS: pts, AU: au})
					case *mp4.CodecOpus:
						fx.audio = append(fx.audio, fxAudio{ts: t * 48000 / int64(it.TimeScale), payload: s.Payload})
					}
					t += int64(s.Duration)
				}
				if d := time.Duration(t * int64(time.Second) / int64(it.TimeScale)); d > fx.length {
					fx.length = d
				}
			}
		}
	}
	if len(fx.Video) == 0 || len(fx.audio) == 0 {
		tb.Fatalf("%s: want H264 and Opus", path)
	}
	// Loop on whole seconds so that looped keyframes stay 1 s apart.
	fx.length = fx.length.Truncate(time.Second)
	return fx
}

// Feed describes how to play the fixture into a sink.
type Feed struct {
	Length     time.Duration // media to send (the fixture loops)
	Start      time.Time     // wall time of media time zero
	AudioDelay time.Duration // extra arrival delay of audio (lookahead, jitter)
	SRs        bool          // send RTCP sender reports (exact NTP mapping)
	SRStart    time.Duration // when the first sender reports come; 200 ms when 0
	// MediaOffset shifts the RTP timestamps, to continue an earlier run of
	// the same session.
	MediaOffset time.Duration
}

// Packet is an RTP packet or (NTP set) a sender report to hand to a sink.
type Packet struct {
	Track   int
	Pkt     *rtp.Packet
	Arrival time.Time
	NTP     time.Time // set for a sender report
}

// Packets renders the Feed as RTP packets in arrival order.
func (fx *Fixture) Packets(tb testing.TB, fd Feed) []Packet {
	tb.Helper()
	ssrc, seq := uint32(1), uint16(65000) // sequence numbers wrap early on purpose
	enc := &rtph264.Encoder{PayloadType: 96, SSRC: &ssrc, InitialSequenceNumber: &seq, PacketizationMode: 1, PayloadMaxSize: 1200}
	if err := enc.Init(); err != nil {
		tb.Fatal(err)
	}
	const vBase, aBase = uint32(4294000000), uint32(123456) // RTP timestamps wrap too
	var out []Packet
	loopV := fx.length.Nanoseconds() * 90000 / int64(time.Second)
	for loop := int64(0); ; loop++ {
		done := false
		for _, v := range fx.Video {
			pts := v.PTS + loop*loopV
			at := time.Duration(pts * int64(time.Second) / 90000)
			if at >= fd.Length {
				done = true
				break
			}
			pkts, err := enc.Encode(v.AU)
			if err != nil {
				tb.Fatal(err)
			}
			for _, p := range pkts {
				p.Timestamp = vBase + uint32(pts+fd.MediaOffset.Nanoseconds()*90000/int64(time.Second))
				out = append(out, Packet{Track: 0, Pkt: p, Arrival: fd.Start.Add(at)})
			}
		}
		if done {
			break
		}
	}
	loopA := fx.length.Nanoseconds() * 48000 / int64(time.Second)
	aseq := uint16(100)
	for loop := int64(0); ; loop++ {
		done := false
		for _, a := range fx.audio {
			ts := a.ts + loop*loopA
			at := time.Duration(ts * int64(time.Second) / 48000)
			if at >= fd.Length {
				done = true
				break
			}
			p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: aseq, Timestamp: aBase + uint32(ts+fd.MediaOffset.Nanoseconds()*48000/int64(time.Second)), SSRC: 2, Marker: false}, Payload: a.payload}
			aseq++
			out = append(out, Packet{Track: 1, Pkt: p, Arrival: fd.Start.Add(at + fd.AudioDelay)})
		}
		if done {
			break
		}
	}
	slices.SortStableFunc(out, func(a, b Packet) int { return a.Arrival.Compare(b.Arrival) })
	if fd.SRs {
		// One sender report per track per second, carrying the true mapping.
		var withSR []Packet
		first := fd.SRStart
		if first == 0 {
			first = 200 * time.Millisecond
		}
		next := [2]time.Time{fd.Start.Add(first), fd.Start.Add(first)}
		for _, p := range out {
			withSR = append(withSR, p)
			if p.Arrival.After(next[p.Track]) {
				base, clock := vBase, int64(90000)
				if p.Track == 1 {
					base, clock = aBase, 48000
				}
				media := int64(p.Pkt.Timestamp-base) - fd.MediaOffset.Nanoseconds()*clock/int64(time.Second)
				ntp := fd.Start.Add(time.Duration(media * int64(time.Second) / clock))
				withSR = append(withSR, Packet{Track: p.Track, Pkt: &rtp.Packet{Header: rtp.Header{Timestamp: p.Pkt.Timestamp}}, NTP: ntp, Arrival: p.Arrival})
				next[p.Track] = p.Arrival.Add(time.Second)
			}
		}
		out = withSR
	}
	return out
}

// Tracks are the sfu track descriptions of the fixture (SPS/PPS in the fmtp).
func (fx *Fixture) Tracks() []sfu.TrackInfo {
	return []sfu.TrackInfo{
		{Kind: "video", MimeType: "video/H264", ClockRate: 90000, SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f;sprop-parameter-sets=" +
			base64.StdEncoding.EncodeToString(fx.SPS) + "," + base64.StdEncoding.EncodeToString(fx.PPS)},
		{Kind: "audio", MimeType: "audio/opus", ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
	}
}

// Play sends packets to s as fast as it takes them.
func Play(s sfu.Sink, pkts []Packet) {
	for _, p := range pkts {
		if !p.NTP.IsZero() {
			s.SinkSenderReport(p.Track, p.Pkt.Timestamp, p.NTP)
			continue
		}
		s.SinkRTP(p.Track, p.Pkt, p.Arrival)
	}
}

// Probe is what ffprobe says about a media file or playlist.
type Probe struct {
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
	Streams []struct {
		CodecName string `json:"codec_name"`
		CodecType string `json:"codec_type"`
		StartTime string `json:"start_time"`
	} `json:"streams"`
}

// NeedFFmpeg fails the test when ffmpeg or ffprobe is missing.
func NeedFFmpeg(tb testing.TB) {
	tb.Helper()
	for _, tool := range []string{"ffprobe", "ffmpeg"} {
		if _, err := exec.LookPath(tool); err != nil {
			tb.Fatalf("%s not found: apt-get install -y ffmpeg", tool)
		}
	}
}

// FFprobe reads format duration and streams of a file or URL.
func FFprobe(tb testing.TB, target string, extra ...string) Probe {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{"-v", "error"}, extra...)
	args = append(args, "-show_entries", "format=duration:stream=codec_name,codec_type,start_time", "-of", "json", target)
	out, err := exec.CommandContext(ctx, "ffprobe", args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("ffprobe %s: %v\n%s", target, err, out)
	}
	var p Probe
	if err := json.Unmarshal(out, &p); err != nil {
		tb.Fatalf("ffprobe output: %v\n%s", err, out)
	}
	return p
}

// Duration is the format duration in seconds.
func (p Probe) Duration(tb testing.TB) float64 {
	tb.Helper()
	d, err := strconv.ParseFloat(p.Format.Duration, 64)
	if err != nil {
		tb.Fatalf("duration %q: %v", p.Format.Duration, err)
	}
	return d
}

// Start is the start time in seconds of the first stream of codecType.
func (p Probe) Start(tb testing.TB, codecType string) float64 {
	tb.Helper()
	for _, s := range p.Streams {
		if s.CodecType == codecType {
			v, err := strconv.ParseFloat(s.StartTime, 64)
			if err != nil {
				tb.Fatalf("start_time %q: %v", s.StartTime, err)
			}
			return v
		}
	}
	tb.Fatalf("no %s stream in %+v", codecType, p)
	return 0
}

// DecodeErrors runs ffmpeg -v error -i FILE -f null - and returns its output.
func DecodeErrors(tb testing.TB, path string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput()
	if err != nil {
		return string(out) + err.Error()
	}
	return string(out)
}

// FirstVideoPacketFlags returns ffprobe's flags of the first video packet
// ("K_" for a keyframe).
func FirstVideoPacketFlags(tb testing.TB, path string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=flags",
		"-read_intervals", "%+#1", "-of", "csv=p=0", path).CombinedOutput()
	if err != nil {
		tb.Fatalf("ffprobe packets: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// Renumber joins two packet runs of one publisher session, continuing the
// second run's RTP sequence numbers after the first's per track.
func Renumber(first, second []Packet) []Packet {
	var last [2]uint16
	for _, p := range first {
		if p.NTP.IsZero() {
			last[p.Track] = p.Pkt.SequenceNumber
		}
	}
	var base [2]int
	seen := [2]bool{}
	out := slices.Clone(first)
	for _, p := range second {
		if p.NTP.IsZero() {
			if !seen[p.Track] {
				seen[p.Track] = true
				base[p.Track] = int(last[p.Track]) + 1 - int(p.Pkt.SequenceNumber)
			}
			q := *p.Pkt
			q.SequenceNumber = uint16(int(p.Pkt.SequenceNumber) + base[p.Track])
			p.Pkt = &q
		}
		out = append(out, p)
	}
	return out
}
