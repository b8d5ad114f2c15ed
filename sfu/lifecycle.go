package sfu

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/events"
)

// goLive moves a scheduled burst to live on its first publish, publishes
// the change, and starts the burst's lifecycle timers once.
func (r *Registry) goLive(ctx context.Context, b drops.Burst) error {
	if b.State == drops.StateScheduled {
		nb, err := r.bursts.Transition(ctx, b.ID, drops.StateLive, r.now())
		switch {
		case err == nil:
			b = nb
			r.announce(b)
		case errors.Is(err, drops.ErrBadTransition) && (nb.State == drops.StateLive || nb.State == drops.StateEnding):
			b = nb // a concurrent publish won the race
		case errors.Is(err, drops.ErrBadTransition):
			return fmt.Errorf("%w: %v", ErrBurstEnded, err)
		default:
			return err
		}
	}
	r.mu.Lock()
	running := r.lifecycles[b.ID]
	if !running && !r.closed {
		r.lifecycles[b.ID] = true
		r.wg.Add(1)
		go r.lifecycle(b)
	}
	r.mu.Unlock()
	return nil
}

// activeBursts is what Resume needs from the drops service.
type activeBursts interface {
	ActiveBursts(ctx context.Context) ([]drops.Burst, error)
}

// Resume re-arms the lifecycle timers of bursts that are live or ending
// (the server was restarted during them), so they still move to ending and
// ended at their limit even if no publisher comes back. It needs Deps.Bursts
// to also offer ActiveBursts (drops.Service does); otherwise it does nothing.
func (r *Registry) Resume(ctx context.Context) error {
	ab, ok := r.bursts.(activeBursts)
	if !ok {
		return nil
	}
	bs, err := ab.ActiveBursts(ctx)
	if err != nil {
		return err
	}
	for _, b := range bs {
		if err := r.goLive(ctx, b); err != nil {
			return err
		}
	}
	if len(bs) > 0 {
		r.log.Info("resumed burst lifecycles", "bursts", len(bs))
	}
	return nil
}

// announce publishes a burst's state on the bus.
func (r *Registry) announce(b drops.Burst) {
	e := events.BurstState{BurstID: b.ID, DropID: b.DropID, State: string(b.State), At: r.now()}
	if b.LiveAt != nil {
		e.LiveAt = *b.LiveAt
		e.EndsAt = b.Deadline()
	}
	r.bus.Publish(e)
	r.log.Info("burst state", "burst_id", b.ID, "state", b.State, "ends_at", e.EndsAt)
}

// lifecycle moves a live burst to ending Config.EndingWarning before its
// limit and to ended at the limit, closing its stream. It stops early on
// shutdown (the burst keeps its state and resumes on the next publish).
func (r *Registry) lifecycle(b drops.Burst) {
	defer r.wg.Done()
	defer func() {
		r.mu.Lock()
		delete(r.lifecycles, b.ID)
		r.mu.Unlock()
	}()
	deadline := b.Deadline()
	if b.State == drops.StateLive {
		if !r.sleepUntil(deadline.Add(-r.cfg.EndingWarning)) {
			return
		}
		r.transition(b.ID, drops.StateEnding)
	}
	if !r.sleepUntil(deadline) {
		return
	}
	r.transition(b.ID, drops.StateEnded)
	if st := r.Stream(b.ID); st != nil {
		st.close("burst reached its limit")
	}
}

// sleepUntil waits for the clock to reach t; false means shutdown.
func (r *Registry) sleepUntil(t time.Time) bool {
	d := t.Sub(r.now())
	if d <= 0 {
		return r.ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-r.ctx.Done():
		return false
	}
}

// transition persists a lifecycle change and announces it. A refused
// transition (someone else already moved the burst) is logged, not fatal.
func (r *Registry) transition(id int64, to drops.State) {
	ctx, cancel := context.WithTimeout(r.ctx, 5*time.Second)
	defer cancel()
	b, err := r.bursts.Transition(ctx, id, to, r.now())
	if err != nil {
		r.log.Warn("burst transition refused", "burst_id", id, "to", to, "err", err)
		return
	}
	r.announce(b)
}
