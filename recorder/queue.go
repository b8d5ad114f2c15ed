package recorder

import (
	"sync"
	"time"

	"github.com/pion/rtp"

	"github.com/dropcast/dropcast/events"
	"github.com/dropcast/dropcast/sfu"
)

type itemKind int

const (
	itemRTP itemKind = iota
	itemSR
	itemStart
	itemStop
	itemEvent
	itemClose
)

// item is one call handed from the stream's goroutines to the recorder's.
type item struct {
	kind    itemKind
	track   int
	pkt     *rtp.Packet
	at      time.Time // arrival (RTP) or NTP time (SR)
	rtpTime uint32
	tracks  []sfu.TrackInfo
	ev      events.Event
}

// queue is a bounded FIFO between the producers (stream goroutines, the
// event router) and the recorder goroutine. A mutex guards short critical
// sections; producers never wait. RTP packets beyond maxRTP are dropped and
// counted; control items (start, stop, events, close) are always kept, as
// they are rare and losing one would leave a part open.
type queue struct {
	mu     sync.Mutex
	items  []item
	rtp    int
	maxRTP int
	closed bool
	notify chan struct{} // capacity 1: "items are waiting"
}

func newQueue(maxRTP int) *queue {
	return &queue{maxRTP: maxRTP, notify: make(chan struct{}, 1)}
}

// push adds it and reports whether it was kept.
func (q *queue) push(it item) bool {
	q.mu.Lock()
	if q.closed || (it.kind == itemRTP && q.rtp >= q.maxRTP) {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, it)
	if it.kind == itemRTP {
		q.rtp++
	}
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
	return true
}

// drain takes every waiting item, reusing buf.
func (q *queue) drain(buf []item) []item {
	q.mu.Lock()
	buf = append(buf[:0], q.items...)
	clear(q.items)
	q.items = q.items[:0]
	q.rtp = 0
	q.mu.Unlock()
	return buf
}

// close refuses further items.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
}
