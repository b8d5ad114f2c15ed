package sfu

import (
	"sync"
	"time"

	"github.com/pion/rtp"
)

// packet is one source RTP packet as the stream forwards it. It is built
// once by the publisher's path and then only read, by every viewer's writer,
// the retransmission cache and the GOP cache, so it needs no lock.
type packet struct {
	hdr      rtp.Header // as received from the publisher
	payload  []byte
	seq      uint16 // sequence number in the stream's continuous output space
	ts       uint32 // timestamp in the stream's continuous output space
	track    int    // trackVideo or trackAudio
	mime     string // the source track's codec
	keyframe bool   // starts or carries a keyframe
	arrival  time.Time
}

// Track slots of a stream: one video and one audio track.
const (
	trackVideo = 0
	trackAudio = 1
	numTracks  = 2
)

// rtxCacheSize is the number of packets kept per source track for
// retransmission (about 2 s of a 2.5 Mbit/s video track).
const rtxCacheSize = 1024

// rtxCache keeps the last packets of one source track, indexed by output
// sequence number, shared by all viewers: a NACK from any viewer is answered
// from here, so there is one copy per source packet, not one per viewer.
type rtxCache struct {
	mu   sync.RWMutex
	ring [rtxCacheSize]*packet
}

func (c *rtxCache) put(p *packet) {
	c.mu.Lock()
	c.ring[p.seq%rtxCacheSize] = p
	c.mu.Unlock()
}

// get returns the packet with output sequence seq, or nil when it has been
// overwritten or never arrived.
func (c *rtxCache) get(seq uint16) *packet {
	c.mu.RLock()
	p := c.ring[seq%rtxCacheSize]
	c.mu.RUnlock()
	if p == nil || p.seq != seq {
		return nil
	}
	return p
}

// maxGOPPackets bounds the GOP cache (about 30 s of 2.5 Mbit/s); past it the
// cache is dropped and new viewers wait for the next keyframe.
const maxGOPPackets = 8192

// gopCache holds the video packets since the last keyframe, so a new viewer
// starts with a decodable picture at once instead of waiting up to a whole
// keyframe interval (OBS ignores PLI). It is written only by the video
// track's forwarding goroutine and read under the stream's mutex.
type gopCache struct {
	pkts       []*packet
	ts         uint32 // timestamp of the keyframe that starts pkts
	frameStart int    // index in pkts of the first packet with the latest timestamp
	valid      bool
}

// add appends p. A keyframe with a new timestamp starts a new GOP that
// includes the packets of its own frame already seen (SEI, AUD, SPS sent
// ahead of the IDR with the same timestamp).
func (g *gopCache) add(p *packet) {
	if len(g.pkts) > 0 && p.hdr.Timestamp != g.pkts[len(g.pkts)-1].hdr.Timestamp {
		g.frameStart = len(g.pkts)
	}
	if p.keyframe && (!g.valid || p.hdr.Timestamp != g.ts) {
		frame := g.pkts[g.frameStart:]
		if len(g.pkts) > 0 && g.pkts[len(g.pkts)-1].hdr.Timestamp != p.hdr.Timestamp {
			frame = nil
		}
		next := make([]*packet, 0, max(256, len(g.pkts)+16))
		next = append(next, frame...)
		g.pkts, g.frameStart, g.ts, g.valid = next, 0, p.hdr.Timestamp, true
	}
	if !g.valid {
		return
	}
	if len(g.pkts) >= maxGOPPackets {
		g.reset()
		return
	}
	g.pkts = append(g.pkts, p)
}

func (g *gopCache) reset() { *g = gopCache{} }

// snapshot returns the cached packets; the slice must not be modified. add
// only appends or replaces the slice, so the returned prefix stays valid.
func (g *gopCache) snapshot() []*packet {
	if !g.valid {
		return nil
	}
	return g.pkts[:len(g.pkts):len(g.pkts)]
}
