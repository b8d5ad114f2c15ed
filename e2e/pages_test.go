//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dropcast/dropcast/drops"
)

// TestDropPage: the schedule renders with every burst, the calendar links
// download RFC 5545 files, and the product pictures load.
func TestDropPage(t *testing.T) {
	e := startApp(t)
	ctx := browser(t)
	run(t, ctx, "open drop page", chromedp.Navigate(e.base+"/d/"+e.demo.Drop.Slug))
	waitFor(t, ctx, 10*time.Second, "schedule", `document.querySelectorAll('#schedule .slot').length === 4`)

	titles := eval[[]string](t, ctx, `[...document.querySelectorAll('#schedule .slot h3')].map(e => e.textContent)`)
	for _, bk := range e.demo.Bursts {
		found := false
		for _, s := range titles {
			found = found || s == bk.Burst.Title
		}
		if !found {
			t.Errorf("schedule %q lacks %q", titles, bk.Burst.Title)
		}
	}
	counts := eval[[]string](t, ctx, `[...document.querySelectorAll('.slot-count')].map(e => e.textContent)`)
	if !strings.HasPrefix(counts[1], "Starts in ") {
		t.Errorf("second burst countdown %q", counts[1])
	}

	// Calendar files: the whole drop and one burst, fetched as the links do.
	type file struct {
		Type, Body, Disposition string
	}
	fetchICS := func(sel string) file {
		return eval[file](t, ctx, fmt.Sprintf(`(async () => {
			const a = document.querySelector(%q);
			const r = await fetch(a.href);
			return {Type: r.headers.get('content-type'), Disposition: r.headers.get('content-disposition') || '', Body: await r.text()};
		})()`, sel))
	}
	all := fetchICS("#drop-calendar")
	if all.Type != "text/calendar; charset=utf-8" || strings.Count(all.Body, "BEGIN:VEVENT\r\n") != 4 || !strings.Contains(all.Disposition, "attachment") {
		t.Errorf("drop calendar: %+v", all)
	}
	one := fetchICS(`#schedule .slot[data-state="scheduled"] a[download]`)
	if strings.Count(one.Body, "BEGIN:VEVENT\r\n") != 1 || !strings.HasSuffix(one.Body, "END:VCALENDAR\r\n") {
		t.Errorf("burst calendar: %+v", one)
	}

	// Images: every product shows its generated picture at a width the
	// srcset picked.
	run(t, ctx, "scroll", chromedp.Evaluate[chromedp.Void](`document.querySelector('#products').scrollIntoView(); undefined`))
	waitFor(t, ctx, 10*time.Second, "product images", `(() => {
		const imgs = [...document.querySelectorAll('#products img')];
		imgs.forEach(i => i.loading = 'eager');
		return imgs.length === 7 && imgs.every(i => i.complete && i.naturalWidth > 0 && /\/images\/[0-9a-f]+-(320|640|1280)\.jpg$/.test(i.currentSrc));
	})()`)

	for _, v := range viewports {
		run(t, ctx, "viewport", setViewport(v.width, v.height, v.mobile), chromedp.Navigate(e.base+"/d/"+e.demo.Drop.Slug))
		waitFor(t, ctx, 10*time.Second, "schedule", `document.querySelectorAll('#schedule .slot').length === 4`)
		screenshot(t, ctx, "drop-"+v.name, false)
	}
}

// TestWatchScheduled: a burst that has not started shows "starting soon"
// with a countdown and a calendar link, and no video spinner.
func TestWatchScheduled(t *testing.T) {
	e := startApp(t)
	ctx := browser(t)
	later := e.demo.Bursts[1].Burst // 12 hours out
	run(t, ctx, "open watch page", chromedp.Navigate(e.base+burstPath("/watch", later.ID)))
	waitFor(t, ctx, 10*time.Second, "starting soon", `document.querySelector('#overlay-state .kicker')?.textContent === 'Starting soon'`)
	count := eval[string](t, ctx, `document.getElementById('soon-count').textContent`)
	if !strings.Contains(count, ":") {
		t.Errorf("countdown %q", count)
	}
	if live := eval[bool](t, ctx, `!document.getElementById('live-badge').hidden`); live {
		t.Error("scheduled burst shows the live badge")
	}
	href := eval[string](t, ctx, `document.querySelector('#overlay-state a[download]').getAttribute('href')`)
	if want := fmt.Sprintf("/d/%s/bursts/%d/calendar.ics", e.demo.Drop.Slug, later.ID); href != want {
		t.Errorf("calendar link %q, want %q", href, want)
	}
	if c := eval[string](t, ctx, `document.cookie`); c != "" {
		t.Errorf("shopper cookie readable from script: %q", c)
	}
}

// TestScreenshots saves the watch, host, drop and replay pages at phone and
// desktop sizes, with the headline burst live so the overlay shows a card.
func TestScreenshots(t *testing.T) {
	e := startApp(t)
	head := e.demo.Bursts[0]
	// Live since 15 s: the run-of-show's first card (offset 10 s) is up.
	if _, err := e.app.Drops.Transition(t.Context(), head.Burst.ID, drops.StateLive, time.Now().Add(-15*time.Second)); err != nil {
		t.Fatal(err)
	}
	ctx := browser(t)
	for _, v := range viewports {
		run(t, ctx, "viewport", setViewport(v.width, v.height, v.mobile))

		run(t, ctx, "watch", chromedp.Navigate(e.base+burstPath("/watch", head.Burst.ID)))
		waitFor(t, ctx, 10*time.Second, "a card", `document.querySelector('#cards .card img')?.complete === true`)
		run(t, ctx, "pick size", chromedp.Evaluate[chromedp.Void](`document.querySelector('#cards .card input:not(:disabled)').click()`))
		waitFor(t, ctx, 5*time.Second, "card animation", `document.getAnimations().filter(a => a.animationName === 'card-in').length === 0`)
		screenshot(t, ctx, "watch-"+v.name, false)

		run(t, ctx, "host", chromedp.Navigate(e.base+burstPath("/host", head.Burst.ID)))
		waitFor(t, ctx, 5*time.Second, "key form", `!!document.getElementById('stream-key')`)
		run(t, ctx, "sign in", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById('stream-key').value = %q;
			document.querySelector('#key-form button').click()`, head.Key.String())))
		waitFor(t, ctx, 10*time.Second, "run-of-show", `document.querySelectorAll('#run-of-show li').length === 6`)
		screenshot(t, ctx, "host-"+v.name, false)

		run(t, ctx, "drop", chromedp.Navigate(e.base+"/d/"+e.demo.Drop.Slug))
		waitFor(t, ctx, 10*time.Second, "schedule", `document.querySelectorAll('#schedule .slot').length === 4`)
		screenshot(t, ctx, "drop-full-"+v.name, true)

		run(t, ctx, "replay", chromedp.Navigate(e.base+burstPath("/replay", head.Burst.ID)))
		waitFor(t, ctx, 10*time.Second, "replay state", `document.querySelectorAll('#clips li').length > 0`)
		screenshot(t, ctx, "replay-"+v.name, false)
	}

	// A phone on its side: the shop moves to a column at the right.
	run(t, ctx, "landscape", setViewport(844, 390, true), chromedp.Navigate(e.base+burstPath("/watch", head.Burst.ID)))
	waitFor(t, ctx, 10*time.Second, "a card", `document.querySelector('#cards .card img')?.complete === true`)
	waitFor(t, ctx, 5*time.Second, "card animation", `document.getAnimations().filter(a => a.animationName === 'card-in').length === 0`)
	screenshot(t, ctx, "watch-phone-landscape", false)
}
