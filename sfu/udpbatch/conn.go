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
// Datagrams leave in the order they were written (so per destination too).
package udpbatch

import (
	"errors"
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
// Lifecycle: New starts the flusher; Close stops it and closes the socket.
type Conn struct {
	conn *net.UDPConn
	bw   *ipv4.PacketConn // sendmmsg on the same socket (any address family)

	mu      sync.Mutex
	space   sync.Cond // signalled when the flusher takes the pending batch
	pending *batch
	spare   *batch // nil while the flusher is sending it
	closed  bool

	wake chan struct{} // cap 1: the pending batch went from empty to non-empty
	done chan struct{}
	wg   sync.WaitGroup

	closeOnce sync.Once
	closeErr  error

	batches  atomic.Int64
	sent     atomic.Int64
	failures atomic.Int64
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
// <= 0) and starts the flusher.
func New(conn *net.UDPConn, size int) *Conn {
	if size <= 0 {
		size = DefaultBatch
	}
	c := &Conn{
		conn:    conn,
		bw:      ipv4.NewPacketConn(conn),
		pending: newBatch(size),
		spare:   newBatch(size),
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	c.space.L = &c.mu
	c.wg.Add(1)
	go c.flushLoop()
	return c
}

// WriteToAddrPort queues p for addr. It returns at once unless the pending
// batch is full, and net.ErrClosed after Close. Send errors are counted
// (Stats), not returned: the datagram has left the caller by then, as UDP
// loss would have.
func (c *Conn) WriteToAddrPort(p []byte, addr netip.AddrPort) (int, error) {
	if !addr.IsValid() {
		return 0, &net.OpError{Op: "write", Net: "udp", Err: errors.New("invalid address")}
	}
	c.mu.Lock()
	for !c.closed && c.pending.n == len(c.pending.msgs) {
		c.space.Wait()
	}
	if c.closed {
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	c.pending.put(p, addr)
	first := c.pending.n == 1
	c.mu.Unlock()
	if first {
		select {
		case c.wake <- struct{}{}:
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
func (c *Conn) SetDeadline(t time.Time) error      { return c.conn.SetDeadline(t) }
func (c *Conn) SetReadDeadline(t time.Time) error  { return c.conn.SetReadDeadline(t) }
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }

// Close stops the flusher, drops what is still queued and closes the
// socket. It is idempotent; the flusher has exited when it returns.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.space.Broadcast()
		c.mu.Unlock()
		close(c.done)
		c.closeErr = c.conn.Close() // unblocks a sendmmsg waiting for buffer space
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

// flushLoop sends pending batches until Close.
func (c *Conn) flushLoop() {
	defer c.wg.Done()
	for {
		select {
		case <-c.done:
			return
		case <-c.wake:
		}
		for {
			c.mu.Lock()
			b := c.pending
			if b.n == 0 || c.closed {
				c.mu.Unlock()
				break
			}
			c.pending, c.spare = c.spare, nil
			c.space.Broadcast()
			c.mu.Unlock()

			closed := c.send(b)

			c.mu.Lock()
			b.n = 0
			c.spare = b
			c.mu.Unlock()
			if closed {
				return
			}
		}
	}
}

// send writes b's datagrams in order. A datagram the kernel refuses is
// counted and skipped; it reports whether the socket is closed.
func (c *Conn) send(b *batch) (closed bool) {
	msgs := b.msgs[:b.n]
	for len(msgs) > 0 {
		n, err := c.bw.WriteBatch(msgs, 0)
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
