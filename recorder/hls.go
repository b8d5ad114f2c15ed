package recorder

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"time"
)

// segment is a run of fragments starting on a keyframe: one HLS segment.
type segment struct {
	offset, size int64
	dur          float64
}

// segments groups a part's fragments into keyframe-aligned segments.
func segments(f ReadFile) (initSize int64, segs []segment, err error) {
	idx, err := ParseIndex(f, f.Size())
	if err != nil {
		return 0, nil, err
	}
	init, err := readInit(f, idx)
	if err != nil {
		return 0, nil, err
	}
	// Time runs on the first track (video when there is one: the recorder
	// puts it first).
	id, scale := uint32(init.Tracks[0].ID), init.Tracks[0].TimeScale
	for _, fr := range idx.Fragments {
		t, ok := fr.Track(id)
		key := ok && len(t.Samples) > 0 && !t.Samples[0].NonSync
		d := 0.0
		if ok {
			d = float64(t.Duration()) / float64(scale)
		}
		if key || len(segs) == 0 {
			segs = append(segs, segment{offset: fr.Offset, size: fr.Size, dur: d})
			continue
		}
		last := &segs[len(segs)-1]
		last.size += fr.Size
		last.dur += d
	}
	return idx.InitSize, segs, nil
}

// Playlist renders the burst's replay as an HLS playlist (version 7) over
// the recorded fMP4 parts by byte range: EXT-X-MAP for each part's init
// section, one segment per keyframe-aligned fragment, a discontinuity
// between parts, EXT-X-PROGRAM-DATE-TIME at each part's start and every
// card as an EXT-X-DATERANGE (CLASS "com.dropcast.card", X-CARD-ID). A
// burst still recording gets an EVENT playlist without ENDLIST. partURI
// names part n relative to the playlist.
func (m *Manager) Playlist(ctx context.Context, burstID int64, partURI func(n int) string) ([]byte, error) {
	tl, err := m.Timeline(ctx, burstID)
	if err != nil {
		return nil, err
	}
	var body bytes.Buffer
	target, live, wrote := 1.0, false, false
	for _, p := range tl.Parts {
		if p.State == StateFailed {
			continue
		}
		if p.State == StateRecording {
			live = true
		}
		f, err := m.deps.Storage.Open(ctx, p.Path)
		if err != nil {
			return nil, fmt.Errorf("open part %d: %w", p.Part, err)
		}
		initSize, segs, err := segments(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("index part %d: %w", p.Part, err)
		}
		if len(segs) == 0 {
			continue
		}
		if wrote {
			body.WriteString("#EXT-X-DISCONTINUITY\n")
		}
		uri := partURI(p.Part)
		fmt.Fprintf(&body, "#EXT-X-MAP:URI=%q,BYTERANGE=\"%d@0\"\n", uri, initSize)
		fmt.Fprintf(&body, "#EXT-X-PROGRAM-DATE-TIME:%s\n", hlsDate(p.StartedAt))
		if !wrote {
			writeDateRanges(&body, tl)
		}
		wrote = true
		for _, s := range segs {
			target = max(target, math.Ceil(s.dur))
			fmt.Fprintf(&body, "#EXTINF:%.3f,\n#EXT-X-BYTERANGE:%d@%d\n%s\n", s.dur, s.size, s.offset, uri)
		}
	}
	if !wrote {
		return nil, ErrNoRecording
	}
	var out bytes.Buffer
	out.WriteString("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n")
	fmt.Fprintf(&out, "#EXT-X-TARGETDURATION:%d\n#EXT-X-MEDIA-SEQUENCE:0\n", int(target))
	if live {
		out.WriteString("#EXT-X-PLAYLIST-TYPE:EVENT\n")
	} else {
		out.WriteString("#EXT-X-PLAYLIST-TYPE:VOD\n")
	}
	out.Write(body.Bytes())
	if !live {
		out.WriteString("#EXT-X-ENDLIST\n")
	}
	return out.Bytes(), nil
}

// writeDateRanges adds a DATERANGE per card shown, lasting until it was
// hidden when the timeline says so.
func writeDateRanges(w *bytes.Buffer, tl Timeline) {
	for i, e := range tl.Events {
		if e.Type != EventCardShow {
			continue
		}
		fmt.Fprintf(w, "#EXT-X-DATERANGE:ID=\"card-%d-%d\",CLASS=\"com.dropcast.card\",START-DATE=\"%s\"", e.CardID, i, hlsDate(e.At))
		for _, h := range tl.Events[i+1:] {
			if h.Type == EventCardHide && h.CardID == e.CardID {
				fmt.Fprintf(w, ",DURATION=%.3f", h.At.Sub(e.At).Seconds())
				break
			}
		}
		fmt.Fprintf(w, ",X-CARD-ID=\"%d\",X-MEDIA-S=%.3f\n", e.CardID, e.MediaS)
	}
}

func hlsDate(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }
