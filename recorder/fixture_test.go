package recorder_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4"
	"github.com/pion/rtp"

	"github.com/dropcast/dropcast/sfu"
)

// fixture is testdata/fixture.mp4 as access units and Opus packets.
type fixture struct {
	sps, pps []byte
	video    []fxVideo
	audio    []fxAudio
	length   time.Duration
}

type fxVideo struct {
	pts int64 // 90 kHz
	au  [][]byte
}

type fxAudio struct {
	ts      int64 // 48 kHz
	payload []byte
}

func loadFixture(tb testing.TB, path string) *fixture {
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
	fx := &fixture{}
	for _, it := range init.Tracks {
		if c, ok := it.Codec.(*mp4.CodecH264); ok {
			fx.sps, fx.pps = c.SPS, c.PPS
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
						fx.video = append(fx.video, fxVideo{pts: pts, au: au})
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
	if len(fx.video) == 0 || len(fx.audio) == 0 {
		tb.Fatalf("%s: want H264 and Opus", path)
	}
	// Loop on whole seconds so that looped keyframes stay 1 s apart.
	fx.length = fx.length.Truncate(time.Second)
	return fx
}

// feed describes how to play the fixture into a sink.
type feed struct {
	length     time.Duration // media to send (the fixture loops)
	start      time.Time     // wall time of media time zero
	audioDelay time.Duration // extra arrival delay of audio (lookahead, jitter)
	srs        bool          // send RTCP sender reports (exact NTP mapping)
	skipStart  bool          // do not call SinkStart
}

type fxPacket struct {
	track   int
	pkt     *rtp.Packet
	arrival time.Time
	ntp     time.Time
}

// packets renders the feed as RTP packets in arrival order.
func (fx *fixture) packets(tb testing.TB, fd feed) []fxPacket {
	tb.Helper()
	ssrc, seq := uint32(1), uint16(65000) // sequence numbers wrap early on purpose
	enc := &rtph264.Encoder{PayloadType: 96, SSRC: &ssrc, InitialSequenceNumber: &seq, PacketizationMode: 1, PayloadMaxSize: 1200}
	if err := enc.Init(); err != nil {
		tb.Fatal(err)
	}
	const vBase, aBase = uint32(4294000000), uint32(123456) // RTP timestamps wrap too
	var out []fxPacket
	loopV := fx.length.Nanoseconds() * 90000 / int64(time.Second)
	for loop := int64(0); ; loop++ {
		done := false
		for _, v := range fx.video {
			pts := v.pts + loop*loopV
			at := time.Duration(pts * int64(time.Second) / 90000)
			if at >= fd.length {
				done = true
				break
			}
			pkts, err := enc.Encode(v.au)
			if err != nil {
				tb.Fatal(err)
			}
			for _, p := range pkts {
				p.Timestamp = vBase + uint32(pts)
				out = append(out, fxPacket{track: 0, pkt: p, arrival: fd.start.Add(at)})
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
			if at >= fd.length {
				done = true
				break
			}
			p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: aseq, Timestamp: aBase + uint32(ts), SSRC: 2, Marker: false}, Payload: a.payload}
			aseq++
			out = append(out, fxPacket{track: 1, pkt: p, arrival: fd.start.Add(at + fd.audioDelay)})
		}
		if done {
			break
		}
	}
	slices.SortStableFunc(out, func(a, b fxPacket) int { return a.arrival.Compare(b.arrival) })
	if fd.srs {
		// One sender report per track per second, carrying the true mapping.
		var withSR []fxPacket
		next := [2]time.Time{fd.start.Add(200 * time.Millisecond), fd.start.Add(200 * time.Millisecond)}
		for _, p := range out {
			withSR = append(withSR, p)
			if p.arrival.After(next[p.track]) {
				base, clock := vBase, int64(90000)
				if p.track == 1 {
					base, clock = aBase, 48000
				}
				media := int64(p.pkt.Timestamp - base)
				ntp := fd.start.Add(time.Duration(media * int64(time.Second) / clock))
				withSR = append(withSR, fxPacket{track: p.track, pkt: &rtp.Packet{Header: rtp.Header{Timestamp: p.pkt.Timestamp}}, ntp: ntp, arrival: p.arrival})
				next[p.track] = p.arrival.Add(time.Second)
			}
		}
		out = withSR
	}
	return out
}

func (fx *fixture) tracks() []sfu.TrackInfo {
	return []sfu.TrackInfo{
		{Kind: "video", MimeType: "video/H264", ClockRate: 90000, SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f;sprop-parameter-sets=" +
			base64.StdEncoding.EncodeToString(fx.sps) + "," + base64.StdEncoding.EncodeToString(fx.pps)},
		{Kind: "audio", MimeType: "audio/opus", ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
	}
}

// play sends packets to s as fast as it takes them.
func play(s sfu.Sink, pkts []fxPacket) {
	for _, p := range pkts {
		if !p.ntp.IsZero() {
			s.SinkSenderReport(p.track, p.pkt.Timestamp, p.ntp)
			continue
		}
		s.SinkRTP(p.track, p.pkt, p.arrival)
	}
}

// probe is what ffprobe says about a media file or playlist.
type probe struct {
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
	Streams []struct {
		CodecName string `json:"codec_name"`
		CodecType string `json:"codec_type"`
		StartTime string `json:"start_time"`
	} `json:"streams"`
}

func needFFmpeg(tb testing.TB) {
	tb.Helper()
	for _, tool := range []string{"ffprobe", "ffmpeg"} {
		if _, err := exec.LookPath(tool); err != nil {
			tb.Fatalf("%s not found: apt-get install -y ffmpeg", tool)
		}
	}
}

func ffprobe(tb testing.TB, target string, extra ...string) probe {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{"-v", "error"}, extra...)
	args = append(args, "-show_entries", "format=duration:stream=codec_name,codec_type,start_time", "-of", "json", target)
	out, err := exec.CommandContext(ctx, "ffprobe", args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("ffprobe %s: %v\n%s", target, err, out)
	}
	var p probe
	if err := json.Unmarshal(out, &p); err != nil {
		tb.Fatalf("ffprobe output: %v\n%s", err, out)
	}
	return p
}

func (p probe) duration(tb testing.TB) float64 {
	tb.Helper()
	d, err := strconv.ParseFloat(p.Format.Duration, 64)
	if err != nil {
		tb.Fatalf("duration %q: %v", p.Format.Duration, err)
	}
	return d
}

func (p probe) start(tb testing.TB, codecType string) float64 {
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

// decodeErrors runs ffmpeg -v error -i FILE -f null - and returns its output.
func decodeErrors(tb testing.TB, path string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput()
	if err != nil {
		return string(out) + err.Error()
	}
	return string(out)
}
