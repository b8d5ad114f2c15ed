package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/recorder"
	"github.com/dropcast/dropcast/store"
)

// clipCommand cuts a clip without re-encoding, either of a burst's
// recording (stored like POST /api/bursts/{id}/clips) or of any fMP4 file
// the recorder wrote (-in/-out, no database).
func clipCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("clip", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbURL := fs.String("database-url", envOr(getenv, "DATABASE_URL", DefaultDatabaseURL), "PostgreSQL URL (DATABASE_URL)")
	dataDir := fs.String("data-dir", envOr(getenv, "DATA_DIR", "./data"), "data directory holding recordings (DATA_DIR)")
	burst := fs.Int64("burst", 0, "burst id whose recording to cut")
	from := fs.Float64("from", -1, "start, seconds from the start of the recording")
	to := fs.Float64("to", -1, "end, seconds from the start of the recording")
	label := fs.String("label", "", "clip label")
	in := fs.String("in", "", "cut this fMP4 file instead of a burst's recording")
	out := fs.String("out", "", "with -in: the MP4 to write")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: dropcast clip -burst ID -from S -to S [-label L]\n       dropcast clip -in REC.mp4 -out CLIP.mp4 -from S -to S\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if *in != "" {
		return clipFile(ctx, *in, *out, *from, *to, stdout)
	}
	if *burst <= 0 {
		fs.Usage()
		return errors.New("clip: -burst or -in is required")
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	pool, err := store.Open(ctx, *dbURL, logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := store.CheckCurrent(ctx, pool); err != nil {
		return fmt.Errorf("database schema: %w (run dropcast migrate)", err)
	}
	if _, err := drops.NewService(pool, nil).Burst(ctx, *burst); err != nil {
		return err
	}
	m, err := recorder.NewManager(recorder.Config{}, recorder.Deps{
		Storage: recorder.Dir{Root: *dataDir}, DB: recorder.NewDB(pool), Logger: logger,
	})
	if err != nil {
		return err
	}
	defer m.Close()
	start := time.Now()
	c, err := m.CreateClip(ctx, *burst, recorder.ClipRequest{FromS: *from, ToS: *to, Label: *label})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "clip %d: %s (%.1f–%.1f s, %d bytes, cut in %v)\n", c.ID, c.Path, c.FromS, c.ToS, c.Bytes, time.Since(start).Round(time.Millisecond))
	return nil
}

func clipFile(ctx context.Context, in, out string, from, to float64, stdout io.Writer) error {
	if out == "" {
		return errors.New("clip: -out is required with -in")
	}
	if err := (recorder.ClipRequest{FromS: from, ToS: to}).Validate(24 * time.Hour); err != nil {
		return err
	}
	src, err := os.Open(in)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return err
	}
	dst, err := os.Create(out)
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := recorder.Cut(ctx, src, st.Size(), seconds(from), seconds(to), dst)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out)
		return err
	}
	fmt.Fprintf(stdout, "%s: %.3f s from the keyframe at %.3f s (pre-roll %.3f s hidden), %d bytes, cut in %v\n",
		out, res.Duration.Seconds(), res.Keyframe.Seconds(), res.PreRoll.Seconds(), res.Bytes, time.Since(start).Round(time.Millisecond))
	return nil
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
