package live

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// wsPair returns the server side of a real websocket on loopback and its
// client, whose socket has a small receive buffer and which never reads.
func wsPair(t *testing.T) (*websocket.Conn, *websocket.Conn) {
	t.Helper()
	got := make(chan *websocket.Conn, 1)
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		got <- ws
	}))
	t.Cleanup(srv.Close)
	d := websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(4096)
		}
		return c, err
	}}
	client, _, err := d.DialContext(t.Context(), "ws"+srv.URL[len("http"):], nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return <-got, client
}

// socketClosed reports whether ws's socket has been closed.
func socketClosed(ws *websocket.Conn) bool {
	return errors.Is(ws.NetConn().SetReadDeadline(time.Time{}), net.ErrClosed)
}

// A slow consumer's kick closes its socket even when the writer's blocked
// write outlives the kick's write deadline. gorilla applies a frame's write
// deadline when the frame's write starts; a kick landing just before that
// is overridden by the frame's WriteTimeout (here an hour). The test
// reproduces the override by clearing the deadline right after the kick.
func TestKickClosesBlockedWriter(t *testing.T) {
	ws, _ := wsPair(t)
	cfg := Config{QueueSize: 4, WriteTimeout: time.Hour}
	cfg.setDefaults()
	slow := 0
	c := newConn(ws, Client{}, &cfg, func() { slow++ })
	defer c.finish()
	big, err := websocket.NewPreparedMessage(websocket.TextMessage, bytes.Repeat([]byte("x"), 64<<10))
	if err != nil {
		t.Fatal(err)
	}
	// The client never reads: the writer blocks once the socket buffers
	// are full, the queue fills behind it and the next frame kicks.
	for i := 0; !c.isKicked(); i++ {
		if i > 100_000 {
			t.Fatal("queue never overflowed")
		}
		c.enqueue(big)
	}
	_ = ws.NetConn().SetWriteDeadline(time.Time{})
	deadline := time.Now().Add(10 * time.Second)
	for !socketClosed(ws) {
		if time.Now().After(deadline) {
			t.Fatal("kicked connection still open 10 s after the kick")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if slow != 1 {
		t.Fatalf("slow consumer counted %d times, want 1", slow)
	}
}

// A kick closes the socket of an idle connection whose client neither
// reads nor answers the close frame, with nobody reading the socket: the
// close does not depend on the reader.
func TestKickClosesIdleConnection(t *testing.T) {
	ws, _ := wsPair(t)
	cfg := Config{WriteTimeout: time.Hour, PongWait: time.Hour, PingInterval: time.Minute}
	cfg.setDefaults()
	c := newConn(ws, Client{}, &cfg, nil)
	defer c.finish()
	c.kick(CloseRateLimited, "too many commands", nil)
	deadline := time.Now().Add(10 * time.Second)
	for !socketClosed(ws) {
		if time.Now().After(deadline) {
			t.Fatal("kicked connection still open 10 s after the kick")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Frames delivered inline (wireText, tryWrite) read back as the same
// messages at every length encoding, and interleave correctly with frames
// the writer goroutine sends.
func TestDeliverWireFrames(t *testing.T) {
	got := make(chan *websocket.Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err == nil {
			got <- ws
		}
	}))
	defer srv.Close()
	client, _, err := websocket.DefaultDialer.DialContext(t.Context(), "ws"+srv.URL[len("http"):], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	cfg := Config{}
	cfg.setDefaults()
	c := newConn(<-got, Client{}, &cfg, nil)
	defer c.finish()
	sizes := []int{0, 1, 125, 126, 127, 65535, 65536, 200_000}
	var want [][]byte
	for i, n := range sizes {
		payload := bytes.Repeat([]byte{byte('a' + i)}, n)
		pm, err := websocket.NewPreparedMessage(websocket.TextMessage, payload)
		if err != nil {
			t.Fatal(err)
		}
		c.deliver([]*websocket.PreparedMessage{pm}, wireText(payload))
		c.enqueue(pm) // the same through the writer, queued behind whatever is in flight
		want = append(want, payload, payload)
	}
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i, w := range want {
		mt, p, err := client.ReadMessage()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if mt != websocket.TextMessage || !bytes.Equal(p, w) {
			t.Fatalf("message %d: type %d, %d bytes, want text of %d bytes", i, mt, len(p), len(w))
		}
	}
}

// A broadcast reaches a connection whose write deadline from an earlier
// write has passed (the runtime refuses raw writes then).
func TestDeliverAfterDeadlinePassed(t *testing.T) {
	got := make(chan *websocket.Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err == nil {
			got <- ws
		}
	}))
	defer srv.Close()
	client, _, err := websocket.DefaultDialer.DialContext(t.Context(), "ws"+srv.URL[len("http"):], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	cfg := Config{}
	cfg.setDefaults()
	ws := <-got
	c := newConn(ws, Client{}, &cfg, nil)
	defer c.finish()
	// As gorilla leaves it after answering a client's ping.
	_ = ws.NetConn().SetWriteDeadline(time.Now().Add(-time.Second))
	for i := range 3 {
		payload := []byte{byte('a' + i)}
		pm, err := websocket.NewPreparedMessage(websocket.TextMessage, payload)
		if err != nil {
			t.Fatal(err)
		}
		c.deliver([]*websocket.PreparedMessage{pm}, wireText(payload))
		_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, p, err := client.ReadMessage(); err != nil || !bytes.Equal(p, payload) {
			t.Fatalf("message %d: %q, %v", i, p, err)
		}
	}
}
