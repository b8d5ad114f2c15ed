package sfu

import (
	"strings"
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// outTrack is one viewer's outgoing track. Unlike TrackLocalStaticRTP it
// serves a single peer connection, is written only by that viewer's writer
// goroutine (and its NACK handler), and stamps each shared packet with the
// viewer's SSRC and payload type on a stack copy of the header, so the
// per-packet path allocates nothing of its own.
type outTrack struct {
	id, streamID string
	kind         webrtc.RTPCodecType
	mime         string
	binding      atomic.Pointer[trackBinding]
}

type trackBinding struct {
	ssrc uint32
	pt   uint8
	w    webrtc.TrackLocalWriter
}

var _ webrtc.TrackLocal = (*outTrack)(nil)

func newOutTrack(kind webrtc.RTPCodecType, mime, streamID string) *outTrack {
	return &outTrack{id: kind.String(), streamID: streamID, kind: kind, mime: mime}
}

// Bind picks the negotiated codec of the track's MIME type, preferring
// H264 with packetization-mode 1. Any H264 profile is accepted: decoders
// handle the profiles a publisher sends whatever the viewer advertised.
func (t *outTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	var pick *webrtc.RTPCodecParameters
	for _, c := range ctx.CodecParameters() {
		if !strings.EqualFold(c.MimeType, t.mime) {
			continue
		}
		if pick == nil || (strings.Contains(c.SDPFmtpLine, "packetization-mode=1") && !strings.Contains(pick.SDPFmtpLine, "packetization-mode=1")) {
			c := c
			pick = &c
		}
	}
	if pick == nil {
		return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
	}
	t.binding.Store(&trackBinding{ssrc: uint32(ctx.SSRC()), pt: uint8(pick.PayloadType), w: ctx.WriteStream()})
	return *pick, nil
}

// Unbind stops writing.
func (t *outTrack) Unbind(webrtc.TrackLocalContext) error {
	t.binding.Store(nil)
	return nil
}

func (t *outTrack) ID() string                { return t.id }
func (t *outTrack) RID() string               { return "" }
func (t *outTrack) StreamID() string          { return t.streamID }
func (t *outTrack) Kind() webrtc.RTPCodecType { return t.kind }

// write sends p with the viewer's SSRC and payload type. It returns false
// when the track is not bound (yet) or the write failed.
func (t *outTrack) write(p *packet) bool {
	b := t.binding.Load()
	if b == nil {
		return false
	}
	h := p.hdr
	h.SSRC, h.PayloadType = b.ssrc, b.pt
	h.SequenceNumber, h.Timestamp = p.seq, p.ts
	// Header extensions were negotiated with the publisher, not the viewer.
	h.Extension, h.Extensions, h.ExtensionProfile = false, nil, 0
	_, err := b.w.WriteRTP(&h, p.payload)
	return err == nil
}

var _ = rtp.Header{}
