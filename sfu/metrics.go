package sfu

import (
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the media core's Prometheus collectors, labelled by burst.
// Build them once with NewMetrics and pass them in Deps.
type Metrics struct {
	publishers       *prometheus.GaugeVec
	viewers          *prometheus.GaugeVec
	packetsIn        *prometheus.CounterVec
	bytesIn          *prometheus.CounterVec
	packetsOut       *prometheus.CounterVec
	bytesOut         *prometheus.CounterVec
	nacks            *prometheus.CounterVec
	plis             *prometheus.CounterVec
	keyframeRequests *prometheus.CounterVec
	viewerDrops      *prometheus.CounterVec
	firstKeyframe    *prometheus.HistogramVec
}

// NewMetrics registers the collectors on reg (dropcast_media_*).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	l := []string{"burst_id"}
	m := &Metrics{
		publishers:       prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "dropcast_media_publishers", Help: "Publishers attached to the burst's stream (0 or 1)."}, l),
		viewers:          prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "dropcast_media_viewers", Help: "WHEP viewers attached to the burst's stream."}, l),
		packetsIn:        prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dropcast_media_packets_in_total", Help: "RTP packets received from publishers."}, l),
		bytesIn:          prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dropcast_media_bytes_in_total", Help: "RTP payload bytes received from publishers."}, l),
		packetsOut:       prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dropcast_media_packets_out_total", Help: "RTP packets sent to viewers."}, l),
		bytesOut:         prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dropcast_media_bytes_out_total", Help: "RTP payload bytes sent to viewers."}, l),
		nacks:            prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dropcast_media_nacks_total", Help: "Packets viewers asked to be retransmitted."}, l),
		plis:             prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dropcast_media_plis_total", Help: "PLI/FIR keyframe requests received from viewers."}, l),
		keyframeRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dropcast_media_keyframe_requests_total", Help: "Keyframe requests sent to publishers after coalescing."}, l),
		viewerDrops:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dropcast_media_viewer_dropped_packets_total", Help: "Packets dropped from full viewer queues (slow viewers)."}, l),
		firstKeyframe: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "dropcast_media_first_keyframe_seconds", Help: "Time from a viewer's WHEP answer to the first keyframe packet sent to it.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2, 4, 8},
		}, l),
	}
	for _, c := range []prometheus.Collector{m.publishers, m.viewers, m.packetsIn, m.bytesIn, m.packetsOut, m.bytesOut, m.nacks, m.plis, m.keyframeRequests, m.viewerDrops, m.firstKeyframe} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register media metrics: %w", err)
		}
	}
	return m, nil
}

// streamMetrics are one burst's children, looked up once per stream so the
// packet path never hashes label values.
type streamMetrics struct {
	publishers, viewers                                                     prometheus.Gauge
	packetsIn, bytesIn, packetsOut, bytesOut, nacks, plis, keyframeRequests prometheus.Counter
	viewerDrops                                                             prometheus.Counter
	firstKeyframe                                                           prometheus.Observer
}

func (m *Metrics) forBurst(id int64) *streamMetrics {
	b := strconv.FormatInt(id, 10)
	return &streamMetrics{
		publishers: m.publishers.WithLabelValues(b), viewers: m.viewers.WithLabelValues(b),
		packetsIn: m.packetsIn.WithLabelValues(b), bytesIn: m.bytesIn.WithLabelValues(b),
		packetsOut: m.packetsOut.WithLabelValues(b), bytesOut: m.bytesOut.WithLabelValues(b),
		nacks: m.nacks.WithLabelValues(b), plis: m.plis.WithLabelValues(b),
		keyframeRequests: m.keyframeRequests.WithLabelValues(b), viewerDrops: m.viewerDrops.WithLabelValues(b),
		firstKeyframe: m.firstKeyframe.WithLabelValues(b),
	}
}
