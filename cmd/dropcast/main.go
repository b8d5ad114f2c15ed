// Command dropcast is the live-commerce streaming server.
//
// Usage:
//
//	dropcast serve     run the server (migrates first)
//	dropcast migrate   create the database if missing and apply migrations
//	dropcast demo      seed the demo drop (idempotent) and print how to go live
//	dropcast clip      cut a clip of a burst's recording without re-encoding
//	dropcast version   print the version
//
// Settings come from flags and the environment; `dropcast serve -h` lists them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "dropcast:", err)
		os.Exit(1)
	}
}

const usage = `usage: dropcast <command> [flags]

commands:
  serve     run the server (applies migrations first)
  migrate   create the database if missing and apply migrations
  demo      seed the demo drop (idempotent) and print how to go live
  clip      cut a clip of a burst's recording (dropcast clip -h)
  version   print the version
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "version":
		fmt.Fprintln(stdout, "dropcast", version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "clip":
		return clipCommand(ctx, rest, getenv, stdout, stderr)
	case "serve", "migrate", "demo":
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
	s, err := parseSettings(cmd, rest, getenv, stderr)
	if err != nil {
		return err
	}
	logger, err := newLogger(s.logFormat, s.logLevel, stderr)
	if err != nil {
		return err
	}
	switch cmd {
	case "serve":
		return serve(ctx, s, logger)
	case "migrate":
		return migrate(ctx, s, logger)
	default:
		return seedDemo(ctx, s, logger, stdout)
	}
}

// version is the module version and VCS revision the binary was built from.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " (" + s.Value[:12] + ")"
		}
	}
	return v
}
