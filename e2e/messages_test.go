//go:build e2e

package e2e

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestMessagesTolerant runs client/static/js/messages.js in Chromium: the
// channel's messages map to UI events whichever documented spelling a field
// uses, and junk maps to nothing.
func TestMessagesTolerant(t *testing.T) {
	e := startApp(t)
	ctx := browser(t)
	run(t, ctx, "open", chromedp.Navigate(e.base+burstPath("/watch", e.demo.Bursts[1].Burst.ID)))
	for _, tc := range []struct{ name, expr string }{
		{"card.show contract shape", `m.normalize({type:'card.show', card:{id:'7', product:{id:'3', title:'Hoodie', images:['/images/a-640.jpg']},
			variants:[{id:'11', label:'M', price:8900, available:4}], deal_price:7500, ends_at:'2026-12-01T18:00:00Z'}})`},
		{"card.hide spellings", `[m.normalize({type:'card.hide', card_id:'7'}), m.normalize({type:'card.hide', card:{id:'7'}}), m.normalize({type:'card.hide', card:'7'})].map(x => x.cardId)`},
		{"stock spellings", `[m.normalize({type:'stock', variant:'11', available:3}), m.normalize({type:'stock', variant_id:11, available:'3'})].map(x => [x.variantId, x.available])`},
		{"welcome nested burst", `(({state, endsAt, viewers, cards}) => ({state, endsAt, viewers, n: cards.length}))(m.normalize({type:'welcome', burst:{state:'live', ends_at:'X'}, active_cards:[{id:1}], viewers:5}))`},
		{"checkout ack url", `[m.normalize({type:'ack', req:'r1', url:'https://checkout.stripe.com/x'}).url, m.normalize({type:'ack', req:'r2', checkout_url:'https://c'}).url]`},
		{"error", `m.normalize({type:'error', req:'r3', code:'sold_out', message:'gone'})`},
		{"junk", `[m.normalize(null), m.normalize({}), m.normalize({type:5}), m.normalize('x')]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := eval[string](t, ctx, `import('/static/js/messages.js').then(m => JSON.stringify(`+tc.expr+`))`)
			want := map[string]string{
				"card.show contract shape": `{"type":"card.show","card":{"id":"7","product":{"id":"3","title":"Hoodie","images":["/images/a-640.jpg"]},"variants":[{"id":"11","label":"M","price":8900,"available":4}],"dealPrice":7500,"endsAt":"2026-12-01T18:00:00Z","vipOnly":false,"limit":null,"currency":null,"mediaTime":null}}`,
				"card.hide spellings":      `["7","7","7"]`,
				"stock spellings":          `[["11",3],["11",3]]`,
				"welcome nested burst":     `{"state":"live","endsAt":"X","viewers":5,"n":1}`,
				"checkout ack url":         `["https://checkout.stripe.com/x","https://c"]`,
				"error":                    `{"type":"error","req":"r3","code":"sold_out","message":"gone"}`,
				"junk":                     `[null,null,null,null]`,
			}[tc.name]
			if got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}
