package ingest

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/dropcast/dropcast/sfu"
)

var errNoTracks = errors.New("no usable track: send H264 video and/or Opus, PCMU or PCMA audio")

// track is one announced media the session forwards.
type track struct {
	media  *description.Media
	format format.Format
	info   sfu.TrackInfo
	slot   int
	h264   *h264Repacketizer // nil for audio
}

// session is one RTSP publisher.
type session struct {
	log    *slog.Logger
	pub    *sfu.Publisher
	tracks []*track
}

// pickTracks chooses the first H264 video and the first usable audio
// (Opus, or 8 kHz mono G.711) of an announced description. AAC and other
// codecs are skipped with a warning: WebRTC cannot carry them.
func (s *RTSP) pickTracks(desc *description.Session) ([]*track, error) {
	var video, audio *track
	var skipped []string
	for _, m := range desc.Medias {
		for _, f := range m.Formats {
			switch f := f.(type) {
			case *format.H264:
				if video == nil {
					video = &track{media: m, format: f, info: sfu.TrackInfo{Kind: "video", MimeType: "video/H264", ClockRate: 90000, SDPFmtpLine: h264Fmtp(f)}}
					continue
				}
			case *format.Opus:
				if audio == nil {
					audio = &track{media: m, format: f, info: sfu.TrackInfo{Kind: "audio", MimeType: "audio/opus", ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}}
					continue
				}
			case *format.G711:
				if audio == nil && f.SampleRate == 8000 && f.ChannelCount == 1 {
					mime := "audio/PCMA"
					if f.MULaw {
						mime = "audio/PCMU"
					}
					audio = &track{media: m, format: f, info: sfu.TrackInfo{Kind: "audio", MimeType: mime, ClockRate: 8000, Channels: 1}}
					continue
				}
			}
			skipped = append(skipped, f.Codec())
		}
	}
	if len(skipped) > 0 {
		s.log.Warn("rtsp tracks not forwarded: WebRTC viewers cannot play them (use -c:a libopus for audio, H264 for video)", "codecs", strings.Join(skipped, ","))
	}
	var out []*track
	for _, t := range []*track{video, audio} {
		if t != nil {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w (announced: %s)", errNoTracks, strings.Join(skipped, ","))
	}
	return out, nil
}

// h264Fmtp builds the WebRTC format line of an announced H264 track.
func h264Fmtp(f *format.H264) string {
	params := f.FMTP()
	params["packetization-mode"] = "1"
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+params[k])
	}
	return strings.Join(parts, ";")
}

// declare tells the publisher about the tracks.
func (se *session) declare() error {
	for _, t := range se.tracks {
		slot, err := se.pub.SetTrack(t.info)
		if err != nil {
			return err
		}
		t.slot = slot
		if f, ok := t.format.(*format.H264); ok {
			r, err := newH264Repacketizer(f)
			if err != nil {
				return err
			}
			t.h264 = r
		}
	}
	return nil
}

// record registers the packet callbacks: H264 is re-packetized, audio is
// forwarded as is; sender reports go to the sinks.
func (se *session) record(rs *gortsplib.ServerSession) {
	for _, t := range se.tracks {
		t := t
		rs.OnPacketRTP(t.media, t.format, func(pkt *rtp.Packet) {
			now := time.Now()
			if t.h264 == nil {
				se.pub.WriteRTP(t.slot, pkt, now)
				return
			}
			for _, out := range t.h264.push(pkt) {
				se.pub.WriteRTP(t.slot, out, now)
			}
		})
		rs.OnPacketRTCP(t.media, func(p rtcp.Packet) {
			if sr, ok := p.(*rtcp.SenderReport); ok {
				se.pub.SenderReport(t.slot, sr.RTPTime, ntpToTime(sr.NTPTime))
			}
		})
	}
}

func ntpToTime(v uint64) time.Time {
	const ntpEpochOffset = 2208988800
	return time.Unix(int64(v>>32)-ntpEpochOffset, int64((v&0xffffffff)*1e9>>32))
}
