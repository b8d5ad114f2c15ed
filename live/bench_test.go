package live_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/dropcast/dropcast/live"
)

// BenchmarkBroadcast times one broadcast (a card.show-sized frame) until
// every one of N real websocket clients on loopback has read it.
func BenchmarkBroadcast(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("viewers=%d", n), func(b *testing.B) {
			e := newEnv(b, live.Config{QueueSize: 1024})
			got := make(chan struct{}, n)
			for range n {
				ws, _, err := websocket.DefaultDialer.DialContext(b.Context(), e.wsURL(e.wsPath()), nil)
				must(b, err)
				if _, _, err := ws.ReadMessage(); err != nil { // welcome
					b.Fatal(err)
				}
				done := make(chan struct{})
				go func() {
					defer close(done)
					for {
						if _, _, err := ws.ReadMessage(); err != nil {
							return
						}
						got <- struct{}{}
					}
				}()
				b.Cleanup(func() { ws.Close(); <-done })
			}
			waitFor(b, 10*time.Second, "all joined", func() bool { return e.reg.Stats().Connections == int64(n) })
			frame := []byte(`{"type":"card.show","card":{"id":"1","product":{"id":"1","title":"Tour hoodie","images":["https://img.example/h.jpg"]},"variants":[{"id":"1","label":"S","price":5000,"available":10},{"id":"2","label":"M","price":5000,"available":5}],"deal_price":3900,"currency":"EUR","ends_at":"2026-12-01T18:03:04Z","offset_ms":120000},"media_time_ms":120000}`)
			b.ReportAllocs()
			for b.Loop() {
				live.BroadcastForTest(e.reg, e.burst.ID, frame)
				for range n {
					<-got
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/viewer")
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
