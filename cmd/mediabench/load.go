package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dropcast/dropcast/sfu/sfutest"
)

func runLoad(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	url := fs.String("url", "", "server base URL")
	key := fs.String("key", "", "stream key")
	burst := fs.Int64("burst", 0, "burst id")
	pid := fs.Int("server-pid", 0, "server process id (for CPU and memory)")
	viewers := fs.Int("viewers", 50, "WHEP viewers")
	mediaDir := fs.String("media", "", "directory with bench.h264 and bench.ogg")
	fps := fs.Int("fps", 30, "frame rate of bench.h264")
	warmup := fs.Duration("warmup", 3*time.Second, "time after the joins before measuring")
	window := fs.Duration("duration", 10*time.Second, "measurement window")
	label := fs.String("label", "", "label for the result row")
	ramp := fs.Duration("ramp", 0, "spread the joins evenly over this time (0: all at once)")
	decrypt := fs.Bool("decrypt", false, "viewers decrypt every packet (default: only until the first keyframe; loss is counted from RTP headers)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	m, err := sfutest.LoadMedia(filepath.Join(*mediaDir, "bench.h264"), filepath.Join(*mediaDir, "bench.ogg"), *fps)
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	pub, err := sfutest.Publish(pctx, *url+"/whip", *key)
	cancel()
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	sendCtx, stopSend := context.WithCancel(ctx)
	var sendWG sync.WaitGroup
	sendWG.Add(1)
	go func() { defer sendWG.Done(); pub.Send(sendCtx, m) }()
	defer func() { stopSend(); sendWG.Wait(); pub.Close() }()
	time.Sleep(2 * time.Second) // the publisher's tracks reach the server
	rssBefore := rssKB(*pid)

	// All viewers join at once, or spread over -ramp.
	vs := make([]*sfutest.Viewer, *viewers)
	answer := make([]time.Duration, *viewers)
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var joinErr error
	joinStart := time.Now()
	for i := range vs {
		if *ramp > 0 {
			time.Sleep(time.Until(joinStart.Add(*ramp * time.Duration(i) / time.Duration(len(vs)))))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			jctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			t0 := time.Now()
			v, err := sfutest.WatchWith(jctx, fmt.Sprintf("%s/whep/%d", *url, *burst), "", sfutest.WatchOptions{HeadersOnly: !*decrypt})
			answer[i] = time.Since(t0)
			if err != nil {
				errMu.Lock()
				joinErr = err
				errMu.Unlock()
				return
			}
			vs[i] = v
		}()
	}
	wg.Wait()
	defer func() {
		for _, v := range vs {
			if v != nil {
				v.Close()
			}
		}
	}()
	if joinErr != nil {
		return fmt.Errorf("join: %w", joinErr)
	}
	time.Sleep(*warmup)

	s0 := takeSample(*url, *burst, *pid, vs)
	time.Sleep(*window)
	s1 := takeSample(*url, *burst, *pid, vs)
	rssAfter := rssKB(*pid)

	// Each figure is a rate over its own interval: under overload a
	// /metrics request can take seconds, which must not count as CPU time.
	wall := s1.cpuAt.Sub(s0.cpuAt).Seconds()
	cpuSec := float64(s1.cpu-s0.cpu) / 100 // USER_HZ
	metricWall := s1.metricAt.Sub(s0.metricAt).Seconds()
	fwd := (s1.out - s0.out) / metricWall
	serverDrops := (s1.drop - s0.drop) / metricWall
	loadCores := float64(s1.load-s0.load) / 100 / wall
	recv := float64(s1.packets - s0.packets)
	lost := float64(s1.gaps - s0.gaps)
	var keys, conns, firsts []time.Duration
	for _, v := range vs {
		tl := v.Timeline()
		if tl.Keyframe > 0 {
			keys = append(keys, tl.Keyframe)
		}
		if tl.Connected > 0 {
			conns = append(conns, tl.Connected)
		}
		if tl.FirstVideo > 0 {
			firsts = append(firsts, tl.FirstVideo)
		}
	}
	fmt.Printf("| %s | %d | %.0f | %.2f | %.0f | %.2f | %.2f | %.2f %% | %.2f | %.3f %% | %s | %s | %s | %d/%d | %s | %s |\n",
		*label, *viewers, fwd, cpuSec/wall, fwd/max(cpuSec/wall, 0.01),
		cpuSec/wall*100/float64(*viewers), float64(rssAfter-rssBefore)/1024/float64(*viewers),
		100*serverDrops/max(fwd+serverDrops, 1), loadCores,
		100*lost/max(recv+lost, 1), pct(answer, 99), pct(keys, 50), pct(keys, 95), len(keys), *viewers,
		pct(conns, 95), pct(firsts, 95))
	return nil
}

// sample is the counters at one moment of the measurement window.
type sample struct {
	cpuAt, metricAt time.Time
	cpu, load       int64 // server and load process CPU ticks
	out, drop       float64
	packets, gaps   int
}

func takeSample(url string, burst int64, pid int, vs []*sfutest.Viewer) sample {
	var s sample
	s.cpuAt, s.cpu, s.load = time.Now(), cpuTicks(pid), cpuTicks(os.Getpid())
	s.packets, s.gaps = viewerTotals(vs)
	start := time.Now()
	s.out = metric(url, "dropcast_media_packets_out_total", burst)
	s.drop = metric(url, "dropcast_media_viewer_dropped_packets_total", burst)
	s.metricAt = start.Add(time.Since(start) / 2)
	return s
}

func pct(ds []time.Duration, p int) string {
	if len(ds) == 0 {
		return "n/a"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := min(len(s)-1, (len(s)*p+99)/100-1)
	return s[max(i, 0)].Round(time.Millisecond).String()
}

func viewerTotals(vs []*sfutest.Viewer) (packets, gaps int) {
	for _, v := range vs {
		video, audio := v.Stats()
		packets += video.Packets + audio.Packets
		gaps += video.Gaps + audio.Gaps
	}
	return packets, gaps
}

// cpuTicks is utime+stime of pid in clock ticks.
func cpuTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return u + st
}

func rssKB(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	return 0
}

// metric reads a counter of the burst from the server's /metrics.
func metric(url, name string, burst int64) float64 {
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	prefix := fmt.Sprintf(`%s{burst_id="%d"} `, name, burst)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f
		}
	}
	return 0
}
