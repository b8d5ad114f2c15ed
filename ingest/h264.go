package ingest

import (
	"fmt"

	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/pion/rtp"
)

// maxRTPSize is the largest RTP packet sent to WebRTC viewers (header
// included): 1200 bytes fits any path MTU after SRTP, UDP, IP and TURN.
const maxRTPSize = 1200

// h264Repacketizer turns an RTSP source's H264 RTP (often 1400+ byte
// packets, SPS/PPS only in the SDP) into WebRTC-friendly RTP: packets of at
// most maxRTPSize bytes, and SPS/PPS in-band ahead of every IDR so a viewer
// or recorder joining at any keyframe can decode.
type h264Repacketizer struct {
	dec      *rtph264.Decoder
	enc      *rtph264.Encoder
	sps, pps []byte
}

func newH264Repacketizer(f *format.H264) (*h264Repacketizer, error) {
	dec, err := f.CreateDecoder()
	if err != nil {
		return nil, fmt.Errorf("h264 decoder: %w", err)
	}
	enc := &rtph264.Encoder{PayloadType: 96, PayloadMaxSize: maxRTPSize - 12, PacketizationMode: 1}
	if err := enc.Init(); err != nil {
		return nil, fmt.Errorf("h264 encoder: %w", err)
	}
	sps, pps := f.SafeParams()
	return &h264Repacketizer{dec: dec, enc: enc, sps: sps, pps: pps}, nil
}

// push takes one source packet and returns the packets of a completed
// access unit (nil while one is incomplete or the input is bad). The
// returned packets carry the source's timestamp and SSRC.
func (r *h264Repacketizer) push(pkt *rtp.Packet) []*rtp.Packet {
	au, err := r.dec.Decode(pkt)
	if err != nil {
		return nil // ErrMorePacketsNeeded, or a broken packet: wait for the next AU
	}
	au = r.withParams(au)
	if len(au) == 0 {
		return nil
	}
	out, err := r.enc.Encode(au)
	if err != nil {
		return nil
	}
	for _, p := range out {
		p.Timestamp = pkt.Timestamp
		p.SSRC = pkt.SSRC
	}
	return out
}

// withParams remembers in-band SPS/PPS and puts the latest ones ahead of an
// IDR that lacks them.
func (r *h264Repacketizer) withParams(au [][]byte) [][]byte {
	hasSPS, hasPPS, idr := false, false, false
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		switch n[0] & 0x1f {
		case 7:
			hasSPS, r.sps = true, append([]byte(nil), n...)
		case 8:
			hasPPS, r.pps = true, append([]byte(nil), n...)
		case 5:
			idr = true
		}
	}
	if !idr || (hasSPS && hasPPS) || r.sps == nil || r.pps == nil {
		return au
	}
	out := make([][]byte, 0, len(au)+2)
	if !hasSPS {
		out = append(out, r.sps)
	}
	if !hasPPS {
		out = append(out, r.pps)
	}
	return append(out, au...)
}
