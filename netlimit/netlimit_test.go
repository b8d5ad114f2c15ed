package netlimit_test

import (
	"io"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dropcast/dropcast/netlimit"
)

// serve accepts on l and holds every connection open until the test ends,
// echoing what it reads so a client can tell it was served.
func serve(t *testing.T, l net.Listener) {
	t.Helper()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	t.Cleanup(func() { l.Close() })
}

// dial connects from the local address from (127.0.0.x) and reports whether
// the server answers.
func dial(t *testing.T, from, to string) (net.Conn, bool) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", to)
	if err != nil {
		t.Fatalf("dial from %s: %v", from, err)
	}
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte{'x'}); err != nil {
		c.Close()
		return nil, false
	}
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		c.Close()
		return nil, false
	}
	return c, true
}

// Each address may hold Max connections; one more is closed unanswered,
// another address is counted apart, and closing a connection frees its slot.
func TestCapPerAddress(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var refusedFrom atomic.Value
	l := netlimit.Wrap(raw, netlimit.Options{Max: 2, OnRefuse: func(a netip.Addr) { refusedFrom.Store(a) }})
	serve(t, l)
	addr := raw.Addr().String()
	from := netip.MustParseAddr("127.0.0.2")

	a1, ok1 := dial(t, "127.0.0.2", addr)
	a2, ok2 := dial(t, "127.0.0.2", addr)
	if !ok1 || !ok2 {
		t.Fatal("connections within the cap were not served")
	}
	defer a2.Close()
	if _, ok := dial(t, "127.0.0.2", addr); ok {
		t.Fatal("a third connection from 127.0.0.2 was served; the cap is 2")
	}
	if got := l.Refused(); got != 1 {
		t.Fatalf("refused %d, want 1", got)
	}
	if got, _ := refusedFrom.Load().(netip.Addr); got != from {
		t.Fatalf("OnRefuse got %v", got)
	}
	b1, ok := dial(t, "127.0.0.3", addr)
	if !ok {
		t.Fatal("another address was refused")
	}
	defer b1.Close()

	a1.Close()
	for deadline := time.Now().Add(2 * time.Second); l.Open(from) != 1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("open from %v: %d after a close, want 1", from, l.Open(from))
		}
	}
	c, ok := dial(t, "127.0.0.2", addr)
	if !ok {
		t.Fatal("a freed slot was not given to a new connection")
	}
	c.Close()
}

// Exempt addresses and a zero cap count nothing.
func TestExemptAndUnlimited(t *testing.T) {
	for name, opts := range map[string]netlimit.Options{
		"exempt":    {Max: 1, Exempt: netlimit.Loopback},
		"unlimited": {Max: 0},
	} {
		t.Run(name, func(t *testing.T) {
			raw, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			l := netlimit.Wrap(raw, opts)
			serve(t, l)
			for range 5 {
				c, ok := dial(t, "127.0.0.2", raw.Addr().String())
				if !ok {
					t.Fatal("refused")
				}
				defer c.Close()
			}
			if got := l.Open(netip.MustParseAddr("127.0.0.2")); l.Refused() != 0 || got != 0 {
				t.Fatalf("refused %d, counted %d", l.Refused(), got)
			}
		})
	}
}

// A counted connection still offers what the server uses of a TCP
// connection: raw access (non-blocking broadcast writes) and ReadFrom
// (sendfile).
func TestCountedConnKeepsRawAccess(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := netlimit.Wrap(raw, netlimit.Options{Max: 4})
	defer l.Close()
	go func() {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
		if c, err := d.Dial("tcp", raw.Addr().String()); err == nil {
			defer c.Close()
			_, _ = io.Copy(io.Discard, c)
		}
	}()
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.(*net.TCPConn); ok {
		t.Fatal("a counted connection came back unwrapped")
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		t.Fatal("counted connection without SyscallConn")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd uintptr
	if err := rc.Control(func(f uintptr) { fd = f }); err != nil || fd == 0 {
		t.Fatalf("raw access: fd %d, %v", fd, err)
	}
	rf, ok := c.(io.ReaderFrom)
	if !ok {
		t.Fatal("counted connection without ReadFrom")
	}
	if n, err := rf.ReadFrom(strings.NewReader("hello")); err != nil || n != 5 {
		t.Fatalf("ReadFrom: %d, %v", n, err)
	}
}
