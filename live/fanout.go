package live

import (
	"encoding/binary"
	"runtime"
	"sync"

	"github.com/gorilla/websocket"
)

// Audience selects who receives a broadcast.
type Audience int

// Audiences.
const (
	// Everyone watching the burst, hosts included.
	Everyone Audience = iota
	// Hosts only: connections authenticated with the stream key or the
	// admin token ("sale" messages).
	Hosts
)

// Broadcaster carries a burst's broadcasts to the connections watching it.
// A hub hands it each broadcast once, already encoded as a JSON text frame,
// from the hub's own goroutine; Broadcast must not block on any connection.
//
// The in-process implementation (the registry's local fan-out) prepares the
// frame once (websocket.PreparedMessage, and its bytes on the wire) and
// writes it to each idle connection without waiting, or queues it for the
// connection's writer (conn.deliver). This is the seam for running several nodes: a PostgreSQL
// implementation would wrap the local one, batch frames for about 50 ms per
// burst into one NOTIFY per batch (a NOTIFY in every transaction takes a
// cluster-wide lock at commit, and a payload is at most 8000 bytes), and each
// node's LISTEN loop would hand the frames of the batch to its own local
// fan-out. Handlers and hubs stay as they are; only the registry's choice of
// Broadcaster changes. (Hub state that a "welcome" reports, such as the active
// cards, would follow the same frames on the receiving nodes.)
type Broadcaster interface {
	Broadcast(burstID int64, to Audience, frame []byte)
	// BroadcastBatch sends several messages together, in order: each
	// connection gets them in one write where its socket takes them.
	BroadcastBatch(burstID int64, to Audience, frames [][]byte)
}

// fanout is one burst's set of local connections. A mutex guards the set
// and a snapshot slice per audience, rebuilt on the first broadcast after a
// change (so a crowd joining costs O(1) each, not a copy of the whole list);
// send iterates the snapshot with the lock released, so joining and leaving
// never wait for a broadcast.
type fanout struct {
	mu       sync.Mutex
	members  map[*conn]struct{}
	dirty    bool
	all      []*conn
	hostList []*conn
}

func (f *fanout) add(c *conn) { f.addAfter(c, nil) }

// addAfter runs first (if not nil) and adds c with the set locked: a
// broadcast sent from any goroutine is then either not delivered to c at
// all or delivered after what first queued. join queues the welcome so; a
// client that has read its welcome gets every later broadcast.
func (f *fanout) addAfter(c *conn, first func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if first != nil {
		first()
	}
	if f.members == nil {
		f.members = make(map[*conn]struct{})
	}
	f.members[c] = struct{}{}
	f.dirty = true
}

func (f *fanout) remove(c *conn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.members, c)
	f.dirty = true
}

// size is the number of connections.
func (f *fanout) size() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.members)
}

// snapshot returns the current list for to. The slices are never modified
// after they are built, only replaced.
func (f *fanout) snapshot(to Audience) []*conn {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dirty {
		all := make([]*conn, 0, len(f.members))
		var hosts []*conn
		for c := range f.members {
			all = append(all, c)
			if c.host {
				hosts = append(hosts, c)
			}
		}
		f.all, f.hostList, f.dirty = all, hosts, false
	}
	if to == Hosts {
		return f.hostList
	}
	return f.all
}

// fanoutShare is the fewest connections worth a goroutine of their own
// in a broadcast.
const fanoutShare = 512

// send delivers pm (wire: its bytes on the wire, or nil to queue it) to
// every connection of the audience. A large audience is split between one
// goroutine per core, since delivering is mostly the write system call of
// each socket; send returns once every connection has been written to or
// has the frame queued, which never waits for a client.
func (f *fanout) send(to Audience, pms []*websocket.PreparedMessage, wire []byte) {
	list := f.snapshot(to)
	parts := min(runtime.GOMAXPROCS(0), len(list)/fanoutShare)
	if parts <= 1 {
		for _, c := range list {
			c.deliver(pms, wire)
		}
		return
	}
	per := (len(list) + parts - 1) / parts
	var wg sync.WaitGroup
	for start := per; start < len(list); start += per {
		part := list[start:min(len(list), start+per)]
		wg.Go(func() {
			for _, c := range part {
				c.deliver(pms, wire)
			}
		})
	}
	for _, c := range list[:per] {
		c.deliver(pms, wire)
	}
	wg.Wait()
}

// wireText is payload as this server sends a text message on the wire:
// one final, unmasked, uncompressed frame (the channel's upgrader never
// negotiates compression).
func wireText(payload []byte) []byte {
	n := len(payload)
	var h []byte
	switch {
	case n < 126:
		h = []byte{0x81, byte(n)}
	case n < 1<<16:
		h = []byte{0x81, 126, byte(n >> 8), byte(n)}
	default:
		h = binary.BigEndian.AppendUint64([]byte{0x81, 127}, uint64(n))
	}
	return append(h, payload...)
}

// without returns list minus c, as a new slice when c was in it.
func without(list []*conn, c *conn) []*conn {
	for i, x := range list {
		if x == c {
			out := make([]*conn, 0, len(list)-1)
			out = append(out, list[:i]...)
			return append(out, list[i+1:]...)
		}
	}
	return list
}

// localFanout is the in-process Broadcaster: burst id → fanout.
type localFanout struct {
	mu     sync.RWMutex
	bursts map[int64]*fanout
	onErr  func(error)
}

var _ Broadcaster = (*localFanout)(nil)

func newLocalFanout(onErr func(error)) *localFanout {
	return &localFanout{bursts: make(map[int64]*fanout), onErr: onErr}
}

// open returns burstID's fanout, making it if needed.
func (l *localFanout) open(burstID int64) *fanout {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.bursts[burstID]
	if f == nil {
		f = &fanout{}
		l.bursts[burstID] = f
	}
	return f
}

// close forgets burstID's fanout if it is f.
func (l *localFanout) close(burstID int64, f *fanout) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.bursts[burstID] == f {
		delete(l.bursts, burstID)
	}
}

// Broadcast encodes the frame once and delivers it to every local
// connection of the burst.
func (l *localFanout) Broadcast(burstID int64, to Audience, frame []byte) {
	l.BroadcastBatch(burstID, to, [][]byte{frame})
}

// BroadcastBatch encodes each frame once and delivers them together to
// every local connection of the burst: one write per connection for the
// lot, rather than one per message.
func (l *localFanout) BroadcastBatch(burstID int64, to Audience, frames [][]byte) {
	l.mu.RLock()
	f := l.bursts[burstID]
	l.mu.RUnlock()
	if f == nil || len(frames) == 0 {
		return
	}
	pms := make([]*websocket.PreparedMessage, len(frames))
	var wire []byte
	for i, frame := range frames {
		pm, err := websocket.NewPreparedMessage(websocket.TextMessage, frame)
		if err != nil {
			l.onErr(err)
			return
		}
		pms[i] = pm
		wire = append(wire, wireText(frame)...)
	}
	f.send(to, pms, wire)
}
