package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/dropcast/dropcast/catalog"
	"github.com/dropcast/dropcast/drops"
)

// TestDropToScheduleFlow builds a drop through the admin API and reads it
// back through the public schedule.
func TestDropToScheduleFlow(t *testing.T) {
	e := newTestEnv(t)

	var d drops.Drop
	resp := e.admin("POST", "/api/drops", dropBody("winter-26"), &d)
	wantStatus(t, resp, http.StatusCreated)
	if d.ID == 0 || d.Slug != "winter-26" || resp.Header.Get("Location") == "" {
		t.Fatalf("created drop %+v, location %q", d, resp.Header.Get("Location"))
	}
	id := itoa(d.ID)

	var p catalog.Product
	wantStatus(t, e.admin("POST", "/api/drops/"+id+"/products", productBody("HD"), &p), http.StatusCreated)
	if len(p.Variants) != 2 || p.Variants[0].Available != 10 || p.Variants[0].Price != 8900 {
		t.Fatalf("product variants %+v", p.Variants)
	}

	var v catalog.Variant
	wantStatus(t, e.admin("PATCH", "/api/variants/"+itoa(p.Variants[1].ID), map[string]any{"stock": 7, "price": 9900}, &v), http.StatusOK)
	if v.Available != 7 || v.Price != 9900 || v.Label != "M" {
		t.Fatalf("patched variant %+v", v)
	}

	var created struct {
		burstView
		StreamKey string `json:"stream_key"`
	}
	wantStatus(t, e.admin("POST", "/api/drops/"+id+"/bursts", map[string]any{
		"title": "Headline", "kind": "headline", "scheduled_at": "2030-01-01T18:00:00Z",
	}, &created), http.StatusCreated)
	if !strings.HasPrefix(created.StreamKey, "dck_") || created.MaxDurationS != 900 || created.State != drops.StateScheduled {
		t.Fatalf("created burst %+v", created)
	}
	if got, err := e.drops.BurstByStreamKey(t.Context(), created.StreamKey); err != nil || got.ID != created.ID {
		t.Fatalf("stream key does not resolve: %v", err)
	}
	bid := itoa(created.ID)

	deal := int64(6900)
	var c drops.Card
	wantStatus(t, e.admin("POST", "/api/bursts/"+bid+"/cards", map[string]any{
		"product_id": itoa(p.ID), "offset_s": 30, "duration_s": 90, "deal_price": deal,
	}, &c), http.StatusCreated)
	if c.OffsetS != 30 || c.DealPrice == nil || *c.DealPrice != deal {
		t.Fatalf("card %+v", c)
	}

	var cards struct{ Cards []drops.Card }
	wantStatus(t, e.admin("GET", "/api/bursts/"+bid+"/cards", nil, &cards), http.StatusOK)
	if len(cards.Cards) != 1 || cards.Cards[0].ID != c.ID {
		t.Fatalf("run-of-show %+v", cards.Cards)
	}

	// Public, unauthenticated, by slug.
	var pub publicDropView
	resp = e.do("GET", "/api/drops/winter-26", "", nil, &pub)
	wantStatus(t, resp, http.StatusOK)
	raw := readBody(t, resp)
	if strings.Contains(raw, "dck_") || strings.Contains(raw, "stream_key") {
		t.Fatalf("public schedule leaks a stream key: %s", raw)
	}
	if pub.Drop.ID != d.ID || len(pub.Bursts) != 1 || pub.Bursts[0].Title != "Headline" || pub.Bursts[0].WatchURL != "http://shop.example/watch/"+bid {
		t.Fatalf("public schedule %+v", pub)
	}
	if len(pub.Products) != 1 || len(pub.Products[0].Variants) != 2 || pub.Products[0].Variants[1].Available != 7 {
		t.Fatalf("public products %+v", pub.Products)
	}

	// Rotating the key retires the old one.
	var rotated struct {
		StreamKey string `json:"stream_key"`
	}
	wantStatus(t, e.admin("POST", "/api/bursts/"+bid+"/stream-key", nil, &rotated), http.StatusOK)
	if rotated.StreamKey == created.StreamKey {
		t.Fatal("rotation returned the same key")
	}
	if _, err := e.drops.BurstByStreamKey(t.Context(), created.StreamKey); err == nil {
		t.Fatal("old stream key still works after rotation")
	}
	if _, err := e.drops.BurstByStreamKey(t.Context(), rotated.StreamKey); err != nil {
		t.Fatalf("new stream key: %v", err)
	}

	// Admin view of the same drop by id carries bursts and products.
	var adm adminDropView
	wantStatus(t, e.admin("GET", "/api/drops/"+id, nil, &adm), http.StatusOK)
	if len(adm.Bursts) != 1 || len(adm.Products) != 1 || adm.Bursts[0].HostURL != "http://shop.example/host/"+bid {
		t.Fatalf("admin view %+v", adm)
	}
}

func TestUpdates(t *testing.T) {
	e := newTestEnv(t)
	var d drops.Drop
	wantStatus(t, e.admin("POST", "/api/drops", dropBody("upd"), &d), http.StatusCreated)
	id := itoa(d.ID)

	wantStatus(t, e.admin("PATCH", "/api/drops/"+id, map[string]any{"title": "Renamed"}, &d), http.StatusOK)
	if d.Title != "Renamed" || d.Slug != "upd" || len(d.ShippingCountries) != 0 {
		t.Fatalf("patched drop %+v", d)
	}
	wantStatus(t, e.admin("PATCH", "/api/drops/"+id, map[string]any{"shipping_countries": []string{"US", "CA"}}, &d), http.StatusOK)
	wantStatus(t, e.admin("PATCH", "/api/drops/"+id, map[string]any{"title": "Renamed again"}, &d), http.StatusOK)
	if strings.Join(d.ShippingCountries, ",") != "US,CA" {
		t.Fatalf("shipping countries %v after two patches, want US,CA kept", d.ShippingCountries)
	}
	wantStatus(t, e.admin("PATCH", "/api/drops/"+id, map[string]any{"shipping_countries": []string{}}, &d), http.StatusOK)
	if len(d.ShippingCountries) != 0 {
		t.Fatalf("shipping countries %v after clearing", d.ShippingCountries)
	}
	var b drops.Burst
	wantStatus(t, e.admin("POST", "/api/drops/"+id+"/bursts", map[string]any{
		"title": "B", "kind": "collab", "scheduled_at": "2030-01-02T00:00:00Z", "max_duration_s": 600,
	}, &b), http.StatusCreated)
	wantStatus(t, e.admin("PATCH", "/api/bursts/"+itoa(b.ID), map[string]any{"title": "B2", "max_duration_s": 1200}, &b), http.StatusOK)
	if b.Title != "B2" || b.MaxDurationS != 1200 {
		t.Fatalf("patched burst %+v", b)
	}
	// Shrinking the window below a burst is a conflict, and changes nothing.
	var ae apiError
	wantStatus(t, e.admin("PATCH", "/api/drops/"+id, map[string]any{"ends_at": "2030-01-01T12:00:00Z"}, &ae), http.StatusConflict)
	wantStatus(t, e.admin("GET", "/api/drops/"+id, nil, &d), http.StatusOK)
	if !d.EndsAt.Equal(mustTime(t, "2030-01-03T00:00:00Z")) {
		t.Fatalf("refused patch changed ends_at to %v", d.EndsAt)
	}
	// A live burst cannot be rescheduled.
	if _, err := e.drops.Transition(t.Context(), b.ID, drops.StateLive, mustTime(t, "2030-01-02T00:00:00Z")); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, e.admin("PATCH", "/api/bursts/"+itoa(b.ID), map[string]any{"scheduled_at": "2030-01-02T01:00:00Z"}, &ae), http.StatusConflict)
	if ae.Error.Field != "scheduled_at" {
		t.Fatalf("conflict field %q", ae.Error.Field)
	}

	var p catalog.Product
	wantStatus(t, e.admin("POST", "/api/drops/"+id+"/products", productBody("UP"), &p), http.StatusCreated)
	wantStatus(t, e.admin("PATCH", "/api/products/"+itoa(p.ID), map[string]any{"title": "Tee", "images": []string{}}, &p), http.StatusOK)
	if p.Title != "Tee" || len(p.Images) != 0 || len(p.Variants) != 2 {
		t.Fatalf("patched product %+v", p)
	}
	var v catalog.Variant
	wantStatus(t, e.admin("POST", "/api/products/"+itoa(p.ID)+"/variants", map[string]any{"sku": "UP-L", "label": "L", "price": 9900, "stock": 4}, &v), http.StatusCreated)
	if v.Available != 4 || v.ProductID != p.ID {
		t.Fatalf("added variant %+v", v)
	}
}
