package recorder

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/pmp4"
)

// CutResult describes a cut clip.
type CutResult struct {
	// Keyframe is where the stored media starts (the keyframe at or before
	// the requested start), in the source's time.
	Keyframe time.Duration
	// PreRoll is the stored media before the requested start that the edit
	// list hides (Start - Keyframe).
	PreRoll time.Duration
	// Duration is the clip's playing length.
	Duration time.Duration
	// Bytes written.
	Bytes int64
}

// ErrEmptyRange: the range holds no media.
var ErrEmptyRange = errors.New("clip range holds no media")

// trackSample is a sample placed on its track's timeline.
type trackSample struct {
	dts int64
	SampleInfo
}

// trackSamples lists a track's samples across the fragments.
func trackSamples(idx *Index, id uint32) []trackSample {
	var out []trackSample
	for _, f := range idx.Fragments {
		t, ok := f.Track(id)
		if !ok {
			continue
		}
		dts := int64(t.BaseTime)
		for _, s := range t.Samples {
			out = append(out, trackSample{dts: dts, SampleInfo: s})
			dts += int64(s.Duration)
		}
	}
	return out
}

// Cut writes [from, to) of the fMP4 recording src to w as a progressive MP4
// (moov first, so it plays while downloading and uploads anywhere) without
// re-encoding. Video starts on the keyframe at or before from; an edit list
// hides the pre-roll, so the clip plays exactly from..to and yet every
// frame decodes. Audio is aligned on the same timeline.
//
// Why an edit list rather than snapping to the keyframe: card moments and
// admin ranges are chosen to the second and a keyframe can be up to a GOP
// (OBS: 1–2 s, cameras: more) earlier. Progressive MP4 players, ffmpeg and
// browsers honour a one-entry edit list; snapping is what the replay's HLS
// segments do instead, where edit lists are not available.
func Cut(ctx context.Context, src io.ReaderAt, size int64, from, to time.Duration, w io.Writer) (CutResult, error) {
	if from < 0 || to <= from {
		return CutResult{}, fmt.Errorf("cut %v..%v: %w", from, to, ErrEmptyRange)
	}
	idx, err := ParseIndex(src, size)
	if err != nil {
		return CutResult{}, err
	}
	init, err := readInit(src, idx)
	if err != nil {
		return CutResult{}, err
	}
	var video *fmp4.InitTrack
	for _, it := range init.Tracks {
		if it.Codec.IsVideo() {
			video = it
			break
		}
	}
	// The clip's time zero on the source timeline: the keyframe for video,
	// the start itself for audio only.
	start := from
	if video != nil {
		samples := trackSamples(idx, uint32(video.ID))
		fromT := ticks(from, video.TimeScale)
		k := -1
		for i, s := range samples {
			if s.dts > fromT {
				break
			}
			if !s.NonSync {
				k = i
			}
		}
		if k < 0 {
			for i, s := range samples { // from precedes the first frame
				if !s.NonSync {
					k = i
					break
				}
			}
		}
		if k < 0 {
			return CutResult{}, fmt.Errorf("cut %v..%v: no keyframe: %w", from, to, ErrEmptyRange)
		}
		start = min(from, dur(samples[k].dts, video.TimeScale))
	}
	pres := pmp4.Presentation{}
	// pmp4 writes each payload as soon as it has it, so one scratch buffer
	// serves every sample.
	scratch := make([]byte, 0, 256<<10)
	for _, it := range init.Tracks {
		tr := &pmp4.Track{ID: it.ID, TimeScale: it.TimeScale, Codec: it.Codec}
		first := int64(-1)
		startT, toT := ticks(start, it.TimeScale), ticks(to, it.TimeScale)
		for _, s := range trackSamples(idx, uint32(it.ID)) {
			if s.dts < startT && (it == video || s.dts+int64(s.Duration) <= startT) {
				continue
			}
			if s.dts >= toT {
				break
			}
			if err := ctx.Err(); err != nil {
				return CutResult{}, err
			}
			if first < 0 {
				first = s.dts
			}
			off, n := s.Offset, s.Size
			tr.Samples = append(tr.Samples, &pmp4.Sample{
				Duration: s.Duration, PTSOffset: s.PTSOffset, IsNonSyncSample: s.NonSync, PayloadSize: n,
				GetPayload: func() ([]byte, error) {
					if cap(scratch) < int(n) {
						scratch = make([]byte, 0, n)
					}
					b := scratch[:n]
					_, err := src.ReadAt(b, off)
					return b, err
				},
			})
		}
		if len(tr.Samples) == 0 {
			continue
		}
		// Negative: media before from is hidden by the edit list.
		tr.TimeOffset = int32(first - ticks(from, it.TimeScale))
		pres.Tracks = append(pres.Tracks, tr)
	}
	if len(pres.Tracks) == 0 {
		return CutResult{}, fmt.Errorf("cut %v..%v: %w", from, to, ErrEmptyRange)
	}
	cw := &countWriter{w: w}
	bw := bufio.NewWriterSize(cw, 256<<10)
	if err := pres.Marshal(bw); err != nil {
		return CutResult{}, fmt.Errorf("write clip: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return CutResult{}, fmt.Errorf("write clip: %w", err)
	}
	var length time.Duration
	for _, tr := range pres.Tracks {
		var d int64
		for _, s := range tr.Samples {
			d += int64(s.Duration)
		}
		length = max(length, dur(d+int64(tr.TimeOffset), tr.TimeScale))
	}
	return CutResult{Keyframe: start, PreRoll: from - start, Duration: length, Bytes: cw.n}, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
