package recorder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/dropcast/dropcast/events"
	"github.com/dropcast/dropcast/sfu"
)

// Recorder records one burst. It implements sfu.Sink: every Sink call
// copies what it needs into a bounded queue and returns at once; one
// goroutine of its own (started by Manager) depacketizes, writes the files
// and keeps the timeline. A publisher blip (SinkStop, then SinkStart) or a
// change of SPS starts a new part file.
type Recorder struct {
	burstID int64
	cfg     Config
	storage Storage
	db      *DB
	log     *slog.Logger
	metrics *metrics
	q       *queue
	done    chan struct{}
	onEnd   func(burstID int64, ended bool)
	dropped atomic.Int64 // packets the queue refused

	// Owned by the run goroutine.
	tracks   []*track
	vIdx     int
	aIdx     int
	part     *part
	nextPart int
	timeline Timeline
}

var _ sfu.Sink = (*Recorder)(nil)

// SinkStart implements sfu.Sink.
func (r *Recorder) SinkStart(tracks []sfu.TrackInfo) {
	r.q.push(item{kind: itemStart, tracks: append([]sfu.TrackInfo(nil), tracks...)})
}

// SinkRTP implements sfu.Sink. The packet is copied; when the queue is full
// it is dropped and counted (dropcast_recorder_packets_dropped_total).
func (r *Recorder) SinkRTP(track int, pkt *rtp.Packet, arrival time.Time) {
	if !r.q.push(item{kind: itemRTP, track: track, pkt: pkt.Clone(), at: arrival}) {
		r.metrics.dropped.Inc()
		r.dropped.Add(1)
	}
}

// SinkSenderReport implements sfu.Sink.
func (r *Recorder) SinkSenderReport(track int, rtpTime uint32, ntpTime time.Time) {
	r.q.push(item{kind: itemSR, track: track, rtpTime: rtpTime, at: ntpTime})
}

// SinkStop implements sfu.Sink.
func (r *Recorder) SinkStop() { r.q.push(item{kind: itemStop}) }

// event hands a bus event to the recorder.
func (r *Recorder) event(e events.Event) { r.q.push(item{kind: itemEvent, ev: e}) }

// stop asks the recorder to finalize and exit, and waits up to ctx.
func (r *Recorder) stop(ctx context.Context) error {
	r.q.push(item{kind: itemClose})
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("finalize recording of burst %d: %w", r.burstID, ctx.Err())
	}
}

// run is the recorder's goroutine. It returns after a close item or the
// burst's "ended" state, with every part finalized.
func (r *Recorder) run(ctx context.Context) {
	defer close(r.done)
	r.load(ctx)
	var batch []item
	ended := false
	var logged int64
	var loggedAt time.Time
	for {
		<-r.q.notify
		batch = r.q.drain(batch)
		if d := r.dropped.Load(); d > logged && time.Since(loggedAt) >= dropLogEvery {
			r.log.Warn("recorder fell behind; packets dropped", "dropped_total", d, "dropped_since_last", d-logged)
			logged, loggedAt = d, time.Now()
		}
		for _, it := range batch {
			switch it.kind {
			case itemRTP:
				r.rtp(ctx, it.track, it.pkt, it.at)
			case itemSR:
				if it.track >= 0 && it.track < len(r.tracks) && r.tracks[it.track] != nil {
					r.tracks[it.track].senderReport(it.rtpTime, it.at)
				}
			case itemStart:
				r.start(ctx, it.tracks)
			case itemStop:
				r.finishPart(ctx)
				r.tracks = nil
			case itemEvent:
				if r.mark(ctx, it.ev) {
					ended = true
				}
			case itemClose:
				r.q.close()
				r.finishPart(ctx)
				r.onEnd(r.burstID, false)
				return
			}
			if ended {
				r.q.close()
				r.finishPart(ctx)
				r.onEnd(r.burstID, true)
				return
			}
		}
	}
}

// load picks up the part numbering and the timeline of an earlier recorder
// of the same burst (a restart mid-burst).
func (r *Recorder) load(ctx context.Context) {
	r.nextPart = 1
	r.timeline = Timeline{BurstID: r.burstID}
	if tl, err := readTimeline(ctx, r.storage, r.burstID); err == nil {
		r.timeline = tl
	}
	keys, err := r.storage.List(ctx, partPrefix(r.burstID))
	if err != nil {
		r.log.Warn("list earlier parts", "err", err)
	}
	for _, k := range keys {
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(k, partPrefix(r.burstID)), ".mp4"))
		if err == nil && n >= r.nextPart {
			r.nextPart = n + 1
		}
	}
}

func partPrefix(burstID int64) string { return fmt.Sprintf("recordings/burst-%d/part-", burstID) }

// PartKey is the storage key of part n of a burst's recording.
func PartKey(burstID int64, n int) string { return fmt.Sprintf("%s%03d.mp4", partPrefix(burstID), n) }

func (r *Recorder) start(ctx context.Context, infos []sfu.TrackInfo) {
	r.finishPart(ctx)
	r.tracks = make([]*track, len(infos))
	r.vIdx, r.aIdx = -1, -1
	for i, info := range infos {
		t, err := newTrack(info)
		if err == nil && ((t.video && r.vIdx >= 0) || (!t.video && r.aIdx >= 0)) {
			err = fmt.Errorf("%w: a second %s track (only the first is recorded)", errUnsupportedCodec, info.Kind)
		}
		if err != nil {
			r.metrics.refused.Inc()
			level := slog.LevelWarn
			if !errors.Is(err, errUnsupportedCodec) {
				level = slog.LevelError
			}
			r.log.Log(ctx, level, "track not recorded", "track", i, "mime_type", info.MimeType, "err", err)
			continue
		}
		r.tracks[i] = t
		if t.video {
			r.vIdx = i
		} else {
			r.aIdx = i
		}
	}
	r.log.Info("publisher session recorded", "video", r.vIdx >= 0, "audio", r.aIdx >= 0)
}

func (r *Recorder) rtp(ctx context.Context, i int, pkt *rtp.Packet, arrival time.Time) {
	if i < 0 || i >= len(r.tracks) || r.tracks[i] == nil {
		return
	}
	t := r.tracks[i]
	samples, err := t.push(pkt, arrival)
	if err != nil {
		r.metrics.decodeErrors.Inc()
		r.log.Debug("rtp not decoded", "track", i, "err", err)
	}
	for _, s := range samples {
		if t.video {
			r.video(ctx, s)
		} else {
			r.audio(ctx, s)
		}
	}
}

func (r *Recorder) video(ctx context.Context, s sample) {
	if r.part == nil && !s.sync {
		return
	}
	if r.part != nil && s.sync && !r.part.sameParams(s) {
		r.log.Info("sps changed: new part")
		r.finishPart(ctx)
	}
	if r.part != nil && s.discont {
		r.log.Info("video timestamps jumped: new part")
		r.finishPart(ctx)
	}
	if r.part == nil {
		r.newPart()
	}
	r.part.addVideo(ctx, s)
}

func (r *Recorder) audio(ctx context.Context, s sample) {
	if r.part == nil {
		if r.vIdx >= 0 {
			return // the part starts on the first keyframe
		}
		r.newPart()
	}
	r.part.addAudio(ctx, s)
}

func (r *Recorder) newPart() {
	p := &part{n: r.nextPart, key: PartKey(r.burstID, r.nextPart), sink: r}
	r.nextPart++
	id := 1
	if r.vIdx >= 0 {
		p.video = &partTrack{t: r.tracks[r.vIdx], id: id, timescale: r.tracks[r.vIdx].clock}
		id++
	}
	if r.aIdx >= 0 {
		t := r.tracks[r.aIdx]
		ch := int(t.info.Channels)
		if ch == 0 {
			ch = 2
		}
		p.audio = &partTrack{t: t, id: id, timescale: t.clock, channels: ch}
	}
	r.part = p
}

func (r *Recorder) finishPart(ctx context.Context) {
	if r.part == nil {
		return
	}
	r.part.finish(ctx)
	r.part = nil
}

// partOpened is called once a part's file exists.
func (r *Recorder) partOpened(ctx context.Context, p *part) {
	r.metrics.active.Inc()
	codecs := p.codecs()
	if r.db != nil {
		dctx, cancel := context.WithTimeout(ctx, dbTimeout)
		id, err := r.db.startPart(dctx, r.burstID, p.n, p.key, p.t0, codecs)
		cancel()
		if err != nil {
			r.log.Error("store recording part", "part", p.n, "err", err)
		}
		p.dbID = id
	}
	r.timeline.Parts = append(r.timeline.Parts, TimelinePart{Part: p.n, Path: p.key, StartedAt: p.t0, State: StateRecording, Codecs: codecs, SyncedBySR: p.syncSRs})
	r.saveTimeline(ctx)
	r.log.Info("recording part started", "part", p.n, "key", p.key, "codecs", codecs, "sync", map[bool]string{true: "rtcp_sr", false: "arrival"}[p.syncSRs])
}

// partClosed is called after a part's file is complete.
func (r *Recorder) partClosed(ctx context.Context, p *part) {
	r.metrics.active.Dec()
	state := StateComplete
	if p.frags == 0 && p.sawErr {
		state = StateFailed
	}
	d := p.duration()
	if r.db != nil && p.dbID != 0 {
		dctx, cancel := context.WithTimeout(ctx, dbTimeout)
		if err := r.db.finishPart(dctx, p.dbID, d, p.size, state); err != nil {
			r.log.Error("finish recording part", "part", p.n, "err", err)
		}
		cancel()
	}
	if tp := r.timeline.part(p.n); tp != nil {
		tp.State, tp.DurationS, tp.Bytes = state, d.Seconds(), p.size
	}
	r.saveTimeline(ctx)
	r.log.Info("recording part finished", "part", p.n, "duration", d, "bytes", p.size, "fragments", p.frags, "state", state)
}

// codecs names the part's codecs, e.g. "avc1.42c01e,opus".
func (p *part) codecs() string {
	var c []string
	if p.video != nil && len(p.video.sps) >= 4 {
		c = append(c, fmt.Sprintf("avc1.%02x%02x%02x", p.video.sps[1], p.video.sps[2], p.video.sps[3]))
	}
	if p.audio != nil {
		c = append(c, "opus")
	}
	return strings.Join(c, ",")
}

// dropLogEvery spaces the warnings about dropped packets.
const dropLogEvery = 5 * time.Second

// dbTimeout bounds each database call of a recorder.
const dbTimeout = 5 * time.Second
