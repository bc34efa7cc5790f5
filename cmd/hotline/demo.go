package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/hotline-acd/hotline/demo"
	"github.com/hotline-acd/hotline/internal/logmask"
)

// runDemo is `hotline demo`: the whole hotline on this machine with an
// emulated Asterisk, printing one JSON summary line at the end.
func runDemo(ctx context.Context, clk clock, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hotline demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := demo.Options{}
	fs.DurationVar(&o.Duration, "duration", time.Minute, "how long virtual callers keep arriving")
	fs.Float64Var(&o.CallersPerMinute, "callers-per-minute", 60, "mean arrival rate of virtual callers")
	fs.IntVar(&o.Operators, "operators", 4, "number of virtual operators (PJSIP/1001…)")
	fs.StringVar(&o.RedisAddr, "redis", "", "Redis URL (redis://[user:password@]host:port, rediss://...) or host:port; empty starts a redis-server from PATH")
	fs.StringVar(&o.HTTPAddr, "http", "", "serve the operator desktop and the HTTP API here, e.g. 127.0.0.1:8080")
	fs.StringVar(&o.APIToken, "api-token", "demo", "bearer token for the HTTP API")
	fs.DurationVar(&o.WrapUp, "wrap-up", 2*time.Second, "operators' wrap-up after each call")
	fs.DurationVar(&o.TalkMin, "talk-min", 3*time.Second, "shortest conversation")
	fs.DurationVar(&o.TalkMax, "talk-max", 10*time.Second, "longest conversation")
	fs.DurationVar(&o.PatienceMin, "patience-min", 15*time.Second, "shortest wait before a caller gives up")
	fs.DurationVar(&o.PatienceMax, "patience-max", 90*time.Second, "longest wait before a caller gives up")
	fs.Uint64Var(&o.Seed, "seed", 0, "random seed (0: random)")
	fs.DurationVar(&o.MinAbandonWait, "callback-min-wait", 10*time.Second, "an abandon after this wait owes a callback")
	fs.DurationVar(&o.CallbackDelay, "callback-delay", 5*time.Second, "first callback attempt this long after it is owed")
	fs.DurationVar(&o.Settle, "settle", 0, "after arrivals stop, wait up to this long for calls and callbacks to finish")
	fs.IntVar(&o.Instances, "instances", 1, "hotline instances serving the emulated Asterisk (active-active, StasisBroadcast); with 2 or more the last one stops now and then to show takeover")
	fs.DurationVar(&o.FailoverEvery, "failover-every", time.Minute, "with --instances 2 or more: stop the last instance this often (0: never)")
	fs.DurationVar(&o.FailoverFor, "failover-for", 20*time.Second, "how long a stopped instance stays down")
	level := zapcore.InfoLevel
	fs.Var(&level, "log-level", "log level: debug, info, warn, error")
	fullNumbers := fs.Bool("log-full-numbers", envBool("HOTLINE_LOG_FULL_NUMBERS"), "log citizens' numbers in full, for debugging (HOTLINE_LOG_FULL_NUMBERS); masked by default")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments %v", fs.Args())
	}
	if o.CallersPerMinute <= 0 || o.Operators <= 0 || o.Operators > 9000 || o.Duration <= 0 {
		return usagef("--duration, --callers-per-minute must be positive and --operators in 1..9000")
	}
	if o.Instances < 1 || o.Instances > 9 || o.FailoverEvery < 0 || o.FailoverFor < 0 {
		return usagef("--instances must be in 1..9 and --failover-every, --failover-for not negative")
	}
	log := newLogger(stderr, level, *fullNumbers)
	defer func() { _ = log.Sync() }()
	// The demo logs each call's end; the router's own story is at debug.
	o.Log = log
	o.Banner = stderr
	s, err := demo.Run(ctx, o)
	if err != nil {
		return err
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, string(b))
	return err
}

// newLogger writes readable console logs to w. Citizens' numbers are
// masked unless fullNumbers (a debugging switch: they are health data).
func newLogger(w io.Writer, level zapcore.Level, fullNumbers bool) *zap.Logger {
	enc := zap.NewDevelopmentEncoderConfig()
	enc.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05.000")
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.Lock(zapcore.AddSync(w)), level)
	if fullNumbers {
		core = logmask.Reveal(core)
	}
	return zap.New(core)
}

// envBool reads a boolean environment variable ("1", "true", ...); unset
// or unparsable is false.
func envBool(name string) bool {
	v, _ := strconv.ParseBool(os.Getenv(name))
	return v
}
