package server

import (
	"net/http"
	"testing"
	"time"

	"github.com/dropcast/dropcast/drops"
)

func TestVIPPasses(t *testing.T) {
	e := newTestEnv(t)
	var d drops.Drop
	start := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	wantStatus(t, e.admin("POST", "/api/drops", map[string]any{
		"slug": "vip", "title": "V", "currency": "USD", "starts_at": start, "ends_at": start.Add(72 * time.Hour),
	}, &d), http.StatusCreated)
	id := itoa(d.ID)
	var back, open drops.Burst
	wantStatus(t, e.admin("POST", "/api/drops/"+id+"/bursts", map[string]any{"title": "Back", "kind": "backstage", "scheduled_at": start.Add(time.Hour)}, &back), http.StatusCreated)
	wantStatus(t, e.admin("POST", "/api/drops/"+id+"/bursts", map[string]any{"title": "Open", "kind": "headline", "scheduled_at": start.Add(2 * time.Hour)}, &open), http.StatusCreated)

	var issued passWithKey
	wantStatus(t, e.admin("POST", "/api/drops/"+id+"/passes", map[string]any{"label": "Ana"}, &issued), http.StatusCreated)
	if issued.Key == "" || issued.Label != "Ana" {
		t.Fatalf("issued %+v", issued)
	}
	wantStatus(t, e.do("POST", "/api/drops/"+id+"/passes", "", map[string]any{"label": "x"}, nil), http.StatusUnauthorized)
	wantStatus(t, e.admin("POST", "/api/drops/"+id+"/passes", map[string]any{"label": ""}, nil), http.StatusBadRequest)

	backPath := "/api/bursts/" + itoa(back.ID) + "/access"
	var acc map[string]any
	wantStatus(t, e.do("GET", backPath, "", nil, nil), http.StatusUnauthorized)
	wantStatus(t, e.do("GET", backPath, issued.Key, nil, &acc), http.StatusOK)
	if acc["vip"] != true || acc["backstage"] != true {
		t.Fatalf("access %v", acc)
	}
	wantStatus(t, e.do("GET", backPath, "vip_1_forged", nil, nil), http.StatusForbidden)
	wantStatus(t, e.do("GET", "/api/bursts/"+itoa(open.ID)+"/access", "", nil, &acc), http.StatusOK)
	if acc["vip"] != false {
		t.Fatalf("open burst access %v", acc)
	}

	var listed struct{ Passes []drops.Pass }
	wantStatus(t, e.admin("GET", "/api/drops/"+id+"/passes", nil, &listed), http.StatusOK)
	if len(listed.Passes) != 1 || readBody(t, e.admin("GET", "/api/drops/"+id+"/passes", nil, nil)) == "" {
		t.Fatalf("listed %+v", listed)
	}
	if raw := readBody(t, e.admin("GET", "/api/drops/"+id+"/passes", nil, nil)); contains(raw, issued.Key) {
		t.Fatal("pass list shows the pass secret")
	}
	wantStatus(t, e.admin("POST", "/api/drops/"+id+"/passes/"+itoa(issued.ID)+"/revoke", nil, nil), http.StatusOK)
	wantStatus(t, e.do("GET", backPath, issued.Key, nil, nil), http.StatusForbidden)
	wantStatus(t, e.admin("POST", "/api/drops/"+id+"/passes/999999/revoke", nil, nil), http.StatusNotFound)
}
