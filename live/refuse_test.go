package live_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/dropcast/dropcast/apperr"
	"github.com/dropcast/dropcast/live"
)

// Junk never crashes the connection: each bad frame gets an error with the
// request id (when readable) and a machine code, and the connection keeps
// working.
func TestJunkFramesAnswered(t *testing.T) {
	e := newEnv(t, live.Config{})
	cl := e.dial(e.wsPath(), nil)
	cl.next(live.TypeWelcome, 5*time.Second)
	for _, tc := range []struct {
		name, frame, typ, req, code, field string
	}{
		{"not json", `hello`, "error", "", live.CodeBadJSON, ""},
		{"array", `[1,2]`, "error", "", live.CodeBadJSON, ""},
		{"two objects", `{"type":"ping"}{"type":"ping"}`, "error", "", live.CodeBadJSON, ""},
		{"unknown type", `{"type":"dance","req":"r1"}`, "error", "r1", live.CodeUnknownType, "type"},
		{"no type", `{"req":"r0"}`, "error", "r0", live.CodeInvalid, "type"},
		{"missing qty", `{"type":"cart.add","req":"r2","variant":"5"}`, "error", "r2", live.CodeInvalid, "qty"},
		{"bad variant", `{"type":"cart.add","req":"r5","variant":"-1","qty":1}`, "error", "r5", live.CodeInvalid, "variant"},
		{"numeric variant", `{"type":"cart.add","req":"r6","variant":5,"qty":1}`, "error", "r6", live.CodeInvalid, "variant"},
		{"unknown field", `{"type":"ping","req":"r7","price":1}`, "error", "r7", live.CodeInvalid, "price"},
		{"price on cart", `{"type":"cart.remove","req":"r8","variant":"5","qty":1,"card":"3"}`, "error", "r8", live.CodeInvalid, "card"},
		{"no commerce", `{"type":"cart.add","req":"r3","variant":"5","qty":1}`, "error", "r3", live.CodeUnavailable, ""},
		{"no checkout", `{"type":"checkout","req":"r4"}`, "error", "r4", live.CodeUnavailable, ""},
		{"ping", `{"type":"ping","req":"p1"}`, "ack", "p1", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			must(t, cl.ws.WriteMessage(websocket.TextMessage, []byte(tc.frame)))
			m := cl.next(tc.typ, 5*time.Second)
			if m.str("req") != tc.req || m.str("code") != tc.code || m.str("field") != tc.field {
				t.Fatalf("answer = %v, want req %q code %q field %q", m, tc.req, tc.code, tc.field)
			}
			if tc.typ == "error" && m.str("message") == "" {
				t.Fatalf("error without a message: %v", m)
			}
		})
	}
	if st := e.reg.Stats(); st.Refused < 10 {
		t.Fatalf("refused = %d", st.Refused)
	}
}

func TestClosesWithReason(t *testing.T) {
	e := newEnv(t, live.Config{ReadLimit: 1024, QueueSize: 256}) // room for every answer to the flood
	t.Run("oversized", func(t *testing.T) {
		cl := e.dial(e.wsPath(), nil)
		cl.next(live.TypeWelcome, 5*time.Second)
		big := `{"type":"ping","req":"` + strings.Repeat("x", 2000) + `"}`
		must(t, cl.ws.WriteMessage(websocket.TextMessage, []byte(big)))
		if ce := cl.closeErr(5 * time.Second); ce.Code != websocket.CloseMessageTooBig || !strings.Contains(ce.Text, "1024 bytes") {
			t.Fatalf("close = %v, want 1009 with the limit", ce)
		}
	})
	t.Run("huge", func(t *testing.T) {
		cl := e.dial(e.wsPath(), nil)
		cl.next(live.TypeWelcome, 5*time.Second)
		_ = cl.ws.WriteMessage(websocket.TextMessage, make([]byte, 8<<20)) // may fail once the server closes
		if ce := cl.closeErr(5 * time.Second); ce.Code != websocket.CloseMessageTooBig {
			t.Fatalf("close = %v, want 1009", ce)
		}
	})
	t.Run("binary", func(t *testing.T) {
		cl := e.dial(e.wsPath(), nil)
		cl.next(live.TypeWelcome, 5*time.Second)
		must(t, cl.ws.WriteMessage(websocket.BinaryMessage, []byte{0, 1, 2}))
		ce := cl.closeErr(5 * time.Second)
		if ce.Code != websocket.CloseUnsupportedData || ce.Text == "" {
			t.Fatalf("close = %v, want 1003 with a reason", ce)
		}
	})
	t.Run("flood", func(t *testing.T) {
		cl := e.dial(e.wsPath(), nil)
		cl.next(live.TypeWelcome, 5*time.Second)
		for i := range 200 {
			if err := cl.ws.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf(`{"type":"ping","req":"%d"}`, i))); err != nil {
				break // closed under us: fine
			}
		}
		if _, ok := cl.tryNext(live.TypeError, 5*time.Second); !ok {
			t.Fatal("no rate_limited error")
		}
		if ce := cl.closeErr(5 * time.Second); ce.Code != live.CloseRateLimited {
			t.Fatalf("close = %v, want %d", ce, live.CloseRateLimited)
		}
	})
	if st := e.reg.Stats(); st.Oversized != 2 {
		t.Fatalf("oversized = %d", st.Oversized)
	}
}

func TestOrigins(t *testing.T) {
	e := newEnv(t, live.Config{AllowedOrigins: []string{"https://shop.example.com"}})
	host := strings.TrimPrefix(e.srv.URL, "http://")
	for _, tc := range []struct {
		name, origin string
		ok           bool
	}{
		{"none (not a browser)", "", true},
		{"same host", "http://" + host, true},
		{"allowed", "https://shop.example.com", true},
		{"other", "https://evil.example", false},
		{"allowed host, other scheme", "http://shop.example.com", false},
		{"garbage", "::::", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := http.Header{}
			if tc.origin != "" {
				hdr.Set("Origin", tc.origin)
			}
			cl, err := e.tryDial(e.wsPath(), hdr)
			if tc.ok != (err == nil) {
				t.Fatalf("dial err = %v, want ok=%v", err, tc.ok)
			}
			if err == nil {
				cl.next(live.TypeWelcome, 5*time.Second)
			} else if !strings.Contains(err.Error(), "403") {
				t.Fatalf("refusal = %v, want 403", err)
			}
		})
	}
	if _, err := e.tryDial("/ws/987654", nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("unknown burst: %v, want 404", err)
	}
}

// A client that never reads is closed as a slow consumer while the others
// keep receiving every broadcast.
func TestSlowConsumerDropped(t *testing.T) {
	e := newEnv(t, live.Config{QueueSize: 16, WriteTimeout: 30 * time.Second})
	// The stuck client: a raw socket with a tiny receive buffer that reads the
	// handshake and then nothing.
	d := websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(4096)
		}
		return c, err
	}}
	stuck, _, err := d.DialContext(t.Context(), e.wsURL(e.wsPath()), nil)
	must(t, err)
	defer stuck.Close()
	readers := []*client{e.dial(e.wsPath(), nil), e.dial(e.wsPath(), nil)}
	for _, r := range readers {
		r.next(live.TypeWelcome, 5*time.Second)
	}
	// Broadcast at the pace of the reading clients (each broadcast is read
	// by both before the next) until the stuck one has filled its socket
	// buffers and its queue, then a few more: the readers must get every one.
	payload := strings.Repeat("x", 16<<10)
	broadcast := func(i int) {
		live.BroadcastForTest(e.reg, e.burst.ID, fmt.Appendf(nil, `{"type":"bulk","i":%d,"pad":"%s"}`, i, payload))
		for r, c := range readers {
			if _, ok := c.tryNext("bulk", 10*time.Second); !ok {
				t.Fatalf("reader %d did not receive broadcast %d (read error %v)", r, i, c.err)
			}
		}
	}
	sent := 0
	for ; sent < 3000 && e.reg.Stats().SlowClosed == 0; sent++ {
		broadcast(sent)
	}
	for range 10 {
		broadcast(sent)
		sent++
	}
	t.Logf("stuck client dropped after %d broadcasts of 16 KiB", sent-10)
	waitFor(t, 10*time.Second, "slow consumer closed", func() bool { return e.reg.Stats().SlowClosed >= 1 })
	if st := e.reg.Stats(); st.SlowClosed != 1 {
		t.Fatalf("slow closed = %d, want exactly the stuck client", st.SlowClosed)
	}
	waitFor(t, 10*time.Second, "slow connection gone", func() bool { return e.reg.Stats().Connections == 2 })
}

// fakeCommerce answers like checkout will: a cart, or an apperr with a code.
type fakeCommerce struct{ soldOut int64 }

func (f *fakeCommerce) AddToCart(_ context.Context, shopperID string, burstID, variantID int64, qty int, cardID int64) (any, error) {
	if variantID == f.soldOut {
		return nil, &apperr.Error{Code: "sold_out", Message: "sold out"}
	}
	return map[string]any{"shopper": shopperID, "items": []any{map[string]any{"variant": fmt.Sprint(variantID), "qty": qty, "card": fmt.Sprint(cardID)}}}, nil
}

func (f *fakeCommerce) RemoveFromCart(context.Context, string, int64, int64, int) (any, error) {
	return map[string]any{"items": []any{}}, nil
}

func (f *fakeCommerce) Cart(_ context.Context, shopperID string, _ int64) (any, error) {
	return map[string]any{"shopper": shopperID, "items": []any{}}, nil
}

func (f *fakeCommerce) Checkout(_ context.Context, _ string, burstID int64, returnURL string) (string, error) {
	return "https://checkout.example/pay?return=" + returnURL, nil
}

var _ live.Commerce = (*fakeCommerce)(nil)

// Cart commands reach the Commerce with the connection's shopper and burst;
// its codes become websocket error codes; the shopper's other tab sees the
// new cart; checkout answers with the URL.
func TestCommerceRouting(t *testing.T) {
	fc := &fakeCommerce{soldOut: 999}
	e := newEnv(t, live.Config{}, fc)
	id, token, err := e.signer.New()
	must(t, err)
	tab1 := e.dial(e.wsPath()+"?shopper="+string(token), nil)
	tab2 := e.dial(e.wsPath()+"?shopper="+string(token), nil)
	w := tab1.next(live.TypeWelcome, 5*time.Second)
	if cart, _ := w["cart"].(map[string]any); cart["shopper"] != string(id) {
		t.Fatalf("welcome cart = %v", w["cart"])
	}
	tab2.next(live.TypeWelcome, 5*time.Second)

	tab1.send(map[string]any{"type": "cart.add", "req": "a1", "variant": "12", "qty": 2, "card": "3"})
	m := tab1.next(live.TypeCart, 5*time.Second)
	items := m["cart"].(map[string]any)["items"].([]any)
	if m.str("req") != "a1" || items[0].(map[string]any)["variant"] != "12" || items[0].(map[string]any)["qty"].(float64) != 2 {
		t.Fatalf("cart answer = %v", m)
	}
	if o := tab2.next(live.TypeCart, 5*time.Second); o.str("req") != "" {
		t.Fatalf("other tab's cart carries req: %v", o)
	}
	tab1.send(map[string]any{"type": "cart.add", "req": "a2", "variant": "999", "qty": 1})
	if m := tab1.next(live.TypeError, 5*time.Second); m.str("code") != "sold_out" || m.str("req") != "a2" {
		t.Fatalf("sold out answer = %v", m)
	}
	tab1.send(map[string]any{"type": "checkout", "req": "c1"})
	m = tab1.next(live.TypeAck, 5*time.Second)
	want := fmt.Sprintf("https://checkout.example/pay?return=http://127.0.0.1/watch/%d", e.burst.ID)
	if m.str("req") != "c1" || m.str("checkout_url") != want {
		t.Fatalf("checkout answer = %v, want url %s", m, want)
	}
}

// Keepalive: the server pings; a client that answers stays, a silent one is
// closed once PongWait passes.
func TestKeepalive(t *testing.T) {
	e := newEnv(t, live.Config{PingInterval: 100 * time.Millisecond, PongWait: 400 * time.Millisecond})
	alive := e.dial(e.wsPath(), nil)
	var pings atomic.Int64
	alive.ws.SetPingHandler(func(data string) error {
		pings.Add(1)
		return alive.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	alive.next(live.TypeWelcome, 5*time.Second)
	silent, _, err := websocket.DefaultDialer.DialContext(t.Context(), e.wsURL(e.wsPath()), nil)
	must(t, err)
	defer silent.Close()
	waitFor(t, 5*time.Second, "two connections", func() bool { return e.reg.Stats().Connections == 2 })
	waitFor(t, 5*time.Second, "silent connection closed", func() bool { return e.reg.Stats().Connections == 1 })
	if pings.Load() < 3 {
		t.Fatalf("%d pings", pings.Load())
	}
	alive.send(map[string]string{"type": "ping", "req": "still"})
	if m := alive.next(live.TypeAck, 5*time.Second); m.str("req") != "still" {
		t.Fatalf("ack = %v", m)
	}
}

// A client's websocket pings are answered with their payload, also while
// broadcasts are being written to it.
func TestClientPingAnswered(t *testing.T) {
	e := newEnv(t, live.Config{})
	ws, _, err := websocket.DefaultDialer.DialContext(t.Context(), e.wsURL(e.wsPath()), nil)
	must(t, err)
	defer ws.Close()
	pongs := make(chan string, 16)
	ws.SetPongHandler(func(data string) error {
		pongs <- data
		return nil
	})
	ended := make(chan error, 1)
	go func() {
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				ended <- err
				return
			}
		}
	}()
	waitFor(t, 5*time.Second, "joined", func() bool { return e.reg.Stats().Connections == 1 })
	for i := range 5 {
		live.BroadcastForTest(e.reg, e.burst.ID, fmt.Appendf(nil, `{"type":"bulk","i":%d}`, i))
		want := fmt.Sprintf("hello %d", i)
		must(t, ws.WriteControl(websocket.PingMessage, []byte(want), time.Now().Add(5*time.Second)))
		select {
		case got := <-pongs:
			if got != want {
				t.Fatalf("pong %q, want %q", got, want)
			}
		case err := <-ended:
			t.Fatalf("connection ended: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatalf("no pong for ping %d", i)
		}
	}
}
