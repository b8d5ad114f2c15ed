//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The epoll reader reads the shoppers' sockets without a goroutine each:
// one loop per core waits on its share of the sockets with epoll and
// parses the server's (unmasked) frames straight from each read. A
// delivered message then costs the load process one read system call,
// where a gorilla client per goroutine costs a goroutine wake-up and two
// reads (the data, then EAGAIN before parking again), so the load process
// takes as little as it can of the two cores it shares with the server.

const haveEpoll = true

// rawConn is one shopper socket and its frame parser's state.
type rawConn struct {
	i  int
	fd int
	tc *net.TCPConn

	hdr      [14]byte // the current frame's header, as far as read
	hn       int
	payload  bool  // reading the current frame's payload
	left     int64 // its payload bytes still to come
	op       byte
	prefix   [125]byte // its first payload bytes (a control frame's whole payload)
	pn       int
	shows    int // card.show messages seen
	welcomed bool
	closed   bool
}

// rawLoad is the epoll half of a load: one epoll instance per loop.
type rawLoad struct {
	l     *load
	eps   []int
	conns []atomic.Pointer[rawConn]
	stop  atomic.Bool
	wg    sync.WaitGroup
}

func (l *load) connectRaw(ctx context.Context, n, par int) error {
	r := &rawLoad{l: l, conns: make([]atomic.Pointer[rawConn], n)}
	for range runtime.GOMAXPROCS(0) {
		ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			return fmt.Errorf("epoll: %w", err)
		}
		r.eps = append(r.eps, ep)
	}
	for _, ep := range r.eps {
		r.wg.Go(func() { r.loop(ep) })
	}
	l.raw = r
	addr := strings.TrimPrefix(l.in.URL, "http://")
	path := "/ws/" + strconv.FormatInt(l.in.BurstID, 10)
	sem := make(chan struct{}, par)
	var mu sync.Mutex
	var firstErr error
	var dialWG sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		dialWG.Go(func() {
			defer func() { <-sem }()
			if err := r.dial(ctx, i, addr, path); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("client %d: %w", i, err)
				}
				mu.Unlock()
			}
		})
	}
	dialWG.Wait()
	return firstErr
}

// dial opens client i: the websocket handshake and the welcome are read
// synchronously, then the socket joins an epoll loop.
func (r *rawLoad) dial(ctx context.Context, i int, addr, path string) error {
	d := net.Dialer{Timeout: 30 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	tc := nc.(*net.TCPConn)
	fail := func(err error) error { tc.Close(); return err }
	_ = tc.SetDeadline(time.Now().Add(30 * time.Second))
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := tc.Write([]byte(req)); err != nil {
		return fail(err)
	}
	br := bufio.NewReaderSize(tc, 4096)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return fail(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return fail(fmt.Errorf("handshake status %d", resp.StatusCode))
	}
	c := &rawConn{i: i, tc: tc}
	// Frames until the welcome is complete (it is the first message).
	buf := make([]byte, 4096)
	for !c.welcomed {
		m, err := br.Read(buf)
		if err != nil {
			return fail(err)
		}
		r.feed(c, buf[:m], time.Now().UnixNano())
	}
	_ = tc.SetDeadline(time.Time{})
	rc, err := tc.SyscallConn()
	if err != nil {
		return fail(err)
	}
	if err := rc.Control(func(fd uintptr) { c.fd = int(fd) }); err != nil {
		return fail(err)
	}
	r.conns[i].Store(c)
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(i)}
	if err := syscall.EpollCtl(r.eps[i%len(r.eps)], syscall.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
		return fail(fmt.Errorf("epoll add: %w", err))
	}
	return nil
}

// readPause is how long a loop lets sockets become ready after a wait
// that found only a few.
const readPause = 500 * time.Microsecond

// loop reads the sockets of epoll instance ep as they become readable
// (level-triggered: a socket with more than one read's worth stays ready).
func (r *rawLoad) loop(ep int) {
	events := make([]syscall.EpollEvent, 512)
	buf := make([]byte, 64<<10)
	for !r.stop.Load() {
		n, err := syscall.EpollWait(ep, events, 100)
		if err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			return
		}
		if n < len(events)/8 {
			// Few sockets were ready: let more of them get their message
			// before the next wait, so that one wake-up and one epoll_wait
			// serve many reads (a delivery is then timed up to readPause
			// late, never early).
			time.Sleep(readPause)
		}
		for _, ev := range events[:n] {
			c := r.conns[ev.Fd].Load()
			if c == nil || c.closed {
				continue
			}
			m, err := syscall.Read(c.fd, buf)
			if m > 0 {
				r.feed(c, buf[:m], time.Now().UnixNano())
			}
			if m == 0 || (err != nil && !errors.Is(err, syscall.EAGAIN)) {
				c.closed = true
				_ = syscall.EpollCtl(ep, syscall.EPOLL_CTL_DEL, c.fd, nil)
			}
		}
	}
}

var (
	markWelcome = []byte(`"welcome"`)
	markShow    = []byte(`"card.show"`)
)

// feed parses data, the next bytes of c's stream, read at now (unix ns).
func (r *rawLoad) feed(c *rawConn, data []byte, now int64) {
	for {
		if !c.payload {
			need := 2
			if c.hn >= 2 {
				need = headerLen(c.hdr[1])
			}
			if c.hn < need {
				if len(data) == 0 {
					return
				}
				k := copy(c.hdr[c.hn:need], data)
				c.hn += k
				data = data[k:]
				continue
			}
			c.left = payloadLen(c.hdr[:c.hn])
			c.op, c.hn, c.pn, c.payload = c.hdr[0]&0x0f, 0, 0, true
		}
		if c.left > 0 {
			if len(data) == 0 {
				return
			}
			take := int(min(c.left, int64(len(data))))
			if c.pn < len(c.prefix) {
				c.pn += copy(c.prefix[c.pn:], data[:take])
			}
			c.left -= int64(take)
			data = data[take:]
			continue
		}
		c.payload = false
		r.frame(c, now)
	}
}

// headerLen is the length of a server frame's header (unmasked) whose
// second byte is b.
func headerLen(b byte) int {
	switch b & 0x7f {
	case 126:
		return 4
	case 127:
		return 10
	}
	return 2
}

func payloadLen(h []byte) int64 {
	switch n := h[1] & 0x7f; n {
	case 126:
		return int64(h[2])<<8 | int64(h[3])
	case 127:
		var v int64
		for _, b := range h[2:10] {
			v = v<<8 | int64(b)
		}
		return v
	default:
		return int64(n)
	}
}

// frame handles c's frame just read: it notes the welcome, records
// card.show arrivals and answers pings with pongs (masked, zero mask key).
func (r *rawLoad) frame(c *rawConn, now int64) {
	p := c.prefix[:c.pn]
	switch c.op {
	case 0x1:
		head := p[:min(len(p), 40)]
		switch {
		case !c.welcomed:
			c.welcomed = bytes.Contains(head, markWelcome)
		case c.shows < r.l.pins && bytes.Contains(head, markShow):
			r.l.recv[c.shows][c.i].Store(now)
			c.shows++
		}
	case 0x9:
		pong := append([]byte{0x8a, 0x80 | byte(len(p)), 0, 0, 0, 0}, p...)
		_, _ = c.tc.Write(pong)
	}
}

// close stops the loops and closes every socket.
func (r *rawLoad) close() {
	r.stop.Store(true)
	r.wg.Wait()
	for i := range r.conns {
		if c := r.conns[i].Load(); c != nil {
			c.tc.Close()
		}
	}
	for _, ep := range r.eps {
		syscall.Close(ep)
	}
}
