package sfu

import (
	"time"

	"github.com/pion/rtp"
)

// rewriter maps one track slot's source sequence numbers and timestamps into
// the stream's continuous output space. When a new publisher (or a new SSRC)
// takes over after a blip, the mapping is re-anchored so that viewers see
// the next sequence number and a timestamp advanced by the wall time that
// passed: no gap, no renegotiation, their SSRC unchanged.
type rewriter struct {
	started     bool
	src         *Publisher
	ssrc        uint32
	seqOff      uint16
	tsOff       uint32
	lastSeq     uint16
	lastTS      uint32
	lastArrival time.Time
}

// next returns the output sequence number and timestamp of h.
func (w *rewriter) next(pub *Publisher, h *rtp.Header, clockRate uint32, arrival time.Time) (uint16, uint32) {
	if !w.started {
		w.started, w.src, w.ssrc = true, pub, h.SSRC
		w.seqOff, w.tsOff = 0, 0
		w.lastSeq, w.lastTS, w.lastArrival = h.SequenceNumber, h.Timestamp, arrival
		return h.SequenceNumber, h.Timestamp
	}
	if pub != w.src || h.SSRC != w.ssrc {
		gap := uint32(1)
		if clockRate > 0 && arrival.After(w.lastArrival) {
			gap = max(1, uint32(arrival.Sub(w.lastArrival).Seconds()*float64(clockRate)))
		}
		w.src, w.ssrc = pub, h.SSRC
		w.seqOff = w.lastSeq + 1 - h.SequenceNumber
		w.tsOff = w.lastTS + gap - h.Timestamp
	}
	seq, ts := h.SequenceNumber+w.seqOff, h.Timestamp+w.tsOff
	if int16(seq-w.lastSeq) > 0 {
		w.lastSeq, w.lastTS, w.lastArrival = seq, ts, arrival
	}
	return seq, ts
}
