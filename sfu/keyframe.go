package sfu

// H264 NAL unit types that matter here (RFC 6184, ITU-T H.264 table 7-1).
const (
	naluIDR   = 5
	naluSPS   = 7
	naluPPS   = 8
	naluSTAPA = 24
	naluFUA   = 28
)

// isKeyframe reports whether an RTP payload of codec mime starts or carries
// a keyframe: an H264 SPS or IDR slice (single NAL, STAP-A or the first
// FU-A fragment), or a VP8 key frame's first partition. It never panics on
// short or malformed payloads.
func isKeyframe(mime string, payload []byte) bool {
	switch mime {
	case mimeH264:
		return h264Keyframe(payload)
	case mimeVP8:
		return vp8Keyframe(payload)
	}
	return false
}

func h264Keyframe(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	switch t := p[0] & 0x1f; t {
	case naluIDR, naluSPS:
		return true
	case naluSTAPA:
		// STAP-A: a series of 16-bit sizes each followed by a NAL unit.
		for i := 1; i+2 < len(p); {
			size := int(p[i])<<8 | int(p[i+1])
			i += 2
			if size == 0 || i+size > len(p) {
				return false
			}
			if nt := p[i] & 0x1f; nt == naluIDR || nt == naluSPS {
				return true
			}
			i += size
		}
	case naluFUA:
		// FU-A: indicator, then header with S bit and the NAL type.
		return len(p) >= 2 && p[1]&0x80 != 0 && p[1]&0x1f == naluIDR
	}
	return false
}

// vp8Keyframe reads the VP8 payload descriptor (RFC 7741 §4.2) and the
// first byte of the payload header: P bit 0 means a key frame.
func vp8Keyframe(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	x, s, pid := p[0]&0x80 != 0, p[0]&0x10 != 0, p[0]&0x07
	if !s || pid != 0 {
		return false
	}
	i := 1
	if x {
		if len(p) < 2 {
			return false
		}
		ext := p[1]
		i = 2
		if ext&0x80 != 0 { // I: picture id, 7 or 15 bits
			if len(p) <= i {
				return false
			}
			if p[i]&0x80 != 0 {
				i++
			}
			i++
		}
		if ext&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if ext&0x30 != 0 { // T or K: TID/KEYIDX byte
			i++
		}
	}
	return i < len(p) && p[i]&0x01 == 0
}
