package sfu

import (
	"fmt"
	"strings"

	"github.com/pion/sdp/v3"
)

// MaxOfferSize bounds an SDP offer (OBS and browsers send 2–10 KB).
const MaxOfferSize = 64 << 10

// Offer is what the server needs to know about an SDP offer before handing
// it to Pion: which kinds of media it carries in the useful direction.
type Offer struct {
	Video, Audio bool
}

// ParseOffer checks an SDP offer from a publisher (publish true: it must
// send) or a viewer (publish false: it must receive). It returns ErrBadOffer
// for anything that is not a parseable SDP offer, and ErrNoCodec when no
// media section carries a codec the server forwards in that direction
// (H264 with packetization-mode 1, VP8, Opus, PCMU or PCMA).
func ParseOffer(offer string, publish bool) (Offer, error) {
	var out Offer
	if len(offer) == 0 {
		return out, fmt.Errorf("%w: empty body", ErrBadOffer)
	}
	if len(offer) > MaxOfferSize {
		return out, fmt.Errorf("%w: larger than %d bytes", ErrBadOffer, MaxOfferSize)
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(offer); err != nil {
		return out, fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	if len(sd.MediaDescriptions) == 0 {
		return out, fmt.Errorf("%w: no media sections", ErrBadOffer)
	}
	if _, ok := sd.Attribute("ice-ufrag"); !ok && !anyMediaHas(sd.MediaDescriptions, "ice-ufrag") {
		return out, fmt.Errorf("%w: no ICE credentials (a=ice-ufrag)", ErrBadOffer)
	}
	if _, ok := sd.Attribute("fingerprint"); !ok && !anyMediaHas(sd.MediaDescriptions, "fingerprint") {
		return out, fmt.Errorf("%w: no DTLS fingerprint (a=fingerprint)", ErrBadOffer)
	}
	for _, md := range sd.MediaDescriptions {
		kind := md.MediaName.Media
		if kind != "audio" && kind != "video" {
			continue
		}
		if !directionOK(md, publish) || !usableCodec(md) {
			continue
		}
		if kind == "video" {
			out.Video = true
		} else {
			out.Audio = true
		}
	}
	if !out.Video && !out.Audio {
		dir := "send"
		if !publish {
			dir = "receive"
		}
		return out, fmt.Errorf("%w: no media section offers to %s H264 (packetization-mode=1), VP8, Opus, PCMU or PCMA", ErrNoCodec, dir)
	}
	return out, nil
}

func anyMediaHas(mds []*sdp.MediaDescription, attr string) bool {
	for _, md := range mds {
		if _, ok := md.Attribute(attr); ok {
			return true
		}
	}
	return false
}

func directionOK(md *sdp.MediaDescription, publish bool) bool {
	if md.MediaName.Port.Value == 0 {
		return false
	}
	for _, a := range md.Attributes {
		switch a.Key {
		case "inactive":
			return false
		case "sendonly":
			return publish
		case "recvonly":
			return !publish
		}
	}
	return true // sendrecv is the default
}

// usableCodec reports whether a media section lists a codec we forward.
func usableCodec(md *sdp.MediaDescription) bool {
	fmtp := map[string]string{}
	mapped := map[string]bool{}
	for _, a := range md.Attributes {
		switch a.Key {
		case "fmtp":
			pt, params, _ := strings.Cut(a.Value, " ")
			fmtp[pt] = params
		case "rtpmap":
			pt, _, _ := strings.Cut(a.Value, " ")
			mapped[pt] = true
		}
	}
	for _, a := range md.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		pt, enc, ok := strings.Cut(a.Value, " ")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(enc, "/")
		switch strings.ToUpper(name) {
		case "VP8", "OPUS", "PCMU", "PCMA":
			return true
		case "H264":
			if strings.Contains(strings.ReplaceAll(fmtp[pt], " ", ""), "packetization-mode=1") {
				return true
			}
		}
	}
	// Static payload types 0 (PCMU) and 8 (PCMA) need no rtpmap.
	for _, f := range md.MediaName.Formats {
		if md.MediaName.Media == "audio" && (f == "0" || f == "8") && !mapped[f] {
			return true
		}
	}
	return false
}
