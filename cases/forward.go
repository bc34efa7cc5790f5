package cases

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/internal/rkeys"
)

var (
	claimScript     = script("claim.lua")
	deliveredScript = script("delivered.lua")
	failedScript    = script("failed.lua")
)

// ForwarderOptions tune NewForwarder; zero values take the defaults.
type ForwarderOptions struct {
	// Webhooks returns the webhook URL of a service in the config in force
	// (looked up on every delivery, so a reload applies). A service with
	// none is a failed attempt, retried: a webhook added later delivers.
	Webhooks func(serviceID string) (url string, ok bool)
	// Client posts the deliveries; default one with a 10 s timeout. Each
	// request is also bounded by Timeout.
	Client *http.Client
	// Timeout bounds one delivery; default the client's timeout, else 10 s.
	Timeout time.Duration
	// Lease is how long a claimed delivery is held before another instance
	// may take it; default 3×Timeout, and never under Timeout+5 s, so a
	// live request always ends before its lease does.
	Lease time.Duration
	// BackoffMin is the wait after a first failure, doubled after each
	// further one up to BackoffMax; default 1 s and 5 min.
	BackoffMin, BackoffMax time.Duration
	// Workers is how many deliveries run at once; default 4. A round
	// claims no more than it can start at once, so no claim waits for a
	// worker while its lease runs out.
	Workers int
	// Poll is the longest wait between looks at the outbox, so a case
	// another instance opened but could not deliver is seen; default 5 s.
	// Kick (a case opened here) wakes the forwarder at once.
	Poll time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Instance names this hotline in claims; default random.
	Instance string
	// Logger hears deliveries and failures (never a citizen's number).
	Logger *zap.Logger
}

// Forwarder delivers the outbox of a Store to the services' webhooks.
// The caller owns it: Run it in a goroutine and cancel its context to stop.
// Any number of forwarders, in any number of instances, may run on one
// centre: each delivery is claimed by one at a time.
type Forwarder struct {
	s    *Store
	o    ForwarderOptions
	kick chan struct{}
	log  *zap.Logger
}

// NewForwarder returns a forwarder of s's outbox.
func NewForwarder(s *Store, o ForwarderOptions) *Forwarder {
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	// A redirect is not an acceptance: a 301/302 would turn the POST into
	// a GET whose 2xx proves nothing. A copy, so the caller's client is
	// left as it is.
	cl := *o.Client
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	o.Client = &cl
	if o.Timeout <= 0 {
		o.Timeout = o.Client.Timeout
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Lease <= 0 {
		o.Lease = 3 * o.Timeout
	}
	o.Lease = max(o.Lease, o.Timeout+5*time.Second)
	if o.BackoffMin <= 0 {
		o.BackoffMin = time.Second
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 5 * time.Minute
	}
	o.BackoffMax = max(o.BackoffMax, o.BackoffMin)
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Poll <= 0 {
		o.Poll = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Instance == "" {
		o.Instance = rkeys.NewOp()[:12]
	}
	if o.Webhooks == nil {
		o.Webhooks = func(string) (string, bool) { return "", false }
	}
	log := o.Logger
	if log == nil {
		log = zap.NewNop()
	}
	return &Forwarder{s: s, o: o, kick: make(chan struct{}, 1), log: log}
}

// Kick makes a running forwarder look at the outbox now (after Open, or
// in tests after moving the clock). It never blocks.
func (f *Forwarder) Kick() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends, then returns nil once every delivery it
// started has finished and been recorded. Redis errors are logged and
// retried; they do not end it.
func (f *Forwarder) Run(ctx context.Context) error {
	round := true // at start: whatever is due already
	for {
		if round {
			n, err := f.Round(ctx)
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				f.log.Warn("cases: forwarder round failed", zap.Error(err))
			} else if n == f.o.Workers {
				continue // more may be due
			}
		}
		// Claim only when the outbox says a delivery is due: a claim is a
		// script run, and an idle line has nothing due for hours. One
		// read of the earliest entry is the whole idle cost.
		wait, due := f.o.Poll, false
		at, ok, err := rkeys.Earliest(ctx, f.s.rdb, keyOutbox(f.s.centre))
		switch {
		case err != nil && ctx.Err() == nil:
			f.log.Warn("cases: forwarder cannot read its outbox", zap.Error(err))
		case err == nil && ok:
			wait = min(wait, at.Sub(f.o.Now()))
			due = wait <= 0
		}
		if due && !round {
			round = true
			continue
		}
		round = false
		t := time.NewTimer(max(wait, 5*time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-f.kick:
			round = true
		case <-t.C:
			round = due
		}
		t.Stop()
	}
}

// Round claims up to Workers deliveries due now and makes them at once,
// and returns how many it claimed once every one is done and recorded.
// Run calls it; a caller (or a test) may drive the forwarder with it
// instead.
func (f *Forwarder) Round(ctx context.Context) (int, error) {
	v, err := f.s.run(ctx, claimScript, rkeys.Ms(f.o.Now()), f.o.Lease.Milliseconds(), f.o.Workers, f.o.Instance)
	if err != nil {
		return 0, fmt.Errorf("cases: claim deliveries: %w", err)
	}
	var wg sync.WaitGroup
	for _, e := range v {
		row := list(e)
		number, claim := str(row[0]), str(row[1])
		wg.Go(func() { f.deliver(ctx, number, claim) })
	}
	wg.Wait()
	return len(v), nil
}

// deliver makes one claimed delivery and records its outcome.
func (f *Forwarder) deliver(ctx context.Context, number, claim string) {
	c, err := f.s.Get(ctx, number)
	if err != nil {
		// Gone (claim.lua heals the outbox next time) or Redis trouble:
		// the claim's lease runs out and the delivery falls due again.
		f.log.Warn("cases: read claimed case", zap.String("case", number), zap.Error(err))
		return
	}
	hook, ok := f.o.Webhooks(c.Service)
	if !ok || hook == "" {
		f.failed(ctx, c, claim, fmt.Sprintf("service %q has no webhook", c.Service), "")
		return
	}
	body, err := json.Marshal(Delivery{Case: payloadOf(c)})
	if err != nil { // cannot happen: strings and numbers only
		f.failed(ctx, c, claim, "encode: "+err.Error(), "")
		return
	}
	rctx, cancel := context.WithTimeout(ctx, f.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, hook, bytes.NewReader(body))
	if err != nil {
		f.failed(ctx, c, claim, "bad webhook URL: "+describe(err), "")
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", c.Number)
	resp, err := f.o.Client.Do(req)
	if err != nil {
		msg := describe(err)
		if ctx.Err() != nil {
			msg = "interrupted by shutdown: " + msg
		} else if rctx.Err() != nil {
			msg = fmt.Sprintf("no answer in %s", f.o.Timeout)
		}
		f.failed(ctx, c, claim, msg, "")
		return
	}
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		f.failed(ctx, c, claim, "HTTP "+resp.Status, string(head))
		return
	}
	f.delivered(ctx, c)
}

// record runs a script recording an outcome: after the request, so under
// a context the caller's cancellation does not cut short, retried under
// one operation id (a repeat changes nothing).
func (f *Forwarder) record(ctx context.Context, op string, sc func(context.Context) ([]any, error)) ([]any, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	ctx = rkeys.WithOp(ctx, op)
	var err error
	for try := range 3 {
		var v []any
		if v, err = sc(ctx); err == nil {
			return v, nil
		}
		if ctx.Err() != nil {
			break
		}
		time.Sleep(time.Duration(try+1) * 100 * time.Millisecond) // Redis failing over
	}
	return nil, err
}

func (f *Forwarder) delivered(ctx context.Context, c Case) {
	now := f.o.Now()
	v, err := f.record(ctx, "case-delivered/"+c.Number, func(ctx context.Context) ([]any, error) {
		return f.s.run(ctx, deliveredScript, rkeys.Ms(now), c.Number)
	})
	if err != nil {
		// The receiver has it but the outbox does not know: it will be
		// sent again, and the receiver dedupes on Idempotency-Key.
		f.log.Error("cases: delivered but not recorded", zap.String("case", c.Number), zap.Error(err))
		return
	}
	if num(v[0]) == 1 {
		f.log.Info("case forwarded", zap.String("case", c.Number), zap.String("service", c.Service),
			zap.Int("attempts", c.Attempts+1))
	}
}

// failed records a failed attempt: msg says what failed; detail (the
// start of the receiver's answer) goes into LastError but not the log, as
// a receiver may echo what it was sent.
func (f *Forwarder) failed(ctx context.Context, c Case, claim, msg, detail string) {
	now := f.o.Now()
	last := msg
	if d := oneLine(detail); d != "" {
		last += ": " + d
	}
	v, err := f.record(ctx, "case-failed/"+c.Number+"/"+claim, func(ctx context.Context) ([]any, error) {
		return f.s.run(ctx, failedScript, rkeys.Ms(now), c.Number, claim, oneLine(last),
			f.o.BackoffMin.Milliseconds(), f.o.BackoffMax.Milliseconds())
	})
	if err != nil {
		f.log.Warn("cases: delivery failed and not recorded (retried when its lease ends)",
			zap.String("case", c.Number), zap.String("error", msg), zap.Error(err))
		return
	}
	if num(v[0]) == 1 {
		f.log.Warn("cases: delivery failed", zap.String("case", c.Number), zap.String("service", c.Service),
			zap.Int64("attempts", num(v[1])), zap.Time("next", rkeys.FromMs(num(v[2]))), zap.String("error", msg))
	}
}

// describe is err without the request URL, which may carry a token.
func describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + ue.Err.Error()
	}
	return err.Error()
}

// oneLine makes text safe for LastError and logs: one line, at most 300
// bytes of valid UTF-8.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) > 300 {
		s = s[:300]
	}
	return strings.ToValidUTF8(s, "")
}

// Delivery is the JSON body POSTed to a webhook: {"case": {...}}.
type Delivery struct {
	Case Payload `json:"case"`
}

// Payload is a case as its service receives it; times are RFC 3339 (UTC),
// empty fields are left out.
type Payload struct {
	Number        string `json:"number"`
	Kind          Kind   `json:"kind"`
	Status        Status `json:"status"`
	OpenedAt      string `json:"opened_at"`
	ClosedAt      string `json:"closed_at,omitempty"`
	CallID        string `json:"call_id"`
	Agent         string `json:"agent"`
	CitizenNumber string `json:"citizen_number,omitempty"`
	Topic         string `json:"topic,omitempty"`
	Language      string `json:"language,omitempty"`
	OrgService    string `json:"org_service,omitempty"`
	Organisation  string `json:"organisation,omitempty"`
	Category      string `json:"category,omitempty"`
	Text          string `json:"text,omitempty"`
	Address       string `json:"address,omitempty"`
	Symptoms      string `json:"symptoms,omitempty"`
	PreferredTime string `json:"preferred_time,omitempty"`
	Service       string `json:"service"`
	Attempt       int    `json:"attempt"` // 1 for the first try
}

func payloadOf(c Case) Payload {
	return Payload{
		Number: c.Number, Kind: c.Kind, Status: c.Status, OpenedAt: rfc3339(c.OpenedAt, time.UTC),
		ClosedAt: rfc3339(c.ClosedAt, time.UTC), CallID: c.CallID, Agent: c.Agent, CitizenNumber: c.CitizenNumber,
		Topic: c.Topic, Language: c.Language, OrgService: c.OrgService, Organisation: c.Organisation,
		Category: c.Category, Text: c.Text, Address: c.Address, Symptoms: c.Symptoms,
		PreferredTime: c.PreferredTime, Service: c.Service, Attempt: c.Attempts + 1,
	}
}

func list(v any) []any { l, _ := v.([]any); return l }

// rfc3339 is t in loc as RFC 3339, "" for the zero time.
func rfc3339(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format(time.RFC3339)
}
