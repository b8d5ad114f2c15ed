package drops_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/store/storetest"
)

func TestTransitionIsExclusive(t *testing.T) {
	ctx := t.Context()
	s := drops.NewService(storetest.New(t), nil)
	now := time.Now().UTC().Truncate(time.Second)
	d, err := s.CreateDrop(ctx, drops.DropInput{Slug: "tx", Title: "T", StartsAt: now.Add(-time.Hour), EndsAt: now.Add(time.Hour), Currency: "USD"})
	if err != nil {
		t.Fatal(err)
	}
	b, key, err := s.CreateBurst(ctx, d.ID, drops.BurstInput{Title: "B", Kind: drops.KindHeadline, ScheduledAt: now})
	if err != nil {
		t.Fatal(err)
	}

	// Ten racers for scheduled → live: exactly one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 10 {
		wg.Go(func() {
			if _, err := s.Transition(ctx, b.ID, drops.StateLive, now); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !errors.Is(err, drops.ErrBadTransition) {
				t.Errorf("transition: %v", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d racers went live, want 1", wins)
	}
	got, err := s.Burst(ctx, b.ID)
	if err != nil || got.State != drops.StateLive || got.LiveAt == nil || !got.LiveAt.Equal(now) {
		t.Fatalf("after live: %+v %v", got, err)
	}
	if !got.Deadline().Equal(now.Add(15 * time.Minute)) {
		t.Fatalf("deadline %v", got.Deadline())
	}
	if _, err := s.Transition(ctx, b.ID, drops.StateLive, now); !errors.Is(err, drops.ErrBadTransition) {
		t.Fatalf("live twice: %v", err)
	}
	if _, err := s.Transition(ctx, b.ID, drops.StateEnding, now.Add(14*time.Minute)); err != nil {
		t.Fatal(err)
	}
	ended, err := s.Transition(ctx, b.ID, drops.StateEnded, now.Add(15*time.Minute))
	if err != nil || ended.State != drops.StateEnded || ended.EndedAt == nil {
		t.Fatalf("ended: %+v %v", ended, err)
	}
	if _, err := s.Transition(ctx, b.ID, drops.StateLive, now); !errors.Is(err, drops.ErrBadTransition) {
		t.Fatalf("ended → live: %v", err)
	}
	// The key still identifies the burst; whether it may publish is the media layer's call.
	if got, err := s.BurstByStreamKey(ctx, key.String()); err != nil || got.ID != b.ID {
		t.Fatalf("BurstByStreamKey: %v", err)
	}
	if _, err := s.BurstByStreamKey(ctx, "dck_999_"+key.String()[len("dck_1_"):]); !errors.Is(err, drops.ErrBadStreamKey) {
		t.Fatalf("key of unknown burst: %v", err)
	}
}
