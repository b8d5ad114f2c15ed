package sfu

import (
	"sync"
	"time"
)

// simulcastWindow is how often the layers' byte counts are compared.
const simulcastWindow = time.Second

// layers chooses which simulcast layer of a publisher's video is forwarded
// (OBS 32.1+ and browsers can send 2-4 encodings of one picture, each with
// its own rid). Every layer is read; the one that carried the most bytes in
// the last window wins, and a switch waits for a keyframe of the new layer
// (asked for with a PLI), so viewers and the recorder always get a picture
// that decodes: the stream's rewriter keeps their sequence numbers and
// timestamps continuous across the change of SSRC.
type layers struct {
	mime     string
	pli      func(ssrc uint32) // asks one layer for a keyframe
	onSwitch func(ssrc uint32) // the forwarded layer changed

	mu      sync.Mutex
	active  string // rid forwarded, "" before the first packet
	pending string // rid waiting for its keyframe
	ssrc    map[string]uint32
	bytes   map[string]int64
	since   time.Time
}

func newLayers(mime string, pli, onSwitch func(ssrc uint32)) *layers {
	return &layers{mime: mime, pli: pli, onSwitch: onSwitch, ssrc: map[string]uint32{}, bytes: map[string]int64{}}
}

// add declares layer rid with its SSRC.
func (l *layers) add(rid string, ssrc uint32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ssrc[rid] = ssrc
}

// forward counts a packet of layer rid and reports whether it is forwarded.
func (l *layers) forward(rid string, payload []byte, now time.Time) bool {
	l.mu.Lock()
	var switched, asked uint32
	defer func() {
		l.mu.Unlock()
		if asked != 0 {
			l.pli(asked)
		}
		if switched != 0 {
			l.onSwitch(switched)
		}
	}()
	l.bytes[rid] += int64(len(payload))
	if l.since.IsZero() {
		l.since = now
	}
	if l.active == "" {
		l.active = rid // the first layer to arrive, until the first window ends
		switched = l.ssrc[rid]
	}
	if now.Sub(l.since) >= simulcastWindow {
		best := l.active
		for r, n := range l.bytes {
			if n > l.bytes[best] {
				best = r
			}
		}
		// A clear winner only (a tenth more), so that two layers of
		// about the same rate do not make it flap.
		if best != l.active && l.bytes[best] > l.bytes[l.active]+l.bytes[l.active]/10 {
			if l.pending != best {
				l.pending = best
			}
			asked = l.ssrc[best] // again each window until its keyframe comes
		} else {
			l.pending = ""
		}
		clear(l.bytes)
		l.since = now
	}
	if rid == l.pending && isKeyframe(l.mime, payload) {
		l.active, l.pending = rid, ""
		switched = l.ssrc[rid]
	}
	return rid == l.active
}
