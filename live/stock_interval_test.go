package live

import (
	"testing"
	"time"
)

// The stock interval grows with the audience, so that stock batches keep a
// bounded share of the CPU however many shoppers watch.
func TestStockIntervalGrowsWithAudience(t *testing.T) {
	for _, tc := range []struct {
		conns int
		per   time.Duration
		want  time.Duration
	}{
		{0, 40 * time.Microsecond, 250 * time.Millisecond},
		{1000, 40 * time.Microsecond, 250 * time.Millisecond},
		{10000, 40 * time.Microsecond, 400 * time.Millisecond},
		{19000, 40 * time.Microsecond, 760 * time.Millisecond},
		{19000, -1, 250 * time.Millisecond},
	} {
		cfg := Config{StockIntervalPerConn: tc.per}
		cfg.setDefaults()
		h := &Hub{reg: &Registry{cfg: cfg}, fan: &fanout{members: make(map[*conn]struct{})}}
		for range tc.conns {
			h.fan.add(&conn{})
		}
		if got := h.stockInterval(); got != tc.want {
			t.Errorf("%d connections, %v each: interval %v, want %v", tc.conns, tc.per, got, tc.want)
		}
	}
}
