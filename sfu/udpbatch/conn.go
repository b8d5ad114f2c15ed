// Package udpbatch is a UDP socket whose writes are queued and sent in
// batches with one sendmmsg system call, for a server that sends many small
// datagrams from many goroutines (the SFU's fan-out through Pion's ICE UDP
// mux, one write per packet per viewer).
//
// A write copies the datagram into a preallocated slot of the pending batch
// and returns; one flusher goroutine swaps the pending batch for an empty
// one and sends it. A lone datagram goes out at once (the flusher wakes on
// the first queued one); under load, datagrams queued while a batch is in
// the kernel form the next batch, so the batch size follows the load with
// no timer. When the pending batch is full, writers wait for the flusher:
// the same back-pressure as a blocking socket, nothing is dropped.
//
// Datagrams to one destination leave in the order they were written.
//
// With several lanes (NewLanes), destinations are spread over lanes by a
// hash, each lane with its own queue, flusher and descriptor of the socket
// (a dup: Go serialises the writes of one descriptor), so the kernel's send
// work, most of the cost per datagram, runs on several cores at once.
package udpbatch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"
)

// DefaultBatch is the number of datagrams per sendmmsg call.
const DefaultBatch = 128

// slotSize is the buffer preallocated per queued datagram; larger ones grow
// their slot once and keep it.
const slotSize = 1500

// Conn wraps a *net.UDPConn. Reads go straight to the socket; writes are
// batched. It implements net.PacketConn and Pion ICE's
// AddrPortReaderWriter (ReadFromAddrPort, WriteToAddrPort), so Pion's UDP
// mux uses its allocation-free path.
//
// Lifecycle: New (or NewLanes) starts the flushers; Close stops them and
// closes the socket.
type Conn struct {
	conn  *net.UDPConn
	lanes []*lane

	done chan struct{}
	wg   sync.WaitGroup

	closeOnce sync.Once
	closeErr  error

	batches  atomic.Int64
	sent     atomic.Int64
	failures atomic.Int64
}

// lane is one queue with its flusher and its descriptor of the socket.
type lane struct {
	c    *Conn
	sock *net.UDPConn     // the socket, or a dup of its descriptor
	bw   *ipv4.PacketConn // sendmmsg on sock (any address family)

	mu      sync.Mutex
	space   sync.Cond // signalled when the flusher takes the pending batch
	pending *batch
	spare   *batch // nil while the flusher is sending it
	closed  bool

	wake chan struct{} // cap 1: the pending batch went from empty to non-empty
}

// batch is a set of queued datagrams with their preallocated buffers,
// addresses and sendmmsg messages.
type batch struct {
	msgs  []ipv4.Message
	bufs  [][]byte
	addrs []net.UDPAddr
	ips   [][16]byte
	n     int
}

func newBatch(size int) *batch {
	b := &batch{
		msgs:  make([]ipv4.Message, size),
		bufs:  make([][]byte, size),
		addrs: make([]net.UDPAddr, size),
		ips:   make([][16]byte, size),
	}
	for i := range size {
		b.bufs[i] = make([]byte, 0, slotSize)
		b.msgs[i].Buffers = make([][]byte, 1)
		b.msgs[i].Addr = &b.addrs[i]
	}
	return b
}

// put copies p for addr into the next slot; the caller holds the lock and
// has checked there is room.
func (b *batch) put(p []byte, addr netip.AddrPort) {
	i := b.n
	b.bufs[i] = append(b.bufs[i][:0], p...)
	b.msgs[i].Buffers[0] = b.bufs[i]
	ip := addr.Addr().Unmap()
	a := &b.addrs[i]
	if ip.Is4() {
		v4 := ip.As4()
		copy(b.ips[i][:4], v4[:])
		a.IP = b.ips[i][:4]
	} else {
		b.ips[i] = ip.As16()
		a.IP = b.ips[i][:16]
	}
	a.Port = int(addr.Port())
	a.Zone = ip.Zone() // link-local IPv6 peers need their interface; "" otherwise
	b.n++
}

// New wraps conn with batches of size datagrams (DefaultBatch when size
// <= 0) and one lane, and starts the flusher.
func New(conn *net.UDPConn, size int) *Conn {
	c, _ := NewLanes(conn, size, 1) // one lane needs no dup: cannot fail
	return c
}

// NewLanes is New with up to lanes lanes (at least one). Each lane past
// the first sends through a dup of conn's descriptor; when one cannot be
// made, the lanes made so far are used and the error says why.
func NewLanes(conn *net.UDPConn, size, lanes int) (*Conn, error) {
	if size <= 0 {
		size = DefaultBatch
	}
	c := &Conn{conn: conn, done: make(chan struct{})}
	var err error
	for i := range max(lanes, 1) {
		sock := conn
		if i > 0 {
			if sock, err = dup(conn); err != nil {
				err = fmt.Errorf("udpbatch: lane %d: %w", i, err)
				break
			}
		}
		l := &lane{c: c, sock: sock, bw: ipv4.NewPacketConn(sock), pending: newBatch(size), spare: newBatch(size),
			wake: make(chan struct{}, 1)}
		l.space.L = &l.mu
		c.lanes = append(c.lanes, l)
	}
	for _, l := range c.lanes {
		c.wg.Add(1)
		go l.flushLoop()
	}
	return c, err
}

// dup returns another *net.UDPConn on conn's socket.
func dup(conn *net.UDPConn) (*net.UDPConn, error) {
	f, err := conn.File()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pc, err := net.FilePacketConn(f)
	if err != nil {
		return nil, err
	}
	u, ok := pc.(*net.UDPConn)
	if !ok {
		pc.Close()
		return nil, errors.New("dup is not a UDP socket")
	}
	return u, nil
}

// laneOf picks the lane of a destination: always the same one, so that
// its datagrams keep their order.
func (c *Conn) laneOf(addr netip.AddrPort) *lane {
	if len(c.lanes) == 1 {
		return c.lanes[0]
	}
	ip := addr.Addr().As16()
	h := uint32(addr.Port())*2654435761 ^ binary.LittleEndian.Uint32(ip[12:])*2246822519
	return c.lanes[h%uint32(len(c.lanes))]
}

// Lanes is the number of lanes in use.
func (c *Conn) Lanes() int { return len(c.lanes) }

// WriteToAddrPort queues p for addr. It returns at once unless the lane's
// pending batch is full, and net.ErrClosed after Close. Send errors are
// counted (Stats), not returned: the datagram has left the caller by then,
// as UDP loss would have.
func (c *Conn) WriteToAddrPort(p []byte, addr netip.AddrPort) (int, error) {
	if !addr.IsValid() {
		return 0, &net.OpError{Op: "write", Net: "udp", Err: errors.New("invalid address")}
	}
	l := c.laneOf(addr)
	l.mu.Lock()
	for !l.closed && l.pending.n == len(l.pending.msgs) {
		l.space.Wait()
	}
	if l.closed {
		l.mu.Unlock()
		return 0, net.ErrClosed
	}
	l.pending.put(p, addr)
	first := l.pending.n == 1
	l.mu.Unlock()
	if first {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

// WriteTo queues p for addr, which must be a *net.UDPAddr.
func (c *Conn) WriteTo(p []byte, addr net.Addr) (int, error) {
	a, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, &net.OpError{Op: "write", Net: "udp", Addr: addr, Err: errors.New("not a UDP address")}
	}
	return c.WriteToAddrPort(p, a.AddrPort())
}

// ReadFromAddrPort reads one datagram from the socket.
func (c *Conn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	return c.conn.ReadFromUDPAddrPort(p)
}

// ReadFrom reads one datagram from the socket.
func (c *Conn) ReadFrom(p []byte) (int, net.Addr, error) { return c.conn.ReadFrom(p) }

// LocalAddr is the socket's address (a *net.UDPAddr).
func (c *Conn) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// SetDeadline, SetReadDeadline and SetWriteDeadline apply to the socket; a
// write deadline bounds the flusher's system call, not the queueing.
func (c *Conn) SetDeadline(t time.Time) error {
	return errors.Join(c.conn.SetReadDeadline(t), c.SetWriteDeadline(t))
}

func (c *Conn) SetReadDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }

func (c *Conn) SetWriteDeadline(t time.Time) error {
	var errs []error
	for _, l := range c.lanes {
		errs = append(errs, l.sock.SetWriteDeadline(t))
	}
	return errors.Join(errs...)
}

// Close stops the flushers, drops what is still queued and closes the
// socket (and its dups). It is idempotent; the flushers have exited when it
// returns.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		for _, l := range c.lanes {
			l.mu.Lock()
			l.closed = true
			l.space.Broadcast()
			l.mu.Unlock()
		}
		close(c.done)
		// Closing unblocks a sendmmsg waiting for buffer space.
		for _, l := range c.lanes[1:] {
			_ = l.sock.Close() // a dup: the socket's own close below is the one that matters
		}
		c.closeErr = c.conn.Close()
		c.wg.Wait()
	})
	return c.closeErr
}

// Stats are counters since New.
type Stats struct {
	Batches  int64 // sendmmsg calls that sent something
	Sent     int64 // datagrams handed to the kernel
	Failures int64 // datagrams the kernel refused (dropped)
}

// Stats returns the counters.
func (c *Conn) Stats() Stats {
	return Stats{Batches: c.batches.Load(), Sent: c.sent.Load(), Failures: c.failures.Load()}
}

// flushLoop sends the lane's pending batches until Close.
func (l *lane) flushLoop() {
	defer l.c.wg.Done()
	for {
		select {
		case <-l.c.done:
			return
		case <-l.wake:
		}
		for {
			l.mu.Lock()
			b := l.pending
			if b.n == 0 || l.closed {
				l.mu.Unlock()
				break
			}
			l.pending, l.spare = l.spare, nil
			l.space.Broadcast()
			l.mu.Unlock()

			closed := l.send(b)

			l.mu.Lock()
			b.n = 0
			l.spare = b
			l.mu.Unlock()
			if closed {
				return
			}
		}
	}
}

// send writes b's datagrams in order. A datagram the kernel refuses is
// counted and skipped; it reports whether the socket is closed.
func (l *lane) send(b *batch) (closed bool) {
	c := l.c
	msgs := b.msgs[:b.n]
	for len(msgs) > 0 {
		n, err := l.bw.WriteBatch(msgs, 0)
		if n > 0 {
			c.batches.Add(1)
			c.sent.Add(int64(n))
			msgs = msgs[n:]
		}
		if err == nil {
			continue
		}
		switch {
		case errors.Is(err, net.ErrClosed):
			c.failures.Add(int64(len(msgs)))
			return true
		case errors.Is(err, os.ErrDeadlineExceeded):
			// A write deadline in the past aborts writes (Pion's mux
			// does so on shutdown): drop the rest of the batch.
			c.failures.Add(int64(len(msgs)))
			return false
		case n == 0 && len(msgs) > 0:
			c.failures.Add(1)
			msgs = msgs[1:]
		}
	}
	return false
}

var _ net.PacketConn = (*Conn)(nil)
