// Package sfu is the media core: one Stream per live burst with its
// publisher's tracks, the fan-out to viewers, keyframe requests, NACK/RTCP
// and reconnection of a dropped publisher.
package sfu

import (
	"time"

	"github.com/pion/rtp"
)

// TrackInfo describes one source track of a publisher session.
type TrackInfo struct {
	// Kind is "video" or "audio".
	Kind string
	// MimeType is e.g. "video/H264", "audio/opus", "video/VP8".
	MimeType string
	// ClockRate is the RTP clock rate in Hz (90000 for video, 48000 for Opus).
	ClockRate uint32
	// Channels is the audio channel count (0 for video).
	Channels uint16
	// SDPFmtpLine is the format parameters from the SDP
	// (e.g. "profile-level-id=42e01f;packetization-mode=1;sprop-parameter-sets=…").
	SDPFmtpLine string
}

// Sink consumes a stream's media in process (the recorder is one). All calls
// come from the stream's own goroutines; an implementation must return
// quickly and never block, queuing work for its own goroutine instead.
type Sink interface {
	// SinkStart announces the tracks of a publisher session; it is called
	// again, with new tracks, when a publisher reconnects. Track indexes in
	// SinkRTP refer to this slice.
	SinkStart(tracks []TrackInfo)
	// SinkRTP hands over one RTP packet of a source track as received (before
	// any rewriting for viewers). pkt is only valid during the call.
	SinkRTP(track int, pkt *rtp.Packet, arrival time.Time)
	// SinkSenderReport passes an RTCP sender report's mapping of an RTP
	// timestamp to NTP wall-clock time for a track, for audio/video alignment.
	SinkSenderReport(track int, rtpTime uint32, ntpTime time.Time)
	// SinkStop says the publisher session ended (the burst may resume with a
	// new SinkStart after a blip).
	SinkStop()
}
