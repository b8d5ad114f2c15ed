package drops_test

import (
	"errors"
	"testing"
	"time"

	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/store/storetest"
)

func TestPassLifecycle(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	s := drops.NewService(storetest.New(t), func() time.Time { return now })
	mk := func(slug string) drops.Drop {
		d, err := s.CreateDrop(ctx, drops.DropInput{Slug: slug, Title: "T", StartsAt: now, EndsAt: now.Add(48 * time.Hour), Currency: "USD"})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	d, other := mk("vip"), mk("other")

	exp := now.Add(time.Hour)
	p, key, err := s.CreatePass(ctx, d.ID, drops.PassInput{Label: "Ana", ExpiresAt: &exp})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.CheckPass(ctx, d.ID, key.String()); err != nil || got.ID != p.ID {
		t.Fatalf("CheckPass = %+v, %v", got, err)
	}
	if _, err := s.CheckPass(ctx, other.ID, key.String()); !errors.Is(err, drops.ErrBadPass) {
		t.Fatalf("pass of another drop: %v", err)
	}
	tampered := key.String()[:len(key)-1] + "A"
	if tampered == key.String() {
		tampered = key.String()[:len(key)-1] + "B"
	}
	if _, err := s.CheckPass(ctx, d.ID, tampered); !errors.Is(err, drops.ErrBadPass) {
		t.Fatalf("tampered pass: %v", err)
	}
	for _, junk := range []string{"", "vip_", "vip_1_x", "dck_1_" + key.String()[6:], "vip_0_" + key.String()[6:]} {
		if _, err := s.CheckPass(ctx, d.ID, junk); !errors.Is(err, drops.ErrBadPass) {
			t.Fatalf("junk %q: %v", junk, err)
		}
	}

	now = now.Add(2 * time.Hour)
	if _, err := s.CheckPass(ctx, d.ID, key.String()); !errors.Is(err, drops.ErrPassExpired) {
		t.Fatalf("expired pass: %v", err)
	}

	// Default expiry is the drop's end; revoking stops it at once.
	p2, key2, err := s.CreatePass(ctx, d.ID, drops.PassInput{Label: "Ben"})
	if err != nil || !p2.ExpiresAt.Equal(d.EndsAt) {
		t.Fatalf("default expiry %v, %v", p2.ExpiresAt, err)
	}
	if _, err := s.RevokePass(ctx, d.ID, p2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CheckPass(ctx, d.ID, key2.String()); !errors.Is(err, drops.ErrBadPass) {
		t.Fatalf("revoked pass: %v", err)
	}
	if _, err := s.RevokePass(ctx, other.ID, p2.ID); err == nil {
		t.Fatal("revoked a pass through another drop")
	}
	ps, err := s.ListPasses(ctx, d.ID)
	if err != nil || len(ps) != 2 || ps[0].RevokedAt == nil {
		t.Fatalf("ListPasses = %+v, %v", ps, err)
	}
	past := now.Add(-time.Minute)
	if _, _, err := s.CreatePass(ctx, d.ID, drops.PassInput{Label: "Old", ExpiresAt: &past}); err == nil {
		t.Fatal("pass expiring in the past accepted")
	}
}
