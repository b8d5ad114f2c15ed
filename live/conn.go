package live

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"
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

// maxLimitedInARow is how many refused commands in a row close a connection.
const maxLimitedInARow = 50

// conn is one shopper's (or host's) websocket. Its reader runs in the
// goroutine that called Registry.Serve; its writer is a goroutine of its own
// that owns all data writes, fed by a bounded queue. Anyone may enqueue;
// nobody ever waits for the writer.
type conn struct {
	ws      *websocket.Conn
	burstID int64
	shopper string
	host    bool
	queue   chan *websocket.PreparedMessage

	kickOnce    sync.Once
	kicked      chan struct{}
	closeCode   int
	closeReason string
	onSlow      func()
	hub         *Hub // set once joined
}

func newConn(ws *websocket.Conn, c Client, queue int, onSlow func()) *conn {
	return &conn{
		ws:      ws,
		burstID: c.BurstID,
		shopper: c.Shopper,
		host:    c.Host,
		queue:   make(chan *websocket.PreparedMessage, queue),
		kicked:  make(chan struct{}),
		onSlow:  onSlow,
	}
}

// enqueue queues pm without waiting. A full queue means the client is not
// keeping up: the connection is closed as a slow consumer.
func (c *conn) enqueue(pm *websocket.PreparedMessage) {
	select {
	case c.queue <- pm:
	default:
		c.kick(CloseSlowConsumer, "slow consumer: messages not read in time", c.onSlow)
	}
}

// kick asks the writer to send a close frame and close the connection. Only
// the first call counts; counted runs once with it.
//
// A writer blocked on a client that does not read would never see the
// request, so kick also cuts any write in progress short: the connection
// gets closeGrace to take its last bytes, then the write fails and the
// writer closes the socket.
func (c *conn) kick(code int, reason string, counted func()) {
	c.kickOnce.Do(func() {
		c.closeCode, c.closeReason = code, reason
		_ = c.ws.NetConn().SetWriteDeadline(time.Now().Add(closeGrace))
		close(c.kicked)
		if counted != nil {
			counted()
		}
	})
}

func (c *conn) isKicked() bool {
	select {
	case <-c.kicked:
		return true
	default:
		return false
	}
}

// closeGrace is how long a closing connection may take to exchange close
// frames before its socket is closed.
const closeGrace = time.Second

// writeLoop writes queued frames and pings until the connection is kicked,
// a write fails or done closes. A failed write closes the socket, which ends
// the reader too. A kick sends the close frame and gives the reader
// closeGrace to receive the client's answer (closing at once would reset a
// connection with unread data, and the client would never see the reason).
func (c *conn) writeLoop(cfg *Config, done <-chan struct{}) {
	ping := time.NewTicker(cfg.PingInterval)
	defer ping.Stop()
	for {
		select {
		case <-c.kicked:
			c.sendClose()
			return
		default:
		}
		select {
		case pm := <-c.queue:
			if !c.isKicked() {
				_ = c.ws.SetWriteDeadline(time.Now().Add(cfg.WriteTimeout))
			}
			if err := c.ws.WritePreparedMessage(pm); err != nil {
				c.ws.Close()
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(cfg.WriteTimeout)); err != nil {
				c.ws.Close()
				return
			}
		case <-c.kicked:
			c.sendClose()
			return
		case <-done:
			return
		}
	}
}

func (c *conn) sendClose() {
	msg := websocket.FormatCloseMessage(c.closeCode, c.closeReason)
	if err := c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(closeGrace)); err != nil {
		c.ws.Close()
		return
	}
	_ = c.ws.NetConn().SetReadDeadline(time.Now().Add(closeGrace))
}

// session is the reader side of a connection: it parses commands, applies
// the rate limit and answers through the connection's queue.
type session struct {
	c        *conn
	reg      *Registry
	log      *slog.Logger
	limiter  *rate.Limiter
	limited  int
	returnTo string
}

// readLoop reads client frames until the connection fails or closes.
func (s *session) readLoop(ctx context.Context) error {
	cfg := &s.reg.cfg
	ws := s.c.ws
	ws.SetReadLimit(cfg.ReadLimit)
	_ = ws.SetReadDeadline(time.Now().Add(cfg.PongWait))
	ws.SetPongHandler(func(string) error {
		return ws.SetReadDeadline(time.Now().Add(cfg.PongWait))
	})
	for {
		mt, frame, err := ws.ReadMessage()
		if err != nil {
			return s.readError(err)
		}
		if s.c.isKicked() {
			continue // closing: read on until the client's close frame or the grace period ends
		}
		_ = ws.SetReadDeadline(time.Now().Add(cfg.PongWait))
		if mt != websocket.TextMessage {
			s.c.kick(websocket.CloseUnsupportedData, "only JSON text frames are accepted", nil)
			return nil
		}
		if !s.limiter.Allow() {
			s.limited++
			if s.limited >= maxLimitedInARow {
				s.c.kick(CloseRateLimited, "too many commands", nil)
				return nil
			}
			s.sendError(&ProtocolError{Req: salvageReq(frame), Code: CodeRateLimited, Message: "too many commands; slow down"})
			continue
		}
		s.limited = 0
		s.handle(ctx, frame)
	}
}

func (s *session) readError(err error) error {
	if errors.Is(err, websocket.ErrReadLimit) {
		// gorilla has already sent 1009 (message too big). Read what is left
		// of the frame for a moment, so that closing does not reset the
		// connection before the client has read the close frame.
		s.reg.stats.oversized.Add(1)
		s.log.Debug("oversized frame", "limit", s.reg.cfg.ReadLimit)
		nc := s.c.ws.NetConn()
		_ = nc.SetReadDeadline(time.Now().Add(closeGrace))
		_, _ = io.Copy(io.Discard, nc)
		return nil
	}
	return nil // the client went away or the socket was closed: both are normal ends
}

// handle runs one client frame. Protocol errors are answered, never fatal.
func (s *session) handle(ctx context.Context, frame []byte) {
	cmd, err := ParseCommand(frame)
	if err != nil {
		s.reg.stats.refused.Add(1)
		var perr *ProtocolError
		if errors.As(err, &perr) {
			s.sendError(perr)
		}
		return
	}
	switch cmd.Type {
	case TypePing:
		now := s.reg.cfg.Now()
		s.send(ackMsg{Type: TypeAck, Req: cmd.Req, ServerTime: &now})
	case TypeCartAdd, TypeCartRemove:
		s.cart(ctx, cmd)
	case TypeCheckout:
		s.checkout(ctx, cmd)
	}
}

func (s *session) cart(ctx context.Context, cmd Command) {
	com := s.reg.deps.Commerce
	if com == nil {
		s.sendError(&ProtocolError{Req: cmd.Req, Code: CodeUnavailable, Message: "the cart is not available on this server"})
		return
	}
	ctx, cancel := context.WithTimeout(ctx, s.reg.cfg.CommandTimeout)
	defer cancel()
	var (
		cart any
		err  error
	)
	if cmd.Type == TypeCartAdd {
		cart, err = com.AddToCart(ctx, s.c.shopper, s.c.burstID, cmd.Variant, cmd.Qty, cmd.Card)
	} else {
		cart, err = com.RemoveFromCart(ctx, s.c.shopper, s.c.burstID, cmd.Variant, cmd.Qty)
	}
	if err != nil {
		s.commerceError(cmd, err)
		return
	}
	s.send(cartMsg{Type: TypeCart, Req: cmd.Req, Cart: cart})
	// The shopper's other tabs see the same cart.
	if frame, err := encode(cartMsg{Type: TypeCart, Cart: cart}); err == nil {
		s.reg.toShopper(ctx, s.c, frame)
	}
}

func (s *session) checkout(ctx context.Context, cmd Command) {
	com := s.reg.deps.Commerce
	if com == nil {
		s.sendError(&ProtocolError{Req: cmd.Req, Code: CodeUnavailable, Message: "checkout is not available on this server"})
		return
	}
	ctx, cancel := context.WithTimeout(ctx, s.reg.cfg.CommandTimeout)
	defer cancel()
	u, err := com.Checkout(ctx, s.c.shopper, s.c.burstID, s.returnTo)
	if err != nil {
		s.commerceError(cmd, err)
		return
	}
	s.send(ackMsg{Type: TypeAck, Req: cmd.Req, CheckoutURL: u})
}

func (s *session) commerceError(cmd Command, err error) {
	code, msg := wsCode(err)
	if code == CodeInternal {
		s.log.Error("cart command failed", "type", cmd.Type, "variant_id", cmd.Variant, "err", err)
	}
	s.sendError(&ProtocolError{Req: cmd.Req, Code: code, Message: msg})
}

func (s *session) sendError(e *ProtocolError) {
	s.send(errorMsg{Type: TypeError, Req: e.Req, Code: e.Code, Field: e.Field, Message: e.Message})
}

// send queues one message for this connection only.
func (s *session) send(v any) {
	frame, err := encode(v)
	if err != nil {
		s.log.Error("encode message", "err", err)
		return
	}
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, frame)
	if err != nil {
		s.log.Error("prepare message", "err", err)
		return
	}
	s.c.enqueue(pm)
}
