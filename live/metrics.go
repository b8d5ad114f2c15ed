package live

import "github.com/prometheus/client_golang/prometheus"

// Collectors returns Prometheus collectors over Stats, for the app's
// registry: dropcast_live_connections, dropcast_live_hubs (gauges) and the
// counters dropcast_live_slow_closed_total, dropcast_live_oversized_total,
// dropcast_live_refused_total, dropcast_live_events_dropped_total.
func (r *Registry) Collectors() []prometheus.Collector {
	gauge := func(name, help string, v func() int64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return float64(v()) })
	}
	counter := func(name, help string, v func() int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(v()) })
	}
	return []prometheus.Collector{
		gauge("dropcast_live_connections", "Open shopper-channel websockets.", r.stats.conns.Load),
		gauge("dropcast_live_hubs", "Running burst hubs.", r.stats.hubs.Load),
		counter("dropcast_live_slow_closed_total", "Websockets closed as slow consumers (4008).", r.stats.slow.Load),
		counter("dropcast_live_oversized_total", "Websockets closed for an oversized frame (1009).", r.stats.oversized.Load),
		counter("dropcast_live_refused_total", "Client messages answered with a protocol error.", r.stats.refused.Load),
		counter("dropcast_live_events_dropped_total", "Bus events a hub's full inbox could not take.", r.stats.eventsDropped.Load),
	}
}
