package recorder

import (
	"context"
	"errors"
	"fmt"
	"sort"
)

// Proposal lengths, in seconds.
const (
	snapS = 10
	cutS  = 20
	heroS = 90
)

// moment is a card's first appearance on the replay timeline.
type moment struct {
	cardID int64
	mediaS float64
}

// ProposeClips cuts the clip set proposed after a burst: for each card
// moment a 10 s snap and a 20 s cut starting there, and one 90 s hero clip
// around the densest run of card moments; each linked to the products of
// its cards. Proposing again adds nothing (one proposal per kind and range).
// It returns how many clips it made.
func (m *Manager) ProposeClips(ctx context.Context, burstID int64) (int, error) {
	tl, err := m.Timeline(ctx, burstID)
	if err != nil {
		return 0, err
	}
	total := tl.Duration()
	moments := cardMoments(tl)
	products := m.cardProducts(ctx, burstID, moments)
	var reqs []ClipRequest
	for _, mo := range moments {
		label := fmt.Sprintf("card %d", mo.cardID)
		for _, k := range []struct {
			kind string
			s    float64
		}{{ClipSnap, snapS}, {ClipCut, cutS}} {
			reqs = append(reqs, ClipRequest{Kind: k.kind, FromS: mo.mediaS, ToS: min(mo.mediaS+k.s, total), Label: label + " " + k.kind,
				CardID: mo.cardID, ProductIDs: products[mo.cardID], clampToPart: true})
		}
	}
	if from, to, in := heroWindow(moments, total, heroS); len(in) > 0 {
		var ps []int64
		for _, mo := range in {
			ps = append(ps, products[mo.cardID]...)
		}
		reqs = append(reqs, ClipRequest{Kind: ClipHero, FromS: from, ToS: to, Label: "hero", ProductIDs: dedupe(ps), clampToPart: true})
	}
	made := 0
	for _, req := range reqs {
		if req.ToS-req.FromS < 1 {
			continue
		}
		_, err := m.CreateClip(ctx, burstID, req)
		if errors.Is(err, errDuplicateProposal) {
			continue
		}
		if err != nil {
			return made, fmt.Errorf("propose %s clip at %.1f s: %w", req.Kind, req.FromS, err)
		}
		made++
	}
	return made, nil
}

// cardMoments lists the card.show marks inside the recording.
func cardMoments(tl Timeline) []moment {
	total := tl.Duration()
	var out []moment
	for _, e := range tl.Events {
		if e.Type == EventCardShow && e.MediaS < total {
			out = append(out, moment{cardID: e.CardID, mediaS: e.MediaS})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].mediaS < out[j].mediaS })
	return out
}

// heroWindow picks the window of length win holding the most moments and
// centres it on them, within [0, total].
func heroWindow(ms []moment, total, win float64) (float64, float64, []moment) {
	if len(ms) == 0 || total <= 0 {
		return 0, 0, nil
	}
	win = min(win, total)
	best, bi, bj := 0, 0, 0
	j := 0
	for i := range ms {
		for j < len(ms) && ms[j].mediaS-ms[i].mediaS <= win {
			j++
		}
		if j-i > best {
			best, bi, bj = j-i, i, j
		}
	}
	in := ms[bi:bj]
	mid := (in[0].mediaS + in[len(in)-1].mediaS) / 2
	from := min(max(mid-win/2, 0), total-win)
	return from, from + win, in
}

// cardProducts maps the cards of the moments to their products.
func (m *Manager) cardProducts(ctx context.Context, burstID int64, ms []moment) map[int64][]int64 {
	out := make(map[int64][]int64)
	if m.deps.Cards == nil {
		return out
	}
	for _, mo := range ms {
		if _, ok := out[mo.cardID]; ok {
			continue
		}
		c, err := m.deps.Cards.Card(ctx, burstID, mo.cardID)
		if err != nil {
			m.log.Warn("card of a proposed clip", "burst_id", burstID, "card_id", mo.cardID, "err", err)
			out[mo.cardID] = nil
			continue
		}
		out[mo.cardID] = []int64{c.ProductID}
	}
	return out
}

func dedupe(v []int64) []int64 {
	seen := make(map[int64]bool)
	var out []int64
	for _, x := range v {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
