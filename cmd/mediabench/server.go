package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"time"

	"github.com/dropcast/dropcast/app"
	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/store"
)

// ready is the line the server prints once it serves.
type ready struct {
	URL   string `json:"url"`
	Key   string `json:"key"`
	Burst int64  `json:"burst"`
	PID   int    `json:"pid"`
}

func runServer(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	db := fs.String("database-url", "postgres://postgres@127.0.0.1:5432/dropcast_mediabench?sslmode=disable", "PostgreSQL URL (created if missing)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if _, err := store.EnsureDatabase(ctx, *db); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.New(ctx, app.Config{DatabaseURL: *db, HTTPAddr: "127.0.0.1:0", AdminToken: "mediabench-admin-token"}, logger)
	if err != nil {
		return err
	}
	now := time.Now()
	d, err := a.Drops.CreateDrop(ctx, drops.DropInput{Slug: fmt.Sprintf("bench-%d", now.UnixNano()), Title: "Bench", StartsAt: now.Add(-time.Hour), EndsAt: now.Add(24 * time.Hour), Currency: "EUR"})
	if err != nil {
		return err
	}
	b, key, err := a.Drops.CreateBurst(ctx, d.ID, drops.BurstInput{Title: "Bench", Kind: drops.KindHeadline, ScheduledAt: now, MaxDurationS: 3600})
	if err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	line, _ := json.Marshal(ready{URL: "http://" + a.Addr(), Key: key.String(), Burst: b.ID, PID: os.Getpid()})
	fmt.Println(string(line))
	return a.Run(ctx)
}
