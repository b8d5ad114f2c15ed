package recorder

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
)

// partTrack is one track of a part: its samples waiting for the next
// fragment and where its timeline starts.
type partTrack struct {
	t         *track
	id        int
	pending   []sample
	origin    int64  // RTP ticks at the part's time zero
	lastDur   uint32 // duration of the last written sample, for the final one
	end       int64  // file ticks after the last written sample
	channels  int
	sps, pps  []byte
	timescale uint32
}

// part writes one file of a burst's recording: the init section once the
// timing is fixed, then a fragment each time a keyframe closes about a
// second of media. Owned by the Recorder's goroutine.
type part struct {
	n       int
	key     string
	video   *partTrack
	audio   *partTrack
	locked  bool
	t0      time.Time // wall-clock time of file time zero
	file    WriteFile
	size    int64 // bytes written and intact
	seq     uint32
	frags   int
	sawErr  bool
	sink    *Recorder
	dbID    int64
	syncSRs bool // timing came from RTCP sender reports
}

// fragment and maxFragment bound fragment length: a fragment is closed at
// the first keyframe after fragment, or at any frame after maxFragment.
func (p *part) fragment() time.Duration    { return p.sink.cfg.FragmentDuration }
func (p *part) maxFragment() time.Duration { return 4 * p.sink.cfg.FragmentDuration }

// timelineEvery is how many fragments pass between timeline saves while a
// part is recording.
const timelineEvery = 10

func ticks(d time.Duration, clock uint32) int64 { return int64(d) * int64(clock) / int64(time.Second) }
func dur(t int64, clock uint32) time.Duration {
	return time.Duration(t * int64(time.Second) / int64(clock))
}

// addVideo queues an H264 sample, closing a fragment before it when due.
func (p *part) addVideo(ctx context.Context, s sample) {
	v := p.video
	if len(v.pending) > 0 {
		pend := dur(s.dts-v.pending[0].dts, v.timescale)
		if (s.sync && pend >= p.fragment()) || pend >= p.maxFragment() {
			p.flush(ctx, s.dts, false)
		}
	}
	if len(v.pending) == 0 && !p.locked && !s.sync {
		return
	}
	v.pending = append(v.pending, s)
}

// addAudio queues an Opus sample; without video, fragments close by time.
func (p *part) addAudio(ctx context.Context, s sample) {
	a := p.audio
	if p.video == nil && len(a.pending) > 0 && dur(s.dts-a.pending[0].dts, a.timescale) >= p.fragment() {
		p.flush(ctx, s.dts, false)
	}
	if p.video != nil && !p.locked && len(a.pending) > 250 {
		a.pending = a.pending[len(a.pending)-250:] // ~5 s before the first keyframe is plenty
	}
	a.pending = append(a.pending, s)
}

// srWait bounds how long the first fragment waits for sender reports.
const srWait = 3 * time.Second

func (p *part) allReports() bool {
	for _, pt := range p.tracks() {
		if pt.t.sr == nil {
			return false
		}
	}
	return true
}

// pendingSpan is the media waiting on the first track.
func (p *part) pendingSpan() time.Duration {
	pt := p.video
	if pt == nil {
		pt = p.audio
	}
	if pt == nil || len(pt.pending) < 2 {
		return 0
	}
	return dur(pt.pending[len(pt.pending)-1].dts-pt.pending[0].dts, pt.timescale)
}

// lock fixes time zero of the part at its first video frame (first audio
// packet without video) and each track's origin on it, by RTCP sender
// reports when every track has one, else by arrival time.
func (p *part) lock(ctx context.Context) bool {
	first := p.video
	if first == nil {
		first = p.audio
	}
	if first == nil || len(first.pending) == 0 {
		return false
	}
	useSR := true
	for _, pt := range p.tracks() {
		if pt.t.sr == nil {
			useSR = false
		}
	}
	anchorOf := func(pt *partTrack) anchor {
		if useSR {
			return *pt.t.sr
		}
		return *pt.t.arrival
	}
	a := anchorOf(first)
	p.t0 = a.at(first.pending[0].dts, first.t.clock)
	first.origin = first.pending[0].dts
	if p.video != nil && p.audio != nil {
		aa := anchorOf(p.audio)
		p.audio.origin = aa.ts + ticks(p.t0.Sub(aa.wall), p.audio.timescale)
	}
	p.syncSRs = useSR
	if p.video != nil {
		p.video.sps, p.video.pps = first.pending[0].sps, first.pending[0].pps
	}
	p.locked = true
	p.open(ctx)
	return true
}

func (p *part) tracks() []*partTrack {
	var out []*partTrack
	for _, pt := range []*partTrack{p.video, p.audio} {
		if pt != nil {
			out = append(out, pt)
		}
	}
	return out
}

// open creates the file and writes the init section.
func (p *part) open(ctx context.Context) {
	init := fmp4.Init{}
	for _, pt := range p.tracks() {
		it := &fmp4.InitTrack{ID: pt.id, TimeScale: pt.timescale}
		if pt == p.video {
			it.Codec = &fmp4.CodecH264{SPS: pt.sps, PPS: pt.pps}
		} else {
			it.Codec = &fmp4.CodecOpus{ChannelCount: pt.channels}
		}
		init.Tracks = append(init.Tracks, it)
	}
	var buf seekablebuffer.Buffer
	if err := init.Marshal(&buf); err != nil {
		p.writeFailed(fmt.Errorf("marshal init: %w", err))
		return
	}
	f, err := p.sink.storage.Create(ctx, p.key)
	if err != nil {
		p.writeFailed(err)
		return
	}
	p.file = f
	if _, err := f.Write(buf.Bytes()); err != nil {
		p.writeFailed(fmt.Errorf("write init: %w", err))
		p.file = nil
		f.Close()
		return
	}
	p.size = int64(buf.Len())
	p.sink.partOpened(ctx, p)
}

// flush writes the queued samples before vCut (video RTP ticks, or audio
// ticks without video) as one fragment; all of them when final.
func (p *part) flush(ctx context.Context, cut int64, final bool) {
	if !p.locked {
		// Senders report every second or so (Pion: 1 s, RTSP cameras: up to
		// 5 s): hold the first fragment a little for every track's first
		// report, since arrival times carry the encoder's lookahead.
		if !final && !p.allReports() && p.pendingSpan() < srWait {
			return
		}
		if !p.lock(ctx) {
			return
		}
	}
	frag := &fmp4.Part{SequenceNumber: p.seq}
	var aCut int64
	if p.video != nil {
		samples := p.takeVideo(cut, final)
		if len(samples) > 0 {
			frag.Tracks = append(frag.Tracks, &fmp4.PartTrack{ID: p.video.id, BaseTime: uint64(p.video.end - int64(samplesDur(samples))), Samples: samples})
		}
		fileT := dur(cut-p.video.origin, p.video.timescale)
		if p.audio != nil {
			aCut = p.audio.origin + ticks(fileT, p.audio.timescale)
		}
	} else {
		aCut = cut
	}
	if p.audio != nil {
		samples, base := p.takeAudio(aCut, final)
		if len(samples) > 0 {
			frag.Tracks = append(frag.Tracks, &fmp4.PartTrack{ID: p.audio.id, BaseTime: base, Samples: samples})
		}
	}
	if len(frag.Tracks) == 0 {
		return
	}
	if p.file == nil {
		// Creating the file failed (disk full?): try again now, the part
		// then starts with a gap rather than not at all.
		p.open(ctx)
		if p.file == nil {
			return
		}
	}
	var buf seekablebuffer.Buffer
	if err := frag.Marshal(&buf); err != nil {
		p.writeFailed(fmt.Errorf("marshal fragment: %w", err))
		return
	}
	p.seq++
	if _, err := p.file.Write(buf.Bytes()); err != nil {
		// Cut the torn fragment off so the file stays playable, and go on:
		// the next fragment may fit (disk-full is often transient).
		if terr := p.file.Truncate(p.size); terr != nil {
			err = fmt.Errorf("%w (and truncate: %v)", err, terr)
		}
		p.writeFailed(fmt.Errorf("write fragment: %w", err))
		return
	}
	p.size += int64(buf.Len())
	p.frags++
	p.sink.metrics.bytes.Add(float64(buf.Len()))
	p.sink.metrics.fragments.Inc()
	if p.frags%timelineEvery == 0 && !final {
		p.sink.saveTimeline(ctx) // so clips and the replay see a live part grow
	}
}

func samplesDur(s []*fmp4.Sample) uint64 {
	var d uint64
	for _, x := range s {
		d += uint64(x.Duration)
	}
	return d
}

// takeVideo removes the video samples before cut and converts them.
func (p *part) takeVideo(cut int64, final bool) []*fmp4.Sample {
	v := p.video
	n := 0
	for n < len(v.pending) && (final || v.pending[n].dts < cut) {
		n++
	}
	out := make([]*fmp4.Sample, 0, n)
	for i := 0; i < n; i++ {
		s := v.pending[i]
		var d int64
		switch {
		case i+1 < len(v.pending):
			d = v.pending[i+1].dts - s.dts
		case !final:
			d = cut - s.dts
		default:
			d = int64(v.lastDur)
			if d == 0 {
				d = int64(v.timescale / 30)
			}
		}
		if s.dts-v.origin < v.end {
			continue // would overlap what is written (timestamp jump back)
		}
		if gap := s.dts - v.origin - v.end; gap > 0 && len(out) > 0 {
			out[len(out)-1].Duration += uint32(gap)
		} else if gap > 0 {
			v.end += gap
		}
		fs := &fmp4.Sample{IsNonSyncSample: !s.sync}
		if err := fs.FillH264(s.ptsOffset, s.au); err != nil {
			continue
		}
		fs.Duration = uint32(max(d, 1))
		v.lastDur = fs.Duration
		v.end += int64(fs.Duration)
		out = append(out, fs)
	}
	v.pending = append(v.pending[:0], v.pending[n:]...)
	return out
}

// takeAudio removes the audio samples before cut whose duration is known
// (the next packet is there) and converts them; before time zero they are
// dropped. It returns the samples and their base time.
func (p *part) takeAudio(cut int64, final bool) ([]*fmp4.Sample, uint64) {
	a := p.audio
	var out []*fmp4.Sample
	var base int64 = -1
	n := 0
	for ; n < len(a.pending); n++ {
		s := a.pending[n]
		last := n+1 >= len(a.pending)
		if !final && (s.dts >= cut || last) {
			break
		}
		d := int64(a.lastDur)
		if !last {
			d = a.pending[n+1].dts - s.dts
		}
		if d <= 0 {
			d = int64(a.timescale / 50)
		}
		t := s.dts - a.origin
		if t < a.end {
			continue // before time zero, or overlapping
		}
		if base < 0 {
			if len(out) == 0 && a.end == 0 {
				a.end = t
			}
			if gap := t - a.end; gap > 0 {
				a.end = t
			}
			base = a.end
		} else if gap := t - a.end; gap > 0 {
			out[len(out)-1].Duration += uint32(gap)
			a.end += gap
		}
		a.lastDur = uint32(d)
		a.end += d
		out = append(out, &fmp4.Sample{Duration: uint32(d), Payload: s.payload})
	}
	a.pending = append(a.pending[:0], a.pending[n:]...)
	return out, uint64(max(base, 0))
}

// duration is the media written so far.
func (p *part) duration() time.Duration {
	var d time.Duration
	for _, pt := range p.tracks() {
		d = max(d, dur(pt.end, pt.timescale))
	}
	return d
}

// finish writes everything queued and closes the file.
func (p *part) finish(ctx context.Context) {
	p.flush(ctx, 0, true)
	if p.file == nil {
		return
	}
	if err := p.file.Sync(); err != nil {
		p.writeFailed(fmt.Errorf("sync: %w", err))
	}
	if err := p.file.Close(); err != nil {
		p.writeFailed(fmt.Errorf("close: %w", err))
	}
	p.file = nil
	p.sink.partClosed(ctx, p)
}

func (p *part) writeFailed(err error) {
	p.sawErr = true
	p.sink.metrics.writeErrors.Inc()
	p.sink.log.Error("recording write failed; the live goes on", "part", p.n, "key", p.key, "err", err)
}

// sameParams reports whether an IDR sample keeps the part's SPS.
func (p *part) sameParams(s sample) bool {
	if p.video == nil {
		return true
	}
	sps := p.video.sps
	if !p.locked {
		if len(p.video.pending) == 0 {
			return true
		}
		sps = p.video.pending[0].sps // the init section is not written yet
	}
	return bytes.Equal(sps, s.sps)
}
