//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/dropcast/dropcast/drops"
)

// auditJS checks what a screen-reader or low-vision user needs from a page:
// a language, one h1, a name for every control, alt on every image, and
// text contrast of at least 4.5:1 (3:1 for large text) against the nearest
// solid background. Text over the video or a gradient is left out: its
// background is not known to the page.
const auditJS = `(() => {
  const problems = [];
  const visible = (el) => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el); return r.width > 0 && r.height > 0 && s.visibility !== 'hidden'; };
  if (!document.documentElement.lang) problems.push('no lang on <html>');
  const h1 = document.querySelectorAll('h1').length;
  if (h1 !== 1) problems.push(h1 + ' h1 elements');
  const name = (el) => {
    if (el.getAttribute('aria-label')) return el.getAttribute('aria-label');
    if (el.getAttribute('aria-labelledby')) return el.getAttribute('aria-labelledby').split(' ').map(id => document.getElementById(id)?.textContent || '').join(' ');
    if (el.labels && el.labels.length) return [...el.labels].map(l => l.textContent).join(' ');
    return el.textContent;
  };
  for (const el of document.querySelectorAll('button, a[href], input, select, textarea')) {
    if (!visible(el) && el.type !== 'radio') continue;
    if (!name(el).trim()) problems.push('unnamed ' + el.outerHTML.slice(0, 80));
  }
  for (const img of document.querySelectorAll('img')) if (!img.hasAttribute('alt')) problems.push('img without alt ' + img.src);
  const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const bgOf = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.backgroundImage !== 'none' || e.tagName === 'VIDEO' || e.classList.contains('stage-state')) return null;
      const c = rgb(s.backgroundColor);
      if (c.length >= 3 && (c.length < 4 || c[3] >= 0.9)) return c;
      if (e.classList.contains('stage')) return null;
    }
    return [12, 12, 18];
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!walker.currentNode.textContent.trim() || seen.has(el) || !visible(el) || el.closest('.sr-only, [hidden], script')) continue;
    seen.add(el);
    const s = getComputedStyle(el);
    if (Number(s.opacity) < 1 || el.closest('[disabled], .toast')) continue;
    const bg = bgOf(el);
    if (!bg) continue;
    const fg = rgb(s.color);
    const [a, b] = [lum(fg) + 0.05, lum(bg) + 0.05];
    const ratio = Math.max(a, b) / Math.min(a, b);
    const size = parseFloat(s.fontSize), bold = Number(s.fontWeight) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) problems.push('contrast ' + ratio.toFixed(2) + ' < ' + need + ' for "' + el.textContent.trim().slice(0, 40) + '"');
  }
  return problems;
})()`

// TestAccessibility audits every page at phone and desktop sizes, then
// shops with the keyboard only: pick a size with the arrow keys, add with
// Enter, open the cart, close it with Escape and land back on its button.
func TestAccessibility(t *testing.T) {
	e := startApp(t)
	head := e.demo.Bursts[0]
	if _, err := e.app.Drops.Transition(t.Context(), head.Burst.ID, drops.StateLive, time.Now().Add(-15*time.Second)); err != nil {
		t.Fatal(err)
	}
	ch := newFakeChannel(t, e, head.Burst.ID, head.Key.String())
	base := contractFront(t, e, ch)
	ctx := browser(t)
	pages := []struct{ name, path, ready string }{
		{"drop", "/d/" + e.demo.Drop.Slug, `document.querySelectorAll('#schedule .slot').length === 4`},
		{"watch", burstPath("/watch", head.Burst.ID), `document.querySelector('#overlay-state')?.textContent !== undefined`},
		{"replay", burstPath("/replay", head.Burst.ID), `document.querySelectorAll('#clips li').length > 0`},
		{"host", burstPath("/host", head.Burst.ID), `!!document.getElementById('key-form')`},
		{"admin", "/admin", `!!document.getElementById('token-form')`},
		{"error", "/watch/424242", `true`},
	}
	for _, v := range viewports {
		for _, p := range pages {
			t.Run(v.name+"/"+p.name, func(t *testing.T) {
				run(t, ctx, "open", setViewport(v.width, v.height, v.mobile), chromedp.Navigate(base+p.path))
				waitFor(t, ctx, 10*time.Second, "page ready", p.ready)
				if problems := eval[[]string](t, ctx, auditJS); len(problems) > 0 {
					t.Errorf("%s:\n  %s", p.path, strings.Join(problems, "\n  "))
				}
			})
		}
	}

	t.Run("audit catches problems", func(t *testing.T) {
		run(t, ctx, "open", chromedp.Navigate(base+"/admin"))
		waitFor(t, ctx, 5*time.Second, "page", `!!document.getElementById('token-form')`)
		problems := eval[[]string](t, ctx, `(() => {
			document.body.append(document.createElement('button'));
			const p = document.createElement('p'); p.textContent = 'dim'; p.style.color = '#333'; document.body.append(p);
			const img = document.createElement('img'); img.src = 'data:,'; document.body.append(img);
			return `+auditJS+`;
		})()`)
		if len(problems) != 3 {
			t.Errorf("audit found %q, want the unnamed button, the dim text and the image without alt", problems)
		}
	})

	// Keyboard only, on the watch page with a card pinned.
	run(t, ctx, "watch", setViewport(1280, 800, false), chromedp.Navigate(base+burstPath("/watch", head.Burst.ID)))
	waitFor(t, ctx, 10*time.Second, "channel", `document.getElementById('viewers').textContent === '41 watching'`)
	cards, err := e.app.Drops.ListCards(t.Context(), head.Burst.ID)
	if err != nil {
		t.Fatal(err)
	}
	pinReq := fmt.Sprintf("/api/bursts/%d/cards/%d/show", head.Burst.ID, cards[0].ID)
	if res, _ := post(t, base+pinReq, head.Key.String()); res != 204 {
		t.Fatalf("pin: status %d", res)
	}
	sel := fmt.Sprintf(`#cards .card[data-card="%d"]`, cards[0].ID)
	waitFor(t, ctx, 3*time.Second, "card", fmt.Sprintf(`!!document.querySelector('%s input')`, sel))
	run(t, ctx, "focus the sizes", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector('%s input').focus()`, sel)))
	run(t, ctx, "arrow to the next size", chromedp.KeyEvent(kb.ArrowRight))
	picked := eval[string](t, ctx, fmt.Sprintf(`document.querySelector('%s input:checked')?.parentElement.textContent || ''`, sel))
	if picked != "S" {
		t.Errorf("arrow right picked %q, want S", picked)
	}
	run(t, ctx, "tab to add", chromedp.KeyEvent("\t"))
	if f := eval[string](t, ctx, `document.activeElement.className`); !strings.Contains(f, "add") {
		t.Fatalf("after Tab the focus is on %q, want the add button", f)
	}
	run(t, ctx, "enter", chromedp.KeyEvent("\r"))
	add := ch.waitMessage(t, "cart.add", 5*time.Second)
	if add["card"] != fmt.Sprint(cards[0].ID) {
		t.Errorf("cart.add %v", add)
	}
	run(t, ctx, "focus cart", chromedp.Evaluate[chromedp.Void](`document.getElementById('cart-button').focus()`))
	run(t, ctx, "open cart", chromedp.KeyEvent("\r"))
	waitFor(t, ctx, 3*time.Second, "dialog open with focus inside", `!document.getElementById('cart').hidden && document.getElementById('cart').contains(document.activeElement)`)
	run(t, ctx, "escape", chromedp.KeyEvent(kb.Escape))
	waitFor(t, ctx, 3*time.Second, "dialog closed, focus back", `document.getElementById('cart').hidden && document.activeElement.id === 'cart-button'`)
}

// post sends an authorized POST with no body and returns the status.
func post(t *testing.T, url, token string) (int, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode, nil
}
