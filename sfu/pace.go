package sfu

import "time"

// Pacing and retransmission limits per viewer.
const (
	// catchUpAge is the age past which a queued packet counts as backlog
	// (the GOP replay of a new viewer, or a queue behind after a stall).
	catchUpAge = 150 * time.Millisecond
	// catchUpRate is the backlog's send rate per viewer, in packets per
	// second: a 4 s GOP at 2.5 Mbit/s (~1,100 packets) takes ~0.4 s.
	catchUpRate = 3000
	// rtxPerSecond caps the retransmissions answered to one viewer track.
	rtxPerSecond = 150
)

// pacer spaces out writes to rate packets per second, in steps of at least
// a millisecond. It is used by one goroutine.
type pacer struct {
	rate  int
	start time.Time
	n     int
}

// wait blocks until the next packet may go; false means done was closed.
func (p *pacer) wait(done <-chan struct{}) bool {
	now := time.Now()
	if p.start.IsZero() || now.Sub(p.start) > time.Second {
		p.start, p.n = now, 0
	}
	p.n++
	due := p.start.Add(time.Duration(p.n) * time.Second / time.Duration(p.rate))
	if d := due.Sub(now); d > time.Millisecond {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-done:
			return false
		case <-t.C:
		}
	}
	return true
}

// tokenBucket allows rate events per second with bursts up to burst.
type tokenBucket struct {
	rate, burst float64
	tokens      float64
	last        time.Time
}

func (b *tokenBucket) take(now time.Time) bool {
	if b.last.IsZero() {
		b.tokens = b.burst
	} else {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
