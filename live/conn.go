package live

import (
	"errors"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Close codes the channel sends, beside the standard ones (1001 going away
// at shutdown, 1003 for binary frames, 1009 for oversized frames).
const (
	// CloseSlowConsumer closes a connection whose queue overflowed: it did
	// not read its messages fast enough.
	CloseSlowConsumer = 4008
	// CloseRateLimited closes a connection that kept sending commands far
	// beyond its rate limit.
	CloseRateLimited = 4029
)

// closeGrace is how long a closing connection may take to exchange close
// frames before its socket is closed.
const closeGrace = time.Second

// pingFrame is the queue entry that stands for a ping control frame.
var pingFrame = &websocket.PreparedMessage{}

// conn is one shopper's (or host's) websocket. Its reader is a goroutine of
// the registry (Registry.Attach). Its writer is a goroutine that exists only
// while there is something to write: enqueue starts it when the bounded
// queue goes from empty to non-empty and it exits once the queue is empty,
// so an idle connection costs one goroutine, not two, and holds no write
// buffer. A broadcast reaching an idle connection does not even start the
// writer: deliver writes it in the broadcasting goroutine with one write
// that never waits, and only what the socket does not take goes to a
// writer. At most one writer (a writer goroutine or a deliver in progress)
// runs at a time; a mutex guards the queue for short critical sections and
// is never held across I/O. Anyone may enqueue; nobody ever waits for the
// writer.
type conn struct {
	ws      *websocket.Conn
	burstID int64
	shopper string
	host    bool
	hub     *Hub // set once joined, by the reader

	cfg     *Config
	onSlow  func()
	writers sync.WaitGroup

	mu           sync.Mutex
	queue        []*websocket.PreparedMessage
	rest         []byte // the end of a frame whose start deliver wrote; it goes first
	pong         []byte // the answer owed to the client's last ping, if pongDue
	pongDue      bool
	writing      bool
	finished     bool // the reader is done: start no writer
	kicked       bool
	closeCode    int
	closeReason  string
	kickDeadline time.Time   // a kicked connection's writes end by then
	closeTimer   *time.Timer // closes a kicked connection's socket at the latest
}

func newConn(ws *websocket.Conn, c Client, cfg *Config, onSlow func()) *conn {
	return &conn{ws: ws, burstID: c.BurstID, shopper: c.Shopper, host: c.Host, cfg: cfg, onSlow: onSlow}
}

// enqueue queues pm without waiting. A full queue means the client is not
// keeping up: the connection is closed as a slow consumer.
func (c *conn) enqueue(pm *websocket.PreparedMessage) {
	c.mu.Lock()
	if c.kicked || c.finished { // nothing joins the queue of a closing connection
		c.mu.Unlock()
		return
	}
	if len(c.queue) >= c.cfg.QueueSize {
		c.mu.Unlock()
		c.kick(CloseSlowConsumer, "slow consumer: messages not read in time", c.onSlow)
		return
	}
	c.queue = append(c.queue, pm)
	c.startWriterLocked()
	c.mu.Unlock()
}

// deliver hands c a broadcast of one or more messages, pms, whose wire form
// (their frames' bytes back to back, as this server sends them) is wire. When nothing is queued or being written,
// the frame is written at once with one write system call that never waits
// (tryWrite): a broadcast then costs no goroutine and no timer per
// connection. What the socket does not take now, and any frame while
// another is queued or being written, goes to the writer goroutine as
// enqueue does. A nil wire always enqueues.
func (c *conn) deliver(pms []*websocket.PreparedMessage, wire []byte) {
	c.mu.Lock()
	if wire == nil || c.writing || len(c.queue) > 0 || c.kicked || c.finished {
		c.mu.Unlock()
		for _, pm := range pms {
			c.enqueue(pm)
		}
		return
	}
	c.writing = true // this goroutine is the writer until it hands over
	c.mu.Unlock()
	n, ok, err := tryWrite(c.ws.NetConn(), wire)
	if ok && err != nil { // the socket failed: closing it ends the reader too
		c.ws.Close()
		c.mu.Lock()
		c.writing, c.finished = false, true
		c.mu.Unlock()
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case !ok:
		c.queue = append(c.queue, pms...)
	case n < len(wire):
		c.rest = wire[n:] // shared by every connection of the broadcast, never written to
	}
	if c.finished || (len(c.rest) == 0 && len(c.queue) == 0 && !c.pongDue && !c.kicked) {
		c.writing = false // finished: the reader is gone and the socket closed, nothing to hand over
		return
	}
	c.writers.Add(1)
	go c.drain()
}

// queuePong has the writer answer a client's ping between two frames.
// gorilla's own answer would be written from the reader's goroutine, which
// could put it inside a frame whose start deliver wrote and whose end the
// writer has yet to write. Only the last ping is answered, as RFC 6455
// allows.
func (c *conn) queuePong(payload []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finished {
		return
	}
	c.pong, c.pongDue = payload, true
	c.startWriterLocked()
}

func (c *conn) startWriterLocked() {
	if c.writing || c.finished {
		return
	}
	c.writing = true
	c.writers.Add(1)
	go c.drain()
}

// kick asks the writer to send a close frame after what is queued (the
// answers a client is owed), or instead of it for a slow consumer, whose
// queue is full anyway. Only the first call counts; counted runs once with
// it. A writer blocked on a client that does not read would never see the
// request, so kick also cuts writing short: the socket gets closeGrace to
// take its last bytes, then a write fails and the socket is closed.
//
// The write deadline alone does not guarantee the close: gorilla applies
// the deadline it was given for a frame when that frame's write starts, so
// a kick that lands between the writer's last look at the connection and
// that moment is overridden by the frame's longer WriteTimeout; and a client
// that neither reads nor answers the close keeps the reader waiting. So a
// kicked socket is closed 2×closeGrace after the kick in any case (one grace
// period for the last bytes, one for the client's close frame), whatever
// the writer and the reader are doing.
func (c *conn) kick(code int, reason string, counted func()) {
	c.mu.Lock()
	if c.kicked {
		c.mu.Unlock()
		return
	}
	c.kicked, c.closeCode, c.closeReason = true, code, reason
	if code == CloseSlowConsumer {
		c.queue = nil
	}
	c.kickDeadline = time.Now().Add(closeGrace)
	_ = c.ws.NetConn().SetWriteDeadline(c.kickDeadline)
	if !c.finished {
		ws := c.ws
		c.closeTimer = time.AfterFunc(2*closeGrace, func() { ws.Close() })
	}
	c.startWriterLocked()
	c.mu.Unlock()
	if counted != nil {
		counted()
	}
}

func (c *conn) isKicked() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.kicked
}

// drain is the writer: it writes queued frames until the queue is empty,
// then exits. A failed write closes the socket, which ends the reader too.
// A kick sends the close frame and gives the reader closeGrace to receive
// the client's answer (closing at once would reset a connection with unread
// data, and the client would never see the reason).
func (c *conn) drain() {
	defer c.writers.Done()
	for {
		c.mu.Lock()
		if rest := c.rest; len(rest) > 0 {
			// The end of a frame deliver began: nothing may come between.
			c.rest = nil
			deadline := time.Now().Add(c.cfg.WriteTimeout)
			if c.kicked {
				deadline = c.kickDeadline
			}
			c.mu.Unlock()
			nc := c.ws.NetConn()
			_ = nc.SetWriteDeadline(deadline)
			if _, err := nc.Write(rest); err != nil {
				c.ws.Close()
				c.mu.Lock()
				c.writing, c.finished = false, true
				c.mu.Unlock()
				return
			}
			continue
		}
		if c.pongDue {
			pong := c.pong
			c.pong, c.pongDue = nil, false
			deadline := time.Now().Add(c.cfg.WriteTimeout)
			if c.kicked {
				deadline = c.kickDeadline
			}
			c.mu.Unlock()
			if err := c.ws.WriteControl(websocket.PongMessage, pong, deadline); err != nil && !errors.Is(err, websocket.ErrCloseSent) {
				c.ws.Close()
				c.mu.Lock()
				c.writing, c.finished = false, true
				c.mu.Unlock()
				return
			}
			continue
		}
		if c.kicked && len(c.queue) == 0 {
			code, reason := c.closeCode, c.closeReason
			c.writing = false
			c.finished = true // nothing follows a close frame
			c.mu.Unlock()
			c.sendClose(code, reason)
			return
		}
		if len(c.queue) == 0 {
			c.queue = nil // an idle connection holds no queue memory
			// No write is in progress now; a passed deadline would make
			// deliver's next write fail before it starts.
			_ = c.ws.NetConn().SetWriteDeadline(time.Time{})
			c.writing = false
			c.mu.Unlock()
			return
		}
		pm := c.queue[0]
		c.queue[0] = nil
		c.queue = c.queue[1:]
		c.mu.Unlock()
		if err := c.write(pm); err != nil {
			c.ws.Close()
			c.mu.Lock()
			c.writing, c.finished = false, true
			c.mu.Unlock()
			return
		}
	}
}

// write writes one frame. Only the writer calls it, so gorilla's write
// deadline is the writer's alone.
func (c *conn) write(pm *websocket.PreparedMessage) error {
	c.mu.Lock()
	deadline := time.Now().Add(c.cfg.WriteTimeout)
	if c.kicked { // a kick's shorter deadline stands, for pings too
		deadline = c.kickDeadline
	}
	c.mu.Unlock()
	if pm == pingFrame {
		return c.ws.WriteControl(websocket.PingMessage, nil, deadline)
	}
	_ = c.ws.SetWriteDeadline(deadline)
	return c.ws.WritePreparedMessage(pm)
}

func (c *conn) sendClose(code int, reason string) {
	msg := websocket.FormatCloseMessage(code, reason)
	if err := c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(closeGrace)); err != nil {
		c.ws.Close()
		return
	}
	c.mu.Lock()
	_ = c.ws.NetConn().SetReadDeadline(time.Now().Add(closeGrace))
	c.mu.Unlock()
}

// extendRead sets the read deadline d from now, unless the connection is
// closing: then the close's grace period stands. The check and the change
// happen under the lock kick takes, so a reader that saw no kick cannot
// push back a deadline sendClose has set since.
func (c *conn) extendRead(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.kicked {
		_ = c.ws.NetConn().SetReadDeadline(time.Now().Add(d))
	}
}

// finish stops new writers, closes the socket (which ends a write in
// progress at once) and waits for the writer. The reader calls it on its
// way out.
func (c *conn) finish() {
	c.mu.Lock()
	c.finished = true
	if c.closeTimer != nil {
		c.closeTimer.Stop()
	}
	c.mu.Unlock()
	c.ws.Close()
	c.writers.Wait()
}
