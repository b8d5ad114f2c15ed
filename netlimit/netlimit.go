// Package netlimit caps how many TCP connections one client address may hold
// open on a listener at once, so that a single client (a buggy page
// reloading in a loop, a script) cannot take every file descriptor of the
// server. Connections over the cap are closed as soon as they are accepted.
package netlimit

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
)

// Options configure a Listener.
type Options struct {
	// Max is the most connections one address may hold open; <= 0 counts
	// nothing.
	Max int
	// Exempt, if not nil, names addresses that are never counted, such as
	// the machine itself (see Loopback).
	Exempt func(netip.Addr) bool
	// OnRefuse, if not nil, is called from Accept for each refused connection.
	OnRefuse func(netip.Addr)
}

// Loopback exempts loopback peers: the machine itself (a reverse proxy on
// the same host, health checks, local tools).
func Loopback(a netip.Addr) bool { return a.IsLoopback() }

// Listener wraps a net.Listener with a per-address cap.
type Listener struct {
	net.Listener
	opts Options

	mu      sync.Mutex
	open    map[netip.Addr]int
	refused atomic.Int64
}

// Wrap returns l with the cap of opts.
func Wrap(l net.Listener, opts Options) *Listener {
	return &Listener{Listener: l, opts: opts, open: make(map[netip.Addr]int)}
}

// Refused is the number of connections closed for being over the cap.
func (l *Listener) Refused() int64 { return l.refused.Load() }

// Open is the number of counted connections open now from addr.
func (l *Listener) Open(addr netip.Addr) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open[addr.Unmap()]
}

// Accept returns the next connection within the cap; those over it are
// closed and never returned.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr, ok := peer(c)
		if l.opts.Max <= 0 || !ok || (l.opts.Exempt != nil && l.opts.Exempt(addr)) {
			return c, nil
		}
		l.mu.Lock()
		over := l.open[addr] >= l.opts.Max
		if !over {
			l.open[addr]++
		}
		l.mu.Unlock()
		if over {
			l.refused.Add(1)
			_ = c.Close() // nothing was read or written: closing is the answer
			if l.opts.OnRefuse != nil {
				l.opts.OnRefuse(addr)
			}
			continue
		}
		return &conn{Conn: c, release: func() { l.release(addr) }}, nil
	}
}

func (l *Listener) release(addr netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[addr] <= 1 {
		delete(l.open, addr)
		return
	}
	l.open[addr]--
}

// peer is the remote IP of c, without an IPv4-in-IPv6 wrapping.
func peer(c net.Conn) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

// conn gives its slot back once, on the first Close (net/http and a
// hijacking websocket may both close it).
type conn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// SyscallConn passes on the wrapped connection's raw access (the shopper
// channel writes broadcasts with it without blocking).
func (c *conn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}

// ReadFrom passes on the wrapped connection's io.ReaderFrom (sendfile for
// files that net/http serves, such as recordings).
func (c *conn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(onlyWriter{c.Conn}, r)
}

// onlyWriter hides every method but Write, so io.Copy cannot loop back.
type onlyWriter struct{ io.Writer }
