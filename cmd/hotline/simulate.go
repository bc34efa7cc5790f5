package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/internal/redisproc"
	"github.com/hotline-acd/hotline/sim"
)

// runSimulate is `hotline simulate`: a scenario's day on the real routing
// code and Redis scripts in virtual time, printed per interval and topic.
func runSimulate(ctx context.Context, _ clock, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hotline simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "hotline config file (topics, targets, callbacks)")
	scPath := fs.String("scenario", "", "scenario file (configs/scenarios/*.yaml)")
	seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same day")
	format := fs.String("format", "table", "output: table, csv or json")
	svg := fs.String("svg", "", "also draw the day as an SVG chart into this file")
	find := fs.Bool("find-staff", false, "search the fewest operators per interval that meet every target")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments %v", fs.Args())
	}
	if *cfgPath == "" || *scPath == "" {
		return usagef("--config and --scenario are required")
	}
	if *format != "table" && *format != "csv" && *format != "json" {
		return usagef("--format must be table, csv or json, not %q", *format)
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	sc, err := sim.LoadScenario(*scPath, cfg)
	if err != nil {
		return err
	}
	// A private redis-server, as the demo starts: the run flushes it.
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	addr, stop, err := redisproc.StartServer(sctx)
	cancel()
	if err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	defer stop()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer func() { _ = rdb.Close() }()
	o := sim.Options{Config: cfg, Scenario: sc, Seed: *seed, Redis: rdb, Flush: true}
	var res *sim.Result
	if *find {
		res, err = sim.FindStaff(ctx, o, func(i, n int) { fmt.Fprintf(stderr, "interval %d: %d operators\n", i, n) })
	} else {
		res, err = sim.Run(ctx, o)
	}
	if err != nil {
		return err
	}
	if *svg != "" {
		f, err := os.Create(*svg)
		if err != nil {
			return err
		}
		if err := res.WriteSVG(f); err != nil {
			_ = f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	switch *format {
	case "csv":
		return res.WriteCSV(stdout)
	case "json":
		return res.WriteJSON(stdout)
	}
	return res.WriteTable(stdout)
}
