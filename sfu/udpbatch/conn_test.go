package udpbatch

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func listen(t testing.TB, addr string) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestOrderAndAddressUnderConcurrentWriters sends numbered datagrams from
// one writer goroutine per destination through one Conn, with batches small
// enough that writers wait for the flusher, and checks every receiver gets
// exactly its own datagrams, all of them, in order. Sizes vary and some
// exceed a slot's preallocated buffer. Writers send in windows acknowledged
// by the receiver, so the receive buffers cannot overflow and any loss is
// the Conn's.
func TestOrderAndAddressUnderConcurrentWriters(t *testing.T) {
	for _, network := range []struct {
		name, local, remote string
		lanes               int
	}{
		{"ipv4 socket", "127.0.0.1:0", "127.0.0.1", 1},
		{"dual-stack socket to ipv4", "[::]:0", "127.0.0.1", 1},
		{"ipv6 socket", "[::1]:0", "::1", 1},
		{"ipv4 socket, 3 lanes", "127.0.0.1:0", "127.0.0.1", 3},
		{"dual-stack socket to ipv4, 2 lanes", "[::]:0", "127.0.0.1", 2},
	} {
		t.Run(network.name, func(t *testing.T) {
			c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(network.local)))
			if err != nil {
				t.Skipf("no %s: %v", network.name, err)
			}
			bc, err := NewLanes(c, 8, network.lanes)
			if err != nil || bc.Lanes() != network.lanes {
				t.Fatalf("%d lanes (%v), want %d", bc.Lanes(), err, network.lanes)
			}
			defer bc.Close()
			const dests, perDest, window = 6, 3000, 200
			var wg sync.WaitGroup
			errs := make(chan error, dests*2)
			for d := range dests {
				r := listen(t, net.JoinHostPort(network.remote, "0"))
				_ = r.SetReadBuffer(1 << 20)
				to := netip.AddrPortFrom(netip.MustParseAddr(network.remote), uint16(r.LocalAddr().(*net.UDPAddr).Port))
				acks := make(chan struct{}, perDest/window+1)
				wg.Add(2)
				go func() { // receiver
					defer wg.Done()
					buf := make([]byte, 4096)
					for i := range perDest {
						_ = r.SetReadDeadline(time.Now().Add(10 * time.Second))
						n, _, err := r.ReadFromUDPAddrPort(buf)
						if err != nil {
							errs <- err
							return
						}
						if n != size(i) || n < 8 {
							errs <- errors.New("datagram size changed")
							return
						}
						gotDest, gotSeq := int(binary.BigEndian.Uint32(buf)), int(binary.BigEndian.Uint32(buf[4:]))
						if gotDest != d {
							errs <- errors.New("datagram for another destination")
							return
						}
						if gotSeq != i {
							errs <- errors.New("datagram lost or out of order")
							return
						}
						if buf[n-1] != byte(i) {
							errs <- errors.New("datagram payload changed")
							return
						}
						if (i+1)%window == 0 {
							acks <- struct{}{}
						}
					}
				}()
				go func() { // writer
					defer wg.Done()
					p := make([]byte, 2000)
					for i := range perDest {
						if i > 0 && i%window == 0 {
							select {
							case <-acks:
							case <-time.After(10 * time.Second):
								errs <- errors.New("receiver stopped acknowledging")
								return
							}
						}
						n := size(i)
						binary.BigEndian.PutUint32(p, uint32(d))
						binary.BigEndian.PutUint32(p[4:], uint32(i))
						p[n-1] = byte(i)
						if _, err := bc.WriteToAddrPort(p[:n], to); err != nil {
							errs <- err
							return
						}
						// Overwriting the caller's buffer at once must not
						// change what was queued.
						clear(p[:n])
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			bc.Close() // the flusher has finished counting
			s := bc.Stats()
			if s.Sent != dests*perDest || s.Failures != 0 {
				t.Fatalf("stats %+v, want %d sent and no failures", s, dests*perDest)
			}
		})
	}
}

// size varies datagram sizes, some beyond slotSize.
func size(i int) int {
	switch i % 7 {
	case 0:
		return 1800
	case 1:
		return 40
	default:
		return 1200 + i%50
	}
}

// TestCloseStopsFlusher checks that Close returns with every lane's
// flusher gone, that later writes fail with net.ErrClosed, and that Close is
// idempotent.
func TestCloseStopsFlusher(t *testing.T) {
	c := listen(t, "127.0.0.1:0")
	r := listen(t, "127.0.0.1:0")
	bc, err := NewLanes(c, 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	to := r.LocalAddr().(*net.UDPAddr).AddrPort()
	for range 100 {
		if _, err := bc.WriteToAddrPort(make([]byte, 100), to); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(stacks(), "udpbatch.(*lane).flushLoop"); n != 2 {
		t.Fatalf("%d flusher goroutines while open, want one per lane", n)
	}
	if err := bc.Close(); err != nil {
		t.Fatal(err)
	}
	if s := stacks(); strings.Contains(s, "udpbatch.(*lane).flushLoop") {
		t.Fatalf("flusher still running after Close:\n%s", s)
	}
	if _, err := bc.WriteToAddrPort([]byte{1}, to); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after Close: %v, want net.ErrClosed", err)
	}
	_ = bc.Close()
}

// TestCloseReleasesBlockedWriters closes the Conn while writers keep its
// tiny queue full, and checks Close returns and every writer ends with
// net.ErrClosed (none stays waiting for queue space).
func TestCloseReleasesBlockedWriters(t *testing.T) {
	c := listen(t, "127.0.0.1:0")
	r := listen(t, "127.0.0.1:0")
	bc, err := NewLanes(c, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	to := r.LocalAddr().(*net.UDPAddr).AddrPort()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if _, err := bc.WriteToAddrPort(make([]byte, 10), to); err != nil {
					if !errors.Is(err, net.ErrClosed) {
						t.Error(err)
					}
					return
				}
			}
		}()
	}
	time.Sleep(10 * time.Millisecond) // let the writers queue; correctness does not depend on it
	if err := bc.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
}

func TestWriteToRejectsNonUDPAddress(t *testing.T) {
	bc := New(listen(t, "127.0.0.1:0"), 0)
	defer bc.Close()
	if _, err := bc.WriteTo([]byte{1}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}); err == nil {
		t.Fatal("WriteTo accepted a TCP address")
	}
	if _, err := bc.WriteToAddrPort([]byte{1}, netip.AddrPort{}); err == nil {
		t.Fatal("WriteToAddrPort accepted an invalid address")
	}
	if s := bc.Stats(); s.Sent != 0 {
		t.Fatalf("sent %d datagrams for rejected writes", s.Sent)
	}
}

func stacks() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// BenchmarkWriteToAddrPort is the per-packet cost seen by the writer
// (queueing one 1200-byte datagram); it must not allocate.
func BenchmarkWriteToAddrPort(b *testing.B) {
	bc := New(listen(b, "127.0.0.1:0"), 0)
	defer bc.Close()
	to := listen(b, "127.0.0.1:0").LocalAddr().(*net.UDPAddr).AddrPort()
	p := make([]byte, 1200)
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if _, err := bc.WriteToAddrPort(p, to); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteToAddrPortParallel writes from many goroutines, like the
// viewers' writers; the flusher's sendmmsg calls are included.
func BenchmarkWriteToAddrPortParallel(b *testing.B) {
	bc := New(listen(b, "127.0.0.1:0"), 0)
	defer bc.Close()
	to := listen(b, "127.0.0.1:0").LocalAddr().(*net.UDPAddr).AddrPort()
	b.ReportAllocs()
	b.SetBytes(1200)
	b.RunParallel(func(pb *testing.PB) {
		p := make([]byte, 1200)
		for pb.Next() {
			if _, err := bc.WriteToAddrPort(p, to); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkPlainWriteToAddrPort is the unbatched socket, one sendto per
// datagram, for comparison.
func BenchmarkPlainWriteToAddrPort(b *testing.B) {
	c := listen(b, "127.0.0.1:0")
	to := listen(b, "127.0.0.1:0").LocalAddr().(*net.UDPAddr).AddrPort()
	p := make([]byte, 1200)
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if _, err := c.WriteToUDPAddrPort(p, to); err != nil {
			b.Fatal(err)
		}
	}
}
