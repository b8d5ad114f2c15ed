package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"
)

// maxLimitedInARow is how many refused commands in a row close a connection.
const maxLimitedInARow = 50

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
func (s *session) readLoop(ctx context.Context) {
	cfg := &s.reg.cfg
	ws := s.c.ws
	s.c.extendRead(cfg.PongWait)
	ws.SetPongHandler(func(string) error {
		s.c.extendRead(cfg.PongWait) // closing: the close grace period stands
		return nil
	})
	// Pings are answered by the writer (conn.queuePong). The close answer
	// gorilla writes from here when the client closes could still land
	// inside a frame whose end the writer has not written yet (only when
	// the socket had no room for all of it); the connection ends right
	// after, so that client would see an abnormal closure, not the echo.
	ws.SetPingHandler(func(data string) error {
		s.c.queuePong([]byte(data))
		return nil
	})
	for {
		mt, frame, err := s.next(cfg.ReadLimit)
		if err != nil {
			return // the client went away or the socket was closed: both are normal ends
		}
		if s.c.isKicked() {
			continue // closing: read on until the client's close frame or the grace period ends
		}
		s.c.extendRead(cfg.PongWait)
		switch {
		case frame == nil:
			s.reg.stats.oversized.Add(1)
			s.log.Debug("oversized frame", "burst_id", s.c.burstID, "limit", cfg.ReadLimit)
			s.c.kick(websocket.CloseMessageTooBig, fmt.Sprintf("frames are limited to %d bytes", cfg.ReadLimit), nil)
			continue
		case mt != websocket.TextMessage:
			s.c.kick(websocket.CloseUnsupportedData, "only JSON text frames are accepted", nil)
			continue
		}
		if !s.limiter.Allow() {
			s.limited++
			if s.limited >= maxLimitedInARow {
				s.c.kick(CloseRateLimited, "too many commands", nil)
				continue
			}
			s.sendError(&ProtocolError{Req: salvageReq(frame), Code: CodeRateLimited, Message: "too many commands; slow down"})
			continue
		}
		s.limited = 0
		s.handle(ctx, frame)
	}
}

// next reads one message of at most limit bytes. A larger one comes back
// as a nil frame: its first limit+1 bytes are read and the rest is skipped
// by the next call, never buffered, so a huge frame costs no memory.
func (s *session) next(limit int64) (int, []byte, error) {
	mt, r, err := s.c.ws.NextReader()
	if err != nil {
		return 0, nil, err
	}
	frame, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return 0, nil, err
	}
	if int64(len(frame)) > limit {
		return mt, nil, nil
	}
	if frame == nil {
		frame = []byte{}
	}
	return mt, frame, nil
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
		s.log.Error("cart command failed", "burst_id", s.c.burstID, "type", cmd.Type, "variant_id", cmd.Variant, "err", err)
	}
	s.sendError(&ProtocolError{Req: cmd.Req, Code: code, Message: msg})
}

func (s *session) sendError(e *ProtocolError) {
	s.send(errorMsg{Type: TypeError, Req: e.Req, Code: e.Code, Field: e.Field, Message: e.Message})
}

// send hands one message to this connection only: written at once from
// this goroutine when nothing is queued before it (conn.deliver), else
// queued for the writer.
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
	s.c.deliver([]*websocket.PreparedMessage{pm}, wireText(frame))
}
