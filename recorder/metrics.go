package recorder

import "github.com/prometheus/client_golang/prometheus"

// metrics are the recorder's Prometheus series, shared by all recorders of a
// Manager.
type metrics struct {
	dropped      prometheus.Counter
	writeErrors  prometheus.Counter
	bytes        prometheus.Counter
	fragments    prometheus.Counter
	refused      prometheus.Counter
	decodeErrors prometheus.Counter
	active       prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "dropcast", Subsystem: "recorder", Name: name, Help: help})
	}
	m := &metrics{
		dropped:      c("packets_dropped_total", "RTP packets dropped because a recorder's queue was full."),
		writeErrors:  c("write_errors_total", "Recording file writes that failed (disk full, I/O errors); the live is unaffected."),
		bytes:        c("bytes_total", "Bytes of media fragments written."),
		fragments:    c("fragments_total", "Media fragments written."),
		refused:      c("tracks_refused_total", "Source tracks not recorded (unsupported codec such as VP8, extra layers)."),
		decodeErrors: c("decode_errors_total", "RTP packets or access units that could not be depacketized."),
		active: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "dropcast", Subsystem: "recorder", Name: "open_parts",
			Help: "Recording files currently being written."}),
	}
	if reg == nil {
		return m, nil
	}
	for _, col := range []prometheus.Collector{m.dropped, m.writeErrors, m.bytes, m.fragments, m.refused, m.decodeErrors, m.active} {
		if err := reg.Register(col); err != nil {
			return nil, err
		}
	}
	return m, nil
}
