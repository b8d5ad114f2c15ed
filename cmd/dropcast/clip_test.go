package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestClipFileCommand(t *testing.T) {
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Fatal("ffprobe not found: apt-get install -y ffmpeg")
	}
	out := filepath.Join(t.TempDir(), "clip.mp4")
	in := filepath.Join("..", "..", "recorder", "testdata", "fixture.mp4")
	var stdout, stderr bytes.Buffer
	getenv := func(string) string { return "" }
	if err := run(t.Context(), []string{"clip", "-in", in, "-out", out, "-from", "3", "-to", "8"}, getenv, &stdout, &stderr); err != nil {
		t.Fatalf("clip: %v\n%s", err, stderr.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", out).Output()
	if err != nil {
		t.Fatal(err)
	}
	d, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	if err != nil || d < 4.9 || d > 5.1 {
		t.Errorf("clip lasts %q, want 5 ± 0.1", b)
	}

	for _, args := range [][]string{
		{"clip", "-in", in, "-out", out, "-from", "8", "-to", "3"},
		{"clip", "-in", in, "-from", "1", "-to", "3"},
		{"clip", "-from", "1", "-to", "3"},
	} {
		if err := run(t.Context(), args, getenv, &stdout, &stderr); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
