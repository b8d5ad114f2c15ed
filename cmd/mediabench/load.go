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

	// All viewers join at once.
	vs := make([]*sfutest.Viewer, *viewers)
	answer := make([]time.Duration, *viewers)
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var joinErr error
	for i := range vs {
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

	self := os.Getpid()
	cpu0, out0, drop0, t0 := cpuTicks(*pid), metric(*url, "dropcast_media_packets_out_total", *burst), metric(*url, "dropcast_media_viewer_dropped_packets_total", *burst), time.Now()
	load0 := cpuTicks(self)
	pk0, gap0 := viewerTotals(vs)
	time.Sleep(*window)
	cpu1, out1, drop1, t1 := cpuTicks(*pid), metric(*url, "dropcast_media_packets_out_total", *burst), metric(*url, "dropcast_media_viewer_dropped_packets_total", *burst), time.Now()
	load1 := cpuTicks(self)
	pk1, gap1 := viewerTotals(vs)
	rssAfter := rssKB(*pid)

	wall := t1.Sub(t0).Seconds()
	cpuSec := float64(cpu1-cpu0) / 100 // USER_HZ
	fwd := (out1 - out0) / wall
	recv := float64(pk1 - pk0)
	lost := float64(gap1 - gap0)
	var keys []time.Duration
	for _, v := range vs {
		if k := v.FirstKeyframe(); k > 0 {
			keys = append(keys, k)
		}
	}
	serverDrops := (drop1 - drop0) / wall
	fmt.Printf("| %s | %d | %.0f | %.2f | %.0f | %.2f | %.2f | %.2f %% | %.2f | %.3f %% | %s | %s | %s | %d/%d |\n",
		*label, *viewers, fwd, cpuSec/wall, fwd/max(cpuSec/wall, 0.01),
		cpuSec/wall*100/float64(*viewers), float64(rssAfter-rssBefore)/1024/float64(*viewers),
		100*serverDrops/max(fwd+serverDrops, 1), float64(load1-load0)/100/wall,
		100*lost/max(recv+lost, 1), pct(answer, 99), pct(keys, 50), pct(keys, 95), len(keys), *viewers)
	return nil
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
