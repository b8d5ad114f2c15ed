package recorder

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/events"
	"github.com/dropcast/dropcast/sfu"
)

// cardLookup finds the product a card shows (drops.Service does).
type cardLookup interface {
	Card(ctx context.Context, burstID, id int64) (drops.Card, error)
}

// Deps are the Manager's collaborators. Storage and Logger are required;
// DB, Bus, Cards and Registry may be nil (no rows, no timeline marks, no
// product links on proposals, no metrics registration).
type Deps struct {
	Storage  Storage
	DB       *DB
	Bus      *events.Bus
	Cards    cardLookup
	Logger   *slog.Logger
	Registry prometheus.Registerer
}

// Manager owns the recorders of all bursts. One Recorder per burst is made
// on demand, by SinkFor or by the burst's first event, and lives until the
// burst ends or the Manager closes. A mutex guards the recorder map.
//
// Lifecycle: NewManager, Start (repairs unfinished parts, subscribes to
// the bus), then Close (finalizes every open part, waits for every
// goroutine).
type Manager struct {
	cfg     Config
	deps    Deps
	log     *slog.Logger
	metrics *metrics

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	recs    map[int64]*Recorder
	closed  bool
	started bool
	sub     *events.Subscription
}

// NewManager checks cfg and registers the metrics.
func NewManager(cfg Config, deps Deps) (*Manager, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Storage == nil || deps.Logger == nil {
		return nil, fmt.Errorf("recorder: storage and logger are required")
	}
	m, err := newMetrics(deps.Registry)
	if err != nil {
		return nil, fmt.Errorf("register recorder metrics: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{
		cfg: cfg, deps: deps, log: deps.Logger.With("component", "recorder"), metrics: m,
		ctx: ctx, cancel: cancel, recs: make(map[int64]*Recorder),
	}, nil
}

// Start repairs the parts a crash left unfinished and starts following the
// bus. ctx bounds the repair only.
func (m *Manager) Start(ctx context.Context) error {
	if err := m.Repair(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.started {
		return nil
	}
	m.started = true
	if m.deps.Bus != nil {
		m.sub = m.deps.Bus.Subscribe(1024, func(e events.Event) bool {
			switch e.(type) {
			case events.BurstState, events.CardShown, events.CardHidden:
				return true
			}
			return false
		})
		m.wg.Go(func() { m.route(m.sub) })
	}
	return nil
}

// route hands bus events to the recorder of their burst.
func (m *Manager) route(sub *events.Subscription) {
	for e := range sub.C {
		var id int64
		switch e := e.(type) {
		case events.BurstState:
			if e.State == "scheduled" {
				continue
			}
			id = e.BurstID
		case events.CardShown:
			id = e.BurstID
		case events.CardHidden:
			id = e.BurstID
		}
		if r := m.recorder(id); r != nil {
			r.event(e)
		}
	}
}

// SinkFor returns the sfu.Sink recording burstID, making its Recorder if
// needed. The media side calls it when a publisher session of the burst
// starts and attaches the result to the stream; several calls for the same
// burst return the same Recorder. After Close it returns a sink that
// discards everything.
func (m *Manager) SinkFor(burstID int64) sfu.Sink {
	if r := m.recorder(burstID); r != nil {
		return r
	}
	return discard{}
}

// recorder returns the burst's recorder, starting one if needed; nil once
// closed.
func (m *Manager) recorder(burstID int64) *Recorder {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	if r, ok := m.recs[burstID]; ok {
		return r
	}
	r := &Recorder{
		burstID: burstID, cfg: m.cfg, storage: m.deps.Storage, db: m.deps.DB, metrics: m.metrics,
		log: m.log.With("burst_id", burstID), q: newQueue(m.cfg.QueuePackets), done: make(chan struct{}),
		onEnd: m.ended,
	}
	m.recs[burstID] = r
	m.wg.Go(func() { r.run(m.ctx) })
	return r
}

// ended is called by a recorder's goroutine as it exits.
func (m *Manager) ended(burstID int64, burstEnded bool) {
	m.mu.Lock()
	delete(m.recs, burstID)
	closed := m.closed
	m.mu.Unlock()
	if burstEnded && !closed {
		m.wg.Go(func() {
			n, err := m.ProposeClips(m.ctx, burstID)
			if err != nil {
				m.log.Error("propose clips", "burst_id", burstID, "err", err)
				return
			}
			m.log.Info("clips proposed", "burst_id", burstID, "clips", n)
		})
	}
}

// Close finalizes every open recording (bounded by FinalizeTimeout), stops
// following the bus and waits for all goroutines. It is idempotent.
func (m *Manager) Close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	recs := make([]*Recorder, 0, len(m.recs))
	for _, r := range m.recs {
		recs = append(recs, r)
	}
	sub := m.sub
	m.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.FinalizeTimeout)
	for _, r := range recs {
		if err := r.stop(ctx); err != nil {
			m.log.Error("finalize recording", "burst_id", r.burstID, "err", err)
		}
	}
	cancel()
	if sub != nil {
		sub.Close()
	}
	m.cancel()
	m.wg.Wait()
}

// discard is the sink handed out after Close.
type discard struct{}

func (discard) SinkStart([]sfu.TrackInfo)               {}
func (discard) SinkRTP(int, *rtp.Packet, time.Time)     {}
func (discard) SinkSenderReport(int, uint32, time.Time) {}
func (discard) SinkStop()                               {}
