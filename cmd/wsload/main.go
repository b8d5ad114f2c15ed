// Command wsload is the load half of the shopper-channel benchmark: from its
// own process it opens N websocket shoppers on one burst of a running
// server, measures the server's memory per idle connection from /metrics,
// then pins a card K times through the host API and measures, for every
// pin, the time from sending the pin request until each client has the
// card.show message (p50, p99, max over all pins and clients).
//
//  1. Start the server half: go test ./app -run TestChannelLoadServer with
//     DROPCAST_LOAD_SERVER=/tmp/load.json (see BENCHMARKS.md).
//  2. Run: wsload -info /tmp/load.json -n 10000 -pins 20
//
// Raise the open-files limit (ulimit -n) in both processes above N. On
// Linux the clients are read by one epoll loop per core (raw_linux.go), so
// the load process takes as little CPU as it can from the server it shares
// the machine with; -reader gorilla gives each client a goroutine and a
// gorilla connection instead, as a browser-like baseline.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/dropcast/dropcast/internal/loadgen"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "wsload:", err)
		os.Exit(1)
	}
}

func run() error {
	infoPath := flag.String("info", "", "JSON file written by the server half")
	n := flag.Int("n", 1000, "shoppers to connect")
	pins := flag.Int("pins", 20, "card pins to time")
	par := flag.Int("dial-parallel", 64, "connections dialled at once")
	verbose := flag.Bool("v", false, "print each pin's timings")
	defReader := "gorilla"
	if haveEpoll {
		defReader = "epoll"
	}
	reader := flag.String("reader", defReader, "how clients read: epoll (one loop per core parses frames; Linux) or gorilla (a goroutine and a gorilla client each)")
	flag.Parse()
	var in loadgen.ChannelServer
	if err := loadgen.ReadInfo(*infoPath, &in); err != nil {
		return err
	}
	ctx := context.Background()

	before, err := scrape(ctx, in)
	if err != nil {
		return err
	}
	l := &load{verbose: *verbose, in: in, pins: *pins, recv: make([][]atomic.Int64, *pins)}
	for i := range l.recv {
		l.recv[i] = make([]atomic.Int64, *n)
	}
	start := time.Now()
	connect := l.connect
	switch *reader {
	case "epoll":
		connect = l.connectRaw
	case "gorilla":
	default:
		return fmt.Errorf("-reader %q: want epoll or gorilla", *reader)
	}
	if err := connect(ctx, *n, *par); err != nil {
		return err
	}
	fmt.Printf("connected %d shoppers in %v\n", *n, time.Since(start).Round(time.Millisecond))
	time.Sleep(2 * time.Second) // idle
	after, err := scrape(ctx, in)
	if err != nil {
		return err
	}
	report(before, after, *n)

	cpu0, self0 := loadgen.CPUTime(in.PID), loadgen.CPUTime(os.Getpid())
	lat, missing, err := l.pinAll(ctx)
	if err != nil {
		return err
	}
	if cpu, self := loadgen.CPUTime(in.PID)-cpu0, loadgen.CPUTime(os.Getpid())-self0; cpu > 0 && len(lat) > 0 {
		fmt.Printf("CPU during the pins: server %v, %.1f µs per delivered card.show; load process (%s reader) %v, %.1f µs per card.show\n",
			cpu.Round(time.Millisecond), float64(cpu.Microseconds())/float64(len(lat)),
			*reader, self.Round(time.Millisecond), float64(self.Microseconds())/float64(len(lat)))
	}
	slices.Sort(lat)
	if len(lat) == 0 {
		return errors.New("no card.show received")
	}
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	fmt.Printf("pin → card.show at every client (%d pins × %d clients = %d deliveries, %d missing): p50 %v  p99 %v  max %v\n",
		*pins, *n, len(lat), missing, q(0.50).Round(10*time.Microsecond), q(0.99).Round(10*time.Microsecond), lat[len(lat)-1].Round(10*time.Microsecond))
	l.close()
	return nil
}

type load struct {
	raw     *rawLoad // the epoll reader's state, when it reads
	verbose bool
	in      loadgen.ChannelServer
	pins    int
	conns   []*websocket.Conn
	recv    [][]atomic.Int64 // [pin][client] unix ns of arrival
	wg      sync.WaitGroup
}

func (l *load) connect(ctx context.Context, n, par int) error {
	l.conns = make([]*websocket.Conn, n)
	return loadgen.DialAll(ctx, loadgen.ChannelURL(l.in.URL, l.in.BurstID), n, par, 1024, func(i int, ws *websocket.Conn) {
		l.conns[i] = ws
		l.wg.Go(func() { l.read(i, ws) })
	})
}

// read records the arrival of each card.show: the k-th is pin k's. It
// reads into one buffer per connection, so that the load process spends as
// little CPU as it can on the machine it shares with the server.
func (l *load) read(i int, ws *websocket.Conn) {
	k := 0
	buf := make([]byte, 0, 2048)
	marker := []byte(`"card.show"`)
	for {
		_, r, err := ws.NextReader()
		if err != nil {
			return
		}
		buf = buf[:0]
		for {
			if len(buf) == cap(buf) {
				buf = append(buf, 0)[:len(buf)]
			}
			n, err := r.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if err != nil {
				break
			}
		}
		now := time.Now().UnixNano()
		if k < l.pins && bytes.Contains(buf[:min(len(buf), 40)], marker) {
			l.recv[k][i].Store(now)
			k++
		}
	}
}

func (l *load) pinAll(ctx context.Context) ([]time.Duration, int, error) {
	var lat []time.Duration
	missing := 0
	url := fmt.Sprintf("%s/api/bursts/%d/cards/%d/show", l.in.URL, l.in.BurstID, l.in.CardID)
	for k := range l.pins {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
		if err != nil {
			return nil, 0, err
		}
		req.Header.Set("Authorization", "Bearer "+l.in.AdminToken)
		t0 := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, 0, fmt.Errorf("pin %d: status %d", k, resp.StatusCode)
		}
		answered := time.Since(t0)
		deadline := time.Now().Add(10 * time.Second)
		for !l.allArrived(k) && time.Now().Before(deadline) {
			time.Sleep(2 * time.Millisecond)
		}
		var first, last time.Duration
		for i := range l.recv[k] {
			ns := l.recv[k][i].Load()
			if ns == 0 {
				missing++
				continue
			}
			d := time.Duration(ns - t0.UnixNano())
			if first == 0 || d < first {
				first = d
			}
			last = max(last, d)
			lat = append(lat, d)
		}
		if l.verbose {
			fmt.Printf("pin %2d: answered %v, first client %v, last client %v\n", k, answered.Round(10*time.Microsecond),
				first.Round(10*time.Microsecond), last.Round(10*time.Microsecond))
		}
		time.Sleep(200 * time.Millisecond)
	}
	return lat, missing, nil
}

func (l *load) allArrived(k int) bool {
	for i := range l.recv[k] {
		if l.recv[k][i].Load() == 0 {
			return false
		}
	}
	return true
}

func (l *load) close() {
	if l.raw != nil {
		l.raw.close()
	}
	for _, ws := range l.conns {
		if ws != nil {
			ws.Close()
		}
	}
	l.wg.Wait()
}

// metrics are the server's memory figures from /metrics.
type metrics map[string]float64

// scrape asks the server half to collect garbage, then reads /metrics.
func scrape(ctx context.Context, in loadgen.ChannelServer) (metrics, error) {
	if err := get(ctx, in.Control+"/gc"); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.URL+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	want := []string{"go_memstats_heap_inuse_bytes", "go_memstats_stack_inuse_bytes", "go_memstats_sys_bytes",
		"go_memstats_heap_idle_bytes", "process_resident_memory_bytes", "go_goroutines"}
	m := metrics{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && slices.Contains(want, f[0]) {
			v, _ := strconv.ParseFloat(f[1], 64)
			m[f[0]] = v
		}
	}
	return m, sc.Err()
}

func get(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// report prints the server's memory growth per connection: heap in use
// plus goroutine stacks, and everything the Go runtime holds from the OS
// minus the heap it keeps idle (so also span and GC metadata, poll
// descriptors and other runtime structures), each after a forced GC.
func report(before, after metrics, n int) {
	per := func(k string) float64 { return (after[k] - before[k]) / float64(n) / 1024 }
	heap, stack := per("go_memstats_heap_inuse_bytes"), per("go_memstats_stack_inuse_bytes")
	runtimeTotal := per("go_memstats_sys_bytes") - per("go_memstats_heap_idle_bytes")
	fmt.Printf("server memory per idle connection: heap %.2f KiB + stacks %.2f KiB = %.2f KiB; runtime total %.2f KiB (RSS %.2f KiB); goroutines %+.0f\n",
		heap, stack, heap+stack, runtimeTotal, per("process_resident_memory_bytes"), after["go_goroutines"]-before["go_goroutines"])
}
