package sfutest

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// headerTap is a viewer's own UDP socket, given to its Pion peer through an
// ICE UDP mux. It counts every RTP packet from the cleartext header (SSRC,
// sequence number; SRTP encrypts only the payload) and, once the viewer has
// what it needs from the decrypted stream (the first keyframe), stops
// handing RTP to Pion: the load generator then spends one read and a header
// parse per packet instead of Pion's demultiplexing, decryption and
// hand-offs between goroutines, so one load process can watch as many
// viewers as the server can serve. STUN, DTLS and RTCP always go to Pion.
type headerTap struct {
	conn *net.UDPConn
	// bypass is set once RTP no longer needs to reach Pion.
	bypass atomic.Bool

	mu     sync.Mutex
	tracks []tapTrack
}

type tapTrack struct {
	ssrc  uint32
	stats TrackStats
}

func newHeaderTap() (*headerTap, error) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	_ = c.SetReadBuffer(1 << 20)
	return &headerTap{conn: c}, nil
}

// isRTP tells RTP from RTCP, STUN and DTLS (RFC 7983, RFC 5761).
func isRTP(p []byte) bool {
	return len(p) >= 12 && p[0] >= 128 && p[0] <= 191 && (p[1] < 192 || p[1] > 223)
}

// ReadFromAddrPort returns the next datagram for Pion, counting (and in
// bypass mode swallowing) RTP on the way.
func (t *headerTap) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	for {
		n, addr, err := t.conn.ReadFromUDPAddrPort(p)
		if err != nil || !isRTP(p[:n]) {
			return n, addr, err
		}
		t.count(p[:n])
		if !t.bypass.Load() {
			return n, addr, nil
		}
	}
}

func (t *headerTap) count(p []byte) {
	ssrc := uint32(p[8])<<24 | uint32(p[9])<<16 | uint32(p[10])<<8 | uint32(p[11])
	seq := uint16(p[2])<<8 | uint16(p[3])
	t.mu.Lock()
	var s *TrackStats
	for i := range t.tracks {
		if t.tracks[i].ssrc == ssrc {
			s = &t.tracks[i].stats
			break
		}
	}
	if s == nil {
		t.tracks = append(t.tracks, tapTrack{ssrc: ssrc, stats: TrackStats{SSRCs: []uint32{ssrc}}})
		s = &t.tracks[len(t.tracks)-1].stats
	}
	countSeq(s, seq, len(p), len(p)-12)
	t.mu.Unlock()
}

// stats returns the counts of the track with the given SSRC.
func (t *headerTap) stats(ssrc uint32) TrackStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tr := range t.tracks {
		if tr.ssrc == ssrc {
			s := tr.stats
			s.SSRCs = append([]uint32(nil), s.SSRCs...)
			return s
		}
	}
	return TrackStats{}
}

func (t *headerTap) ReadFrom(p []byte) (int, net.Addr, error) {
	n, addr, err := t.ReadFromAddrPort(p)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(addr), nil
}

func (t *headerTap) WriteToAddrPort(p []byte, addr netip.AddrPort) (int, error) {
	return t.conn.WriteToUDPAddrPort(p, addr)
}
func (t *headerTap) WriteTo(p []byte, addr net.Addr) (int, error) { return t.conn.WriteTo(p, addr) }
func (t *headerTap) Close() error                                 { return t.conn.Close() }
func (t *headerTap) LocalAddr() net.Addr                          { return t.conn.LocalAddr() }
func (t *headerTap) SetDeadline(d time.Time) error                { return t.conn.SetDeadline(d) }
func (t *headerTap) SetReadDeadline(d time.Time) error            { return t.conn.SetReadDeadline(d) }
func (t *headerTap) SetWriteDeadline(d time.Time) error           { return t.conn.SetWriteDeadline(d) }

var _ net.PacketConn = (*headerTap)(nil)
