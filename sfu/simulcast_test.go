package sfu

import (
	"testing"
	"time"
)

// The first layer is forwarded until a window shows a clearly larger one;
// the switch asks that layer for a keyframe and happens on it, never on a
// delta frame; two layers of about the same size do not flap.
func TestLayersSwitchToTheLargestOnItsKeyframe(t *testing.T) {
	var plis, switches []uint32
	l := newLayers(mimeH264, func(ssrc uint32) { plis = append(plis, ssrc) }, func(ssrc uint32) { switches = append(switches, ssrc) })
	l.add("l", 1)
	l.add("h", 3)
	l.add("m", 2)
	idr, delta := func(n int) []byte { p := make([]byte, n); p[0] = 0x65; return p }, func(n int) []byte { p := make([]byte, n); p[0] = 0x41; return p }
	now := time.Unix(1000, 0)
	if !l.forward("l", delta(100), now) || l.forward("h", delta(1000), now) {
		t.Fatal("the first layer to arrive is not the one forwarded")
	}
	for i := range 20 {
		at := now.Add(time.Duration(i) * 40 * time.Millisecond)
		l.forward("l", delta(100), at)
		l.forward("m", delta(500), at)
		l.forward("h", delta(1000), at)
	}
	end := now.Add(simulcastWindow)
	if l.forward("h", delta(1000), end) {
		t.Fatal("switched on a delta frame")
	}
	if len(plis) != 1 || plis[0] != 3 {
		t.Fatalf("keyframe requests %v, want one to layer h (ssrc 3)", plis)
	}
	if !l.forward("l", delta(100), end) {
		t.Fatal("the old layer stopped before the new one's keyframe")
	}
	if !l.forward("h", idr(1000), end) || l.forward("l", delta(100), end) {
		t.Fatal("no switch to h on its keyframe")
	}
	if len(switches) != 2 || switches[0] != 1 || switches[1] != 3 {
		t.Fatalf("switches %v, want to l (1) then h (3)", switches)
	}

	// m is a little larger than h in the next windows: h stays.
	for w := 1; w <= 3; w++ {
		base := end.Add(time.Duration(w-1) * simulcastWindow)
		for i := range 20 {
			at := base.Add(time.Duration(i) * 40 * time.Millisecond)
			l.forward("h", delta(1000), at)
			l.forward("m", delta(1020), at)
		}
		l.forward("m", idr(1020), base.Add(simulcastWindow))
	}
	if len(switches) != 2 {
		t.Fatalf("switched to a layer only a little larger: %v", switches)
	}
}
