package demo

import (
	"time"

	"github.com/dropcast/dropcast/catalog"
	"github.com/dropcast/dropcast/drops"
)

func sized(stem string, price int64, stock map[string]int, labels ...string) []catalog.VariantInput {
	vs := make([]catalog.VariantInput, len(labels))
	for i, l := range labels {
		vs[i] = catalog.VariantInput{SKU: stem + "-" + l, Label: l, Price: price, Stock: stock[l]}
	}
	return vs
}

// productPlans is the demo catalog: a small winter capsule in USD cents.
func productPlans() []catalog.ProductInput {
	apparel := map[string]int{"XS": 15, "S": 40, "M": 60, "L": 50, "XL": 25}
	return []catalog.ProductInput{
		{Title: "Midnight Heavyweight Hoodie", Description: "480 gsm brushed fleece, dropped shoulder, glow-ink back print.",
			Variants: sized("MR-HOODIE", 8900, apparel, "XS", "S", "M", "L", "XL")},
		{Title: "Run Club Logo Tee", Description: "Garment-dyed 240 gsm cotton tee.",
			Variants: sized("MR-TEE", 3500, map[string]int{"S": 80, "M": 120, "L": 100, "XL": 60}, "S", "M", "L", "XL")},
		{Title: "Ripstop Cargo Pant", Description: "Water-repellent ripstop with six pockets and cinch hems.",
			Variants: sized("MR-CARGO", 11000, map[string]int{"28": 10, "30": 30, "32": 35, "34": 25, "36": 10}, "28", "30", "32", "34", "36")},
		{Title: "Reflective Track Jacket", Description: "Full-zip shell with 3M reflective piping.",
			Variants: sized("MR-TRACK", 14000, map[string]int{"S": 20, "M": 30, "L": 30, "XL": 15}, "S", "M", "L", "XL")},
		{Title: "Nylon Bucket Hat", Description: "Packable, one size.",
			Variants: sized("MR-BUCKET", 4000, map[string]int{"OS": 150}, "OS")},
		{Title: "Crew Sock 3-Pack", Description: "Cushioned crew socks, three colourways.",
			Variants: sized("MR-SOCKS", 1800, map[string]int{"S-M": 200, "L-XL": 200}, "S-M", "L-XL")},
		{Title: "Collab Runner (Numbered Pair)", Description: "Co-designed runner, 300 numbered pairs.",
			Variants: sized("MR-RUNNER", 18000, map[string]int{"40": 30, "41": 50, "42": 70, "43": 70, "44": 50, "45": 30}, "40", "41", "42", "43", "44", "45")},
	}
}

type burstPlan struct {
	title string
	kind  drops.Kind
	at    time.Duration // after the drop's start (plus five minutes)
	cards []cardPlan
}

type cardPlan struct {
	product   string // SKU stem
	offsetS   int
	durationS int
	dealPct   int // percent off the lowest variant price; 0 for none
	vipOnly   bool
	limit     int // per-shopper limit; 0 for the default
}

// burstPlans spreads the four demo bursts over the 48-hour window; the
// headline set can go live as soon as the demo is seeded.
func burstPlans() []burstPlan {
	return []burstPlan{
		{title: "Headline Set: The Capsule Reveal", kind: drops.KindHeadline, at: 0, cards: []cardPlan{
			{product: "MR-HOODIE", offsetS: 10, durationS: 120, dealPct: 15, limit: 2},
			{product: "MR-TEE", offsetS: 150, durationS: 90},
			{product: "MR-CARGO", offsetS: 270, durationS: 120},
			{product: "MR-TRACK", offsetS: 420, durationS: 120},
			{product: "MR-BUCKET", offsetS: 570, durationS: 90},
			{product: "MR-HOODIE", offsetS: 720, durationS: 150, limit: 2},
		}},
		{title: "Collab Set: Runner Unboxing", kind: drops.KindCollab, at: 12 * time.Hour, cards: []cardPlan{
			{product: "MR-RUNNER", offsetS: 30, durationS: 240, limit: 1},
			{product: "MR-SOCKS", offsetS: 300, durationS: 120, dealPct: 20},
			{product: "MR-RUNNER", offsetS: 600, durationS: 240, limit: 1},
		}},
		{title: "Community Deals Rotation", kind: drops.KindCommunity, at: 24 * time.Hour, cards: []cardPlan{
			{product: "MR-TEE", offsetS: 20, durationS: 120, dealPct: 25, limit: 3},
			{product: "MR-BUCKET", offsetS: 180, durationS: 120, dealPct: 25},
			{product: "MR-SOCKS", offsetS: 340, durationS: 120, dealPct: 30},
			{product: "MR-CARGO", offsetS: 500, durationS: 150, dealPct: 20, limit: 1},
			{product: "MR-HOODIE", offsetS: 700, durationS: 150, dealPct: 20, limit: 1},
		}},
		{title: "Backstage: VIP Early Access", kind: drops.KindBackstage, at: 36 * time.Hour, cards: []cardPlan{
			{product: "MR-RUNNER", offsetS: 15, durationS: 300, dealPct: 10, vipOnly: true, limit: 1},
			{product: "MR-TRACK", offsetS: 360, durationS: 240, dealPct: 30, vipOnly: true, limit: 1},
		}},
	}
}
