package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/dropcast/dropcast/app"
	"github.com/dropcast/dropcast/catalog"
	"github.com/dropcast/dropcast/demo"
	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/store"
)

func serve(ctx context.Context, s settings, logger *slog.Logger) error {
	if _, err := store.EnsureDatabase(ctx, s.app.DatabaseURL); err != nil {
		return err
	}
	a, err := app.New(ctx, s.app, logger)
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

func migrate(ctx context.Context, s settings, logger *slog.Logger) error {
	created, err := store.EnsureDatabase(ctx, s.app.DatabaseURL)
	if err != nil {
		return err
	}
	if created {
		logger.Info("database created")
	}
	pool, err := store.Open(ctx, s.app.DatabaseURL, logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	v, err := store.Migrate(ctx, pool, logger)
	if err != nil {
		return err
	}
	logger.Info("schema current", "version", v)
	return nil
}

func seedDemo(ctx context.Context, s settings, logger *slog.Logger, out io.Writer) error {
	if err := migrate(ctx, s, logger); err != nil {
		return err
	}
	pool, err := store.Open(ctx, s.app.DatabaseURL, logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	images, err := catalog.NewImageStore(filepath.Join(s.app.DataDir, "images"))
	if err != nil {
		return err
	}
	seeder := demo.Seeder{Drops: drops.NewService(pool, nil), Catalog: catalog.NewService(pool), DataDir: s.app.DataDir, Images: images}
	res, err := seeder.Seed(ctx)
	if err != nil {
		return err
	}
	printDemo(out, res, s.app.PublicURL, s.app.AdminToken != "")
	return nil
}

func printDemo(w io.Writer, res demo.Result, publicURL string, haveToken bool) {
	base := strings.TrimRight(publicURL, "/")
	verb := "ready (already seeded)"
	if res.Created {
		verb = "seeded"
	}
	fmt.Fprintf(w, "\nDemo drop %q %s\n", res.Drop.Title, verb)
	fmt.Fprintf(w, "  drop page:   %s/d/%s\n", base, res.Drop.Slug)
	fmt.Fprintf(w, "  schedule:    curl %s/api/drops/%s\n", base, res.Drop.Slug)
	if haveToken {
		fmt.Fprintf(w, "  admin API:   curl -H \"Authorization: Bearer $ADMIN_TOKEN\" %s/api/drops\n", base)
	}
	fmt.Fprintf(w, "\nBursts:\n")
	for _, bk := range res.Bursts {
		b := bk.Burst
		fmt.Fprintf(w, "\n  [%s] %s — %s (%s, up to %s)\n", b.Kind, b.Title, b.ScheduledAt.UTC().Format("Mon 02 Jan 15:04 MST"), b.State, b.MaxDuration())
		fmt.Fprintf(w, "    watch:      %s/watch/%d\n", base, b.ID)
		fmt.Fprintf(w, "    host:       %s/host/%d\n", base, b.ID)
		if bk.Key == "" {
			fmt.Fprintf(w, "    stream key: (rotated or unknown: POST %s/api/bursts/%d/stream-key)\n", base, b.ID)
			continue
		}
		fmt.Fprintf(w, "    stream key: %s\n", bk.Key)
	}
	if res.VIPPass != "" {
		fmt.Fprintf(w, "\nVIP pass (opens the backstage burst and VIP deals): %s\n", res.VIPPass)
	}
	fmt.Fprintf(w, `
OBS (30 or later): Settings → Stream → Service "WHIP", Server %s/whip,
  Bearer Token = the burst's stream key. Settings → Output (Advanced): x264 or NVENC,
  rate control CBR 2500 kbps, keyframe interval 1 s, profile main or baseline, tune zerolatency.
ffmpeg over RTSP: ffmpeg -re -stream_loop -1 -i in.mp4 -c:v copy -c:a libopus -f rtsp rtsp://HOST:8554/STREAM_KEY
`, base)
}
