package recorder_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/recorder"
	rt "github.com/dropcast/dropcast/recorder/recordertest"
	"github.com/dropcast/dropcast/store/storetest"
)

// newBurst makes a drop with one burst and returns the burst's id.
func newBurst(tb testing.TB, pool *pgxpool.Pool) int64 {
	tb.Helper()
	ctx := tb.Context()
	svc := drops.NewService(pool, nil)
	now := time.Now()
	d, err := svc.CreateDrop(ctx, drops.DropInput{Slug: "d" + strconv.FormatInt(now.UnixNano(), 36), Title: "Drop", StartsAt: now.Add(-time.Hour), EndsAt: now.Add(24 * time.Hour), Currency: "EUR"})
	if err != nil {
		tb.Fatal(err)
	}
	b, _, err := svc.CreateBurst(ctx, d.ID, drops.BurstInput{Title: "Burst", Kind: drops.KindHeadline, ScheduledAt: now.Add(time.Minute)})
	if err != nil {
		tb.Fatal(err)
	}
	return b.ID
}

// TestKilledRecorderChild is the process that TestKilledRecorderLeavesPlayableFile
// kills with SIGKILL while it records; on its own it does nothing.
func TestKilledRecorderChild(t *testing.T) {
	if os.Getenv("RECORDER_KILL_CHILD") == "" {
		t.Skip("runs as the child of TestKilledRecorderLeavesPlayableFile")
	}
	burstID, _ := strconv.ParseInt(os.Getenv("RECORDER_BURST"), 10, 64)
	pool, err := pgxpool.New(context.Background(), os.Getenv("RECORDER_DB"))
	if err != nil {
		t.Fatal(err)
	}
	m := newManager(t, os.Getenv("RECORDER_DIR"), recorder.Deps{DB: recorder.NewDB(pool)})
	fx := rt.LoadFixture(t, rt.FixturePath())
	sink := m.SinkFor(burstID)
	sink.SinkStart(fx.Tracks())
	pkts := fx.Packets(t, rt.Feed{Length: 60 * time.Second, Start: time.Now()})
	// Ten times real time, so the parent kills it mid-burst.
	t0, w0 := pkts[0].Arrival, time.Now()
	for _, p := range pkts {
		if ahead := p.Arrival.Sub(t0)/10 - time.Since(w0); ahead > 0 {
			time.Sleep(ahead)
		}
		sink.SinkRTP(p.Track, p.Pkt, p.Arrival)
	}
	t.Fatal("the parent should have killed this process")
}

func TestKilledRecorderLeavesPlayableFile(t *testing.T) {
	rt.NeedFFmpeg(t)
	pool, dbURL := storetest.NewWithURL(t)
	burstID := newBurst(t, pool)
	dir := t.TempDir()
	file := filepath.Join(dir, filepath.FromSlash(recorder.PartKey(burstID, 1)))

	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledRecorderChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "RECORDER_KILL_CHILD=1", "RECORDER_DB="+dbURL, "RECORDER_DIR="+dir, fmt.Sprintf("RECORDER_BURST=%d", burstID))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		f, err := os.Open(file)
		if err != nil {
			return false
		}
		defer f.Close()
		st, _ := f.Stat()
		idx, err := recorder.ParseIndex(f, st.Size())
		return err == nil && len(idx.Fragments) >= 4
	})
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no deferred code runs
		t.Fatal(err)
	}
	_ = cmd.Wait()

	// A write torn by the kill: half a fragment at the end.
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := recorder.ParseIndex(bytesReaderAt(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	last := idx.Fragments[len(idx.Fragments)-1]
	torn := raw[last.Offset : last.Offset+last.Size/2]
	if err := os.WriteFile(file, append(raw[:idx.ValidSize:idx.ValidSize], torn...), 0o644); err != nil {
		t.Fatal(err)
	}
	if d := rt.FFprobe(t, file).Duration(t); d < 3 {
		t.Fatalf("killed recording plays %.3f s, want at least its 4 fragments", d)
	}

	// The next start repairs it: cut to the last fragment, row finalized.
	newManager(t, t.TempDir()+"/unused", recorder.Deps{DB: recorder.NewDB(pool), Storage: recorder.Dir{Root: dir}})
	recs, err := recorder.NewDB(pool).Recordings(t.Context(), burstID)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].State != recorder.StateRepaired || recs[0].Bytes != idx.ValidSize {
		t.Fatalf("recordings after repair %+v, want one repaired part of %d bytes", recs, idx.ValidSize)
	}
	st, err := os.Stat(file)
	if err != nil || st.Size() != idx.ValidSize {
		t.Fatalf("repaired file: %v, size %d, want %d", err, st.Size(), idx.ValidSize)
	}
	if out := rt.DecodeErrors(t, file); out != "" {
		t.Errorf("ffmpeg -v error on the repaired file:\n%s", out)
	}
	p := rt.FFprobe(t, file)
	if got, want := p.Duration(t), float64(recs[0].DurationMS)/1000; got < want-0.1 || got > want+0.1 {
		t.Errorf("repaired file plays %.3f s, row says %.3f", got, want)
	}
}

type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, fmt.Errorf("eof")
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, fmt.Errorf("eof")
	}
	return n, nil
}
