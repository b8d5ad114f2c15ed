// Command flashload is the load half of the flash-sale benchmark: from its
// own process it opens N websocket shoppers (each connection without a
// cookie gets its own shopper identity) on the burst of a running server,
// and for each round the server half seeded it pins the round's deal card,
// waits until every shopper has it, then makes every shopper send one
// cart.add for a variant of that card (chosen at random), at most
// -inflight at a time. It reports the time to sell out, reservations/s,
// cart.add latency as the shopper sees it (send → cart or error answer) and
// the oversold count, checked in PostgreSQL: held units against the fall in
// available stock, no shard below zero at the end nor in samples of the
// lowest shard taken every 10 ms during the rush.
//
//  1. Start the server half: go test ./app -run TestFlashSaleServer with
//     DROPCAST_FLASH_SERVER=/tmp/flash.json (scripts/bench-flash.sh does it).
//  2. Run: flashload -info /tmp/flash.json -n 10000
//
// Raise the open-files limit (ulimit -n) in both processes above N.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/dropcast/dropcast/internal/loadgen"
	"github.com/jackc/pgx/v5"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "flashload:", err)
		os.Exit(1)
	}
}

func run() error {
	infoPath := flag.String("info", "", "JSON file written by the server half")
	n := flag.Int("n", 10000, "shoppers to connect")
	inflight := flag.Int("inflight", 0, "cart.add commands outstanding at once (0: every shopper at once)")
	par := flag.Int("dial-parallel", 64, "connections dialled at once")
	flag.Parse()
	var in loadgen.FlashServer
	if err := loadgen.ReadInfo(*infoPath, &in); err != nil {
		return err
	}
	if *inflight <= 0 || *inflight > *n {
		*inflight = *n
	}
	ctx := context.Background()
	db, err := pgx.Connect(ctx, in.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close(ctx)

	l := &load{in: in, shoppers: make([]*shopper, *n)}
	start := time.Now()
	if err := l.connect(ctx, *par); err != nil {
		return err
	}
	fmt.Printf("connected %d shoppers in %v\n", *n, time.Since(start).Round(time.Millisecond))
	defer l.close()
	failed := false
	for k, r := range in.Rounds {
		ok, err := l.rush(ctx, db, k, r, *inflight)
		if err != nil {
			return fmt.Errorf("round %d: %w", k, err)
		}
		failed = failed || !ok
	}
	if failed {
		return errors.New("a round oversold, lost an answer or disagreed with the database")
	}
	return nil
}

// shopper is one websocket connection. Its reader hands the answer to the
// outstanding command to the sender through answer.
type shopper struct {
	ws     *websocket.Conn
	cards  atomic.Int64 // card.show messages seen
	answer chan reply
}

type reply struct {
	at   time.Time
	code string // "" for a cart (success), else the error code
}

type load struct {
	in       loadgen.FlashServer
	shoppers []*shopper
	wg       sync.WaitGroup
}

func (l *load) connect(ctx context.Context, par int) error {
	return loadgen.DialAll(ctx, loadgen.ChannelURL(l.in.URL, l.in.BurstID), len(l.shoppers), par, 4096, func(i int, ws *websocket.Conn) {
		s := &shopper{ws: ws, answer: make(chan reply, 1)}
		l.shoppers[i] = s
		l.wg.Go(func() { s.read() })
	})
}

// read counts card.show messages and passes on answers to commands (the
// messages with a req id); stock and viewer broadcasts are read and dropped.
func (s *shopper) read() {
	buf := make([]byte, 0, 4096)
	cardShow := []byte(`{"type":"card.show"`)
	answer := []byte(`"req":"`)
	for {
		_, r, err := s.ws.NextReader()
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
		now := time.Now()
		head := buf[:min(len(buf), 40)]
		switch {
		case bytes.HasPrefix(buf, cardShow):
			s.cards.Add(1)
		case bytes.Contains(head, answer):
			var m struct{ Type, Code string }
			if err := json.Unmarshal(buf, &m); err != nil {
				m.Type, m.Code = "error", "unreadable answer"
			}
			rep := reply{at: now}
			if m.Type != "cart" {
				rep.code = m.Code
			}
			select {
			case s.answer <- rep:
			default: // an answer nobody waits for (a stray duplicate)
			}
		}
	}
}

// rush runs one round and prints its figures. ok is false when the round
// oversold, lost an answer, or the database disagrees with the answers.
func (l *load) rush(ctx context.Context, db *pgx.Conn, k int, r loadgen.FlashRound, inflight int) (bool, error) {
	before := make([]int, len(l.shoppers))
	for i, s := range l.shoppers {
		before[i] = int(s.cards.Load())
	}
	if err := l.pin(ctx, r.CardID); err != nil {
		return false, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; i < len(l.shoppers); {
		if int(l.shoppers[i].cards.Load()) > before[i] {
			i++
			continue
		}
		if time.Now().After(deadline) {
			return false, fmt.Errorf("shopper %d never got card %d", i, r.CardID)
		}
		time.Sleep(5 * time.Millisecond)
	}

	lat := make([]time.Duration, len(l.shoppers))
	codes := make([]string, len(l.shoppers))
	var succeeded atomic.Int64
	var soldOutAt atomic.Int64 // ns since start of the answer that took the last unit
	var lastAnswer atomic.Int64
	sem := make(chan struct{}, inflight)
	var wg sync.WaitGroup
	// Watch the lowest shard of the round's variants during the rush.
	sampler, err := pgx.Connect(ctx, l.in.DatabaseURL)
	if err != nil {
		return false, err
	}
	defer sampler.Close(ctx)
	sctx, stopSampler := context.WithCancel(ctx)
	lowest, samples := math.MaxInt, 0
	var sampleWG sync.WaitGroup
	sampleWG.Go(func() {
		for sctx.Err() == nil {
			var low int
			if err := sampler.QueryRow(sctx, `SELECT min(available) FROM stock WHERE variant_id = ANY($1)`, r.Variants).Scan(&low); err == nil {
				lowest, samples = min(lowest, low), samples+1
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	cpu0, self0 := loadgen.CPUTime(l.in.PID), loadgen.CPUTime(os.Getpid())
	start := time.Now()
	for i, s := range l.shoppers {
		sem <- struct{}{}
		v := r.Variants[rand.IntN(len(r.Variants))]
		wg.Go(func() {
			defer func() { <-sem }()
			msg := fmt.Sprintf(`{"type":"cart.add","req":"r%d-%d","variant":"%d","qty":1,"card":"%d"}`, k, i, v, r.CardID)
			t0 := time.Now()
			if err := s.ws.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
				codes[i] = "write: " + err.Error()
				return
			}
			select {
			case rep := <-s.answer:
				lat[i] = rep.at.Sub(t0)
				codes[i] = rep.code
				if rep.code == "" && succeeded.Add(1) == int64(r.Units) {
					soldOutAt.Store(int64(rep.at.Sub(start)))
				}
				for {
					last := lastAnswer.Load()
					if int64(rep.at.Sub(start)) <= last || lastAnswer.CompareAndSwap(last, int64(rep.at.Sub(start))) {
						break
					}
				}
			case <-time.After(60 * time.Second):
				codes[i] = "no answer"
			}
		})
	}
	wg.Wait()
	cpu := loadgen.CPUTime(l.in.PID) - cpu0
	stopSampler()
	sampleWG.Wait()
	selfCPU := loadgen.CPUTime(os.Getpid()) - self0

	counts := map[string]int{}
	var answered []time.Duration
	for i, c := range codes {
		if c == "" {
			counts["ok"]++
		} else {
			counts[c]++
		}
		if lat[i] > 0 {
			answered = append(answered, lat[i])
		}
	}
	slices.Sort(answered)
	q := func(p float64) time.Duration {
		if len(answered) == 0 {
			return 0
		}
		return answered[min(len(answered)-1, int(p*float64(len(answered))))].Round(10 * time.Microsecond)
	}
	ok := true
	fmt.Printf("## round %d: %d shoppers, %d units over %d variant(s), at most %d cart.add in flight\n",
		k, len(l.shoppers), r.Units, len(r.Variants), inflight)
	sold := time.Duration(soldOutAt.Load())
	all := time.Duration(lastAnswer.Load())
	if sold > 0 {
		fmt.Printf("sold out in %v: %.0f reservations/s\n", sold.Round(time.Millisecond), float64(r.Units)/sold.Seconds())
	} else {
		fmt.Printf("not sold out: %d of %d units reserved\n", succeeded.Load(), r.Units)
		ok = false
	}
	fmt.Printf("all %d answers in %v: %.0f cart.add/s; answers %v\n", len(answered), all.Round(time.Millisecond),
		float64(len(answered))/all.Seconds(), counts)
	fmt.Printf("cart.add send → answer: p50 %v  p99 %v  max %v\n", q(0.50), q(0.99), q(1))
	if cpu > 0 {
		fmt.Printf("CPU during the rush: server %v, load process %v\n", cpu.Round(time.Millisecond), selfCPU.Round(time.Millisecond))
	}
	if len(answered) != len(l.shoppers) {
		ok = false
	}

	// The database's view: held units per variant against the fall in its
	// available stock, and no shard below zero.
	var held, holders, avail, negative int
	err = db.QueryRow(ctx, `
		SELECT
			(SELECT coalesce(sum(qty), 0) FROM reservations WHERE variant_id = ANY($1) AND state = 'held'),
			(SELECT count(DISTINCT shopper_id) FROM reservations WHERE variant_id = ANY($1) AND state = 'held'),
			(SELECT coalesce(sum(available), 0) FROM stock WHERE variant_id = ANY($1)),
			(SELECT count(*) FROM stock WHERE variant_id = ANY($1) AND available < 0)
		`, r.Variants).Scan(&held, &holders, &avail, &negative)
	if err != nil {
		return false, fmt.Errorf("check database: %w", err)
	}
	fell := r.Units - avail
	oversold := max(0, held-fell) + max(0, int(succeeded.Load())-r.Units)
	fmt.Printf("database: %d units held by %d shoppers, stock fell by %d (leaked %d), shards below zero %d (lowest shard in %d samples during the rush: %d); answered ok %d; oversold %d\n",
		held, holders, fell, max(0, fell-held), negative, samples, lowest, succeeded.Load(), oversold)
	// Every shopper asked for one unit, so each holder holds one.
	if oversold != 0 || held != fell || negative != 0 || (samples > 0 && lowest < 0) || held != int(succeeded.Load()) || holders != held {
		ok = false
	}
	return ok, nil
}

// pin shows card through the host API.
func (l *load) pin(ctx context.Context, card int64) error {
	url := fmt.Sprintf("%s/api/bursts/%d/cards/%d/show", l.in.URL, l.in.BurstID, card)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+l.in.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("pin card %d: status %d: %s", card, resp.StatusCode, body)
	}
	return nil
}

func (l *load) close() {
	for _, s := range l.shoppers {
		if s != nil {
			s.ws.Close()
		}
	}
	l.wg.Wait()
}
