package sfu

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/pion/webrtc/v4"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/events"
)

// Bursts is what the registry needs from the drops service.
type Bursts interface {
	BurstByStreamKey(ctx context.Context, key string) (drops.Burst, error)
	Burst(ctx context.Context, id int64) (drops.Burst, error)
	Drop(ctx context.Context, id int64) (drops.Drop, error)
	Transition(ctx context.Context, id int64, to drops.State, at time.Time) (drops.Burst, error)
}

// Deps are the registry's collaborators.
type Deps struct {
	Logger  *slog.Logger
	Bursts  Bursts
	Bus     *events.Bus
	Metrics *Metrics
	// Now is the clock; it defaults to time.Now.
	Now func() time.Time
}

// Registry owns every live Stream (one per burst), the WHIP/WHEP sessions,
// the shared WebRTC engine (one API, one certificate, one UDP port) and the
// burst lifecycle timers. Build it with New and stop it with Close.
//
// Concurrency: a mutex guards the stream and session maps; every goroutine
// it starts (stream watchers, lifecycle timers, publisher read loops) is
// counted in its WaitGroup and stopped by Close.
type Registry struct {
	cfg     Config
	log     *slog.Logger
	bursts  Bursts
	bus     *events.Bus
	metrics *Metrics
	now     func() time.Time
	eng     *engine

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex
	streams    map[int64]*Stream
	sessions   map[string]*session
	lifecycles map[int64]bool
	hooks      []func(burstID int64, st *Stream)
	closed     bool
}

// session is a WHIP or WHEP resource that DELETE ends.
type session struct {
	burstID int64
	pub     *Publisher
	viewer  *viewer
	pc      *webrtc.PeerConnection

	// mu serialises PATCHes of the session (trickle, ICE restart).
	mu    sync.Mutex
	etag  string
	offer string // the remote description in force
}

// Session is the result of a WHIP or WHEP offer: the resource id (for the
// Location URL), the SDP answer with gathered candidates, and an ETag.
type Session struct {
	ID     string
	Answer string
	ETag   string
}

// New binds the media UDP port and returns a running registry.
func New(cfg Config, d Deps) (*Registry, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Bursts == nil || d.Bus == nil || d.Metrics == nil || d.Logger == nil {
		return nil, errors.New("sfu: logger, bursts, bus and metrics are required")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	log := d.Logger.With("component", "sfu")
	eng, err := newEngine(cfg, log)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Registry{
		cfg: cfg, log: log, bursts: d.Bursts, bus: d.Bus, metrics: d.Metrics, now: d.Now, eng: eng,
		ctx: ctx, cancel: cancel,
		streams: map[int64]*Stream{}, sessions: map[string]*session{}, lifecycles: map[int64]bool{},
	}
	log.Info("webrtc media listening", "udp_addr", eng.localUDPAddr().String(), "public_ips", cfg.PublicIPs)
	return r, nil
}

// UDPAddr is the bound media address (the ICE UDP mux).
func (r *Registry) UDPAddr() net.Addr { return r.eng.localUDPAddr() }

// ICEServers are the configured STUN/TURN servers, for WHIP/WHEP Link
// headers.
func (r *Registry) ICEServers() []ICEServer {
	out := make([]ICEServer, 0, len(r.eng.servers))
	for _, s := range r.eng.servers {
		cred, _ := s.Credential.(string)
		out = append(out, ICEServer{URL: s.URLs[0], Username: s.Username, Credential: cred})
	}
	return out
}

// ICEServer is one STUN/TURN server.
type ICEServer struct {
	URL, Username, Credential string
}

// OnStream registers fn to be called with every stream the registry
// creates, before any publisher's tracks reach it, so that fn can attach a
// Sink (the recorder does). fn runs on the publishing request's goroutine and
// must return quickly.
func (r *Registry) OnStream(fn func(burstID int64, st *Stream)) {
	r.mu.Lock()
	r.hooks = append(r.hooks, fn)
	r.mu.Unlock()
}

// Stream returns the burst's live stream, or nil.
func (r *Registry) Stream(burstID int64) *Stream {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.streams[burstID]
}

// Authorize finds the burst a stream key publishes to and checks that it may
// be published now: not ended, and now within [scheduled_at −
// Config.EarlyPublish, the drop's ends_at]. Errors: drops.ErrBadStreamKey,
// ErrBurstEnded, ErrOutsideWindow.
func (r *Registry) Authorize(ctx context.Context, key string) (drops.Burst, error) {
	b, err := r.bursts.BurstByStreamKey(ctx, key)
	if err != nil {
		return drops.Burst{}, err
	}
	now := r.now()
	if b.State == drops.StateEnded {
		return b, fmt.Errorf("%w: burst %d ended", ErrBurstEnded, b.ID)
	}
	if dl := b.Deadline(); !dl.IsZero() && !now.Before(dl) {
		// Its lifecycle timer did not run (the server was down at the
		// limit): end it now so every client learns.
		r.transition(b.ID, drops.StateEnded)
		return b, fmt.Errorf("%w: burst %d reached its %s limit at %s", ErrBurstEnded, b.ID, b.MaxDuration(), dl.UTC().Format(time.RFC3339))
	}
	if opens := b.ScheduledAt.Add(-r.cfg.EarlyPublish); now.Before(opens) {
		return b, fmt.Errorf("%w: burst %d opens for publishing at %s", ErrOutsideWindow, b.ID, opens.UTC().Format(time.RFC3339))
	}
	d, err := r.bursts.Drop(ctx, b.DropID)
	if err != nil {
		return b, fmt.Errorf("read drop of burst %d: %w", b.ID, err)
	}
	if !now.Before(d.EndsAt) {
		return b, fmt.Errorf("%w: drop %q ended at %s", ErrOutsideWindow, d.Slug, d.EndsAt.UTC().Format(time.RFC3339))
	}
	return b, nil
}

// streamFor returns the burst's stream, creating it (and calling the
// OnStream hooks) when there is none.
func (r *Registry) streamFor(burstID int64) (*Stream, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	if st := r.streams[burstID]; st != nil {
		r.mu.Unlock()
		return st, nil
	}
	st := &Stream{
		burstID: burstID, reg: r, m: r.metrics.forBurst(burstID),
		log:        r.log.With("burst_id", burstID),
		pubChanged: make(chan struct{}, 1),
		done:       make(chan struct{}),
	}
	r.streams[burstID] = st
	hooks := r.hooks
	r.wg.Add(1)
	r.mu.Unlock()
	go r.watch(st)
	for _, h := range hooks {
		h(burstID, st)
	}
	return st, nil
}

// watch owns a stream's grace period: when its publisher leaves and none
// comes back within Config.Grace, the stream and its viewers are closed.
func (r *Registry) watch(st *Stream) {
	defer r.wg.Done()
	defer r.dropStream(st)
	var grace <-chan time.Time
	var timer *time.Timer
	for {
		select {
		case <-r.ctx.Done():
			st.close("shutdown")
			return
		case <-st.done:
			return
		case <-st.pubChanged:
			if timer != nil {
				timer.Stop()
				timer, grace = nil, nil
			}
			has := st.hasPublisher()
			if has {
				st.m.publishers.Set(1)
			} else {
				st.m.publishers.Set(0)
				st.log.Info("publisher left; waiting", "grace", r.cfg.Grace)
				timer = time.NewTimer(r.cfg.Grace)
				grace = timer.C
			}
		case <-grace:
			if !st.hasPublisher() {
				st.close("publisher did not come back within the grace period")
				return
			}
		}
	}
}

func (r *Registry) dropStream(st *Stream) {
	r.mu.Lock()
	if r.streams[st.burstID] == st {
		delete(r.streams, st.burstID)
	}
	for id, s := range r.sessions {
		if s.burstID == st.burstID && (s.viewer != nil && s.viewer.st == st || s.pub != nil && s.pub.st == st) {
			delete(r.sessions, id)
		}
	}
	r.mu.Unlock()
	st.m.viewers.Set(0)
	st.m.publishers.Set(0)
}

// Publish attaches a new publishing session to burst b (already checked
// with Authorize), replacing a silent publisher, and moves a scheduled burst
// to live. Errors: ErrPublisherActive, ErrBurstEnded, ErrClosed.
func (r *Registry) Publish(ctx context.Context, b drops.Burst, opts PublishOptions) (*Publisher, error) {
	st, err := r.streamFor(b.ID)
	if err != nil {
		return nil, err
	}
	pub := &Publisher{opts: opts, created: time.Now(), done: make(chan struct{}), declared: make(chan struct{})}
	pub.st = st
	for i := range pub.sinkIdx {
		pub.sinkIdx[i] = -1
	}
	// Sinks start when every track is declared, or after a second with
	// those that are (startSinks is a no-op for a publisher not attached).
	pub.startTimer = time.AfterFunc(time.Second, pub.startSinks)
	old, err := st.attach(pub)
	if err != nil {
		pub.startTimer.Stop()
		return nil, err
	}
	if old != nil {
		st.log.Info("publisher replaced", "kind", opts.Kind)
		if old.started {
			for _, s := range st.sinkSnapshot() {
				s.s.SinkStop()
			}
		}
		old.Close()
	}
	if err := r.goLive(ctx, b); err != nil {
		pub.Close()
		return nil, err
	}
	st.log.Info("publisher connected", "kind", opts.Kind)
	return pub, nil
}

// newID returns a random 128-bit hex id for session resources.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	return hex.EncodeToString(b[:])
}

func (r *Registry) addSession(id string, s *session) {
	r.mu.Lock()
	r.sessions[id] = s
	r.mu.Unlock()
}

func (r *Registry) removeSession(id string) *session {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sessions[id]
	delete(r.sessions, id)
	return s
}

// CloseSession ends the WHIP or WHEP session id (the DELETE of its
// resource). Ending a WHIP session starts the stream's grace period. Errors:
// ErrSessionNotFound.
func (r *Registry) CloseSession(id string) error {
	s := r.removeSession(id)
	if s == nil {
		return ErrSessionNotFound
	}
	if s.pub != nil {
		s.pub.Close()
	}
	if s.viewer != nil {
		s.viewer.close()
	}
	return nil
}

// Close ends every stream and session, stops the lifecycle timers and the
// media port, and returns once all goroutines have exited. Bursts stay in
// their state: a restarted server resumes them on the next publish.
func (r *Registry) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	streams := make([]*Stream, 0, len(r.streams))
	for _, st := range r.streams {
		streams = append(streams, st)
	}
	r.mu.Unlock()
	r.cancel()
	for _, st := range streams {
		st.close("shutdown")
	}
	r.wg.Wait()
	return r.eng.close()
}
