package app

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/dropcast/dropcast/drops"
)

// TestBackstageNeedsPass checks that a backstage burst's shopper channel
// refuses shoppers without a valid VIP pass and that a pass opens it (WHEP's
// refusals are in server's TestWHIPWHEPErrors).
func TestBackstageNeedsPass(t *testing.T) {
	a, _ := startApp(t)
	ctx := t.Context()
	now := time.Now()
	d, err := a.Drops.CreateDrop(ctx, drops.DropInput{Slug: "vip", Title: "VIP", StartsAt: now.Add(-time.Hour),
		EndsAt: now.Add(time.Hour), Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := a.Drops.CreateBurst(ctx, d.ID, drops.BurstInput{Title: "Back", Kind: drops.KindBackstage, ScheduledAt: now})
	if err != nil {
		t.Fatal(err)
	}
	_, pass, err := a.Drops.CreatePass(ctx, d.ID, drops.PassInput{Label: "Ana"})
	if err != nil {
		t.Fatal(err)
	}
	wsURL := fmt.Sprintf("ws://%s/ws/%d", a.Addr(), b.ID)
	for name, tc := range map[string]struct {
		query  string
		status int
	}{
		"no pass":     {"", http.StatusUnauthorized},
		"forged pass": {"?pass=vip_1_" + strings.Repeat("A", 43), http.StatusForbidden},
	} {
		_, resp, err := websocket.DefaultDialer.DialContext(t.Context(), wsURL+tc.query, nil)
		if err == nil || resp == nil || resp.StatusCode != tc.status {
			t.Fatalf("%s: dial err %v, response %v; want status %d", name, err, resp, tc.status)
		}
	}
	ws, _, err := websocket.DefaultDialer.DialContext(t.Context(), wsURL+"?pass="+url.QueryEscape(pass.String()), nil)
	if err != nil {
		t.Fatalf("dial with pass: %v", err)
	}
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	var w struct{ Type string }
	if err := ws.ReadJSON(&w); err != nil || w.Type != "welcome" {
		t.Fatalf("welcome = %+v, %v", w, err)
	}
}
