package cases

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/internal/rkeys"
)

// Options tune New; zero values take the defaults.
type Options struct {
	// Categories returns the complaint categories in force (the desk's
	// ComplaintCategories), looked up on every Open so a config reload
	// applies; nil means config.DefaultComplaintCategories.
	Categories func() []string
	// Services looks up a service of the directory in force; nil knows
	// none, so a case naming a service is invalid. A case whose Service has
	// a webhook is put in the outbox when opened.
	Services func(id string) (config.Service, bool)
	// Logger hears what the store does (never a citizen's number); nil is
	// silent.
	Logger *zap.Logger
}

// Store is one centre's cases in Redis.
type Store struct {
	rdb    redis.UniversalClient
	centre string
	opt    Options
	log    *zap.Logger
}

//go:embed lua/*.lua
var luaFS embed.FS

var caseLib = mustRead("lua/caselib.lua")

func mustRead(name string) string {
	b, err := luaFS.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// script is lua/<name> with rkeys' library, the case key builders and
// caselib.lua before it.
func script(name string) *redis.Script {
	return redis.NewScript(rkeys.Lua(luaKeys + caseLib + "\n" + mustRead("lua/"+name)))
}

var (
	openScript      = script("open.lua")
	setStatusScript = script("set_status.lua")
)

// New returns the cases of centre.
func New(rdb redis.UniversalClient, centre string, opt Options) *Store {
	log := opt.Logger
	if log == nil {
		log = zap.NewNop()
	}
	return &Store{rdb: rdb, centre: centre, opt: opt, log: log}
}

// run runs sc under ctx's operation id (a fresh one when ctx has none, so
// at least go-redis' own retries of this run are harmless).
func (s *Store) run(ctx context.Context, sc *redis.Script, args ...any) ([]any, error) {
	return sc.Run(ctx, s.rdb, rkeys.OpKeys(ctx, s.centre, sc), args...).Slice()
}

func (s *Store) categories() []string {
	if s.opt.Categories != nil {
		if c := s.opt.Categories(); len(c) > 0 {
			return c
		}
	}
	return config.DefaultComplaintCategories
}

func (s *Store) service(id string) (config.Service, bool) {
	if s.opt.Services == nil {
		return config.Service{}, false
	}
	return s.opt.Services(id)
}

// Open validates c, gives it a number and stores it as registered, opened
// at now; now's date (in now's location: pass the centre's) is in the
// number. When c.Service has a webhook its delivery is put in the outbox
// in the same atomic step, due at once. A retry with the same
// c.RequestID (or under the same operation id, rkeys.WithOp) returns the
// case the first Open made. An invalid c gives an error wrapping ErrInvalid
// (a *FieldError naming the field).
func (s *Store) Open(ctx context.Context, c Case, now time.Time) (Case, error) {
	c, err := s.check(c)
	if err != nil {
		return Case{}, err
	}
	enqueue := "0"
	if c.Service != "" {
		if svc, ok := s.service(c.Service); ok && svc.Webhook != "" {
			enqueue = "1"
		}
	}
	args := []any{rkeys.Ms(now), now.Format("20060102"), c.RequestID, enqueue, c.Agent, c.CallID, reqTTL,
		"kind", string(c.Kind), "citizen", c.CitizenNumber, "topic", c.Topic, "lang", c.Language,
		"org_service", c.OrgService, "organisation", c.Organisation, "category", c.Category, "text", c.Text,
		"address", c.Address, "symptoms", c.Symptoms, "preferred", c.PreferredTime, "service", c.Service}
	v, err := s.run(ctx, openScript, args...)
	if err != nil {
		return Case{}, fmt.Errorf("cases: open %s for call %s: %w", c.Kind, c.CallID, err)
	}
	created, number := num(v[0]) == 1, str(v[1])
	out, err := s.Get(ctx, number)
	if err != nil {
		return Case{}, err
	}
	if created {
		s.log.Info("case opened", zap.String("case", number), zap.String("kind", string(c.Kind)),
			zap.String("call", c.CallID), zap.String("agent", c.Agent), zap.String("service", c.Service),
			zap.Bool("outbox", enqueue == "1"))
	}
	return out, nil
}

var numberRE = regexp.MustCompile(`^K-[0-9]{8}-[0-9]{4,19}$`)

// ValidNumber reports whether s is shaped like a case number.
func ValidNumber(s string) bool { return numberRE.MatchString(s) }

// Get returns one case.
func (s *Store) Get(ctx context.Context, number string) (Case, error) {
	if !ValidNumber(number) {
		return Case{}, fmt.Errorf("%w: %q", ErrNotFound, clip(number, 40))
	}
	cs, err := s.getMany(ctx, []string{number})
	if err != nil {
		return Case{}, err
	}
	if len(cs) == 0 {
		return Case{}, fmt.Errorf("%w: %s", ErrNotFound, number)
	}
	return cs[0], nil
}

// ListByAgent returns the cases agent opened in [from, to), oldest first;
// a zero from or to leaves that end open (their cases of a day: from the
// day's start to the next day's).
func (s *Store) ListByAgent(ctx context.Context, agent string, from, to time.Time) ([]Case, error) {
	if !rkeys.ValidID(agent) {
		return nil, nil
	}
	return s.byIndex(ctx, keyByAgent(s.centre, agent), from, to, 0)
}

// OpenByAgent returns agent's cases that are not closed, oldest first.
func (s *Store) OpenByAgent(ctx context.Context, agent string) ([]Case, error) {
	if !rkeys.ValidID(agent) {
		return nil, nil
	}
	return s.byIndex(ctx, keyAgentOpen(s.centre, agent), time.Time{}, time.Time{}, 0)
}

// ListByCall returns the cases opened from one call, oldest first.
func (s *Store) ListByCall(ctx context.Context, callID string) ([]Case, error) {
	if !validToken(callID, maxCallID) {
		return nil, nil
	}
	return s.byIndex(ctx, keyByCall(s.centre, callID), time.Time{}, time.Time{}, 0)
}

// DefaultListLimit is List's n when n <= 0.
const DefaultListLimit = 10000

// List returns at most n cases opened in [from, to), oldest first (zero
// ends are open; n <= 0 means DefaultListLimit): the supervisors' view and
// the CSV export.
func (s *Store) List(ctx context.Context, from, to time.Time, n int) ([]Case, error) {
	if n <= 0 {
		n = DefaultListLimit
	}
	return s.byIndex(ctx, keyAll(s.centre), from, to, n)
}

// All returns every case opened in [from, to), oldest first, however many
// (zero ends are open): the admins' export, which must not stop at a cap.
func (s *Store) All(ctx context.Context, from, to time.Time) ([]Case, error) {
	return s.byIndex(ctx, keyAll(s.centre), from, to, -1)
}

// Outbox returns how many deliveries are waiting (or in flight).
func (s *Store) Outbox(ctx context.Context) (int64, error) {
	n, err := s.rdb.ZCard(ctx, keyOutbox(s.centre)).Result()
	if err != nil {
		return 0, fmt.Errorf("cases: outbox: %w", err)
	}
	return n, nil
}

// SetStatus moves a case to st on the word of who (an operator or a
// supervisor) and returns it after. Only closing is a person's to do:
// registered or forwarded → closed; forwarded is set by delivery, and
// nothing leaves closed (ErrBadTransition). Setting the status it already
// has changes nothing. A case closed before its delivery is still
// delivered.
func (s *Store) SetStatus(ctx context.Context, number string, st Status, who string, now time.Time) (Case, error) {
	if !ValidNumber(number) {
		return Case{}, fmt.Errorf("%w: %q", ErrNotFound, clip(number, 40))
	}
	switch st {
	case StatusRegistered, StatusForwarded, StatusClosed:
	default:
		return Case{}, fmt.Errorf("%w: case %s: unknown status %q", ErrBadTransition, number, clip(string(st), 40))
	}
	if !rkeys.ValidID(who) {
		return Case{}, &FieldError{Field: "who", Msg: "an operator id is required"}
	}
	v, err := s.run(ctx, setStatusScript, rkeys.Ms(now), number, string(st), who)
	if err != nil {
		return Case{}, fmt.Errorf("cases: case %s: set status %s: %w", number, st, err)
	}
	switch num(v[0]) {
	case -1:
		return Case{}, fmt.Errorf("%w: %s", ErrNotFound, number)
	case -2:
		return Case{}, fmt.Errorf("%w: case %s: %s -> %s", ErrBadTransition, number, str(v[1]), st)
	case 1:
		s.log.Info("case status", zap.String("case", number), zap.String("from", str(v[1])),
			zap.String("to", string(st)), zap.String("who", who))
	}
	return s.Get(ctx, number)
}

// byIndex reads at most n cases of index ZSET key scored in [from, to):
// n 0 is DefaultListLimit, n < 0 every one.
func (s *Store) byIndex(ctx context.Context, key string, from, to time.Time, n int) ([]Case, error) {
	rng := &redis.ZRangeBy{Min: "-inf", Max: "+inf", Count: int64(n)}
	if !from.IsZero() {
		rng.Min = strconv.FormatInt(rkeys.Ms(from), 10)
	}
	if !to.IsZero() {
		rng.Max = "(" + strconv.FormatInt(rkeys.Ms(to), 10)
	}
	switch {
	case n == 0:
		rng.Count = DefaultListLimit
	case n < 0:
		rng.Count = 0 // go-redis sends no LIMIT when offset and count are 0
	}
	numbers, err := s.rdb.ZRangeByScore(ctx, key, rng).Result()
	if err != nil {
		return nil, fmt.Errorf("cases: list: %w", err)
	}
	var out []Case
	for batch := range slices.Chunk(numbers, 500) {
		cs, err := s.getMany(ctx, batch)
		if err != nil {
			return out, err
		}
		out = append(out, cs...)
	}
	return out, nil
}

// getMany reads cases in one round trip, leaving out missing ones.
func (s *Store) getMany(ctx context.Context, numbers []string) ([]Case, error) {
	if len(numbers) == 0 {
		return nil, nil
	}
	p := s.rdb.Pipeline()
	hs := make([]*redis.MapStringStringCmd, len(numbers))
	for i, n := range numbers {
		hs[i] = p.HGetAll(ctx, keyCase(s.centre, n))
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("cases: read %d cases: %w", len(numbers), err)
	}
	out := make([]Case, 0, len(numbers))
	for _, h := range hs {
		if m := h.Val(); len(m) > 0 && m["number"] != "" {
			out = append(out, decode(m))
		}
	}
	return out, nil
}

func decode(h map[string]string) Case {
	i := func(k string) int64 { n, _ := strconv.ParseInt(h[k], 10, 64); return n }
	return Case{
		Number: h["number"], Kind: Kind(h["kind"]), Status: Status(h["status"]), RequestID: h["req"],
		CallID: h["call"], Agent: h["agent"], CitizenNumber: h["citizen"], Topic: h["topic"], Language: h["lang"],
		OrgService: h["org_service"], Organisation: h["organisation"], Category: h["category"], Text: h["text"],
		Address: h["address"], Symptoms: h["symptoms"], PreferredTime: h["preferred"], Service: h["service"],
		OpenedAt: rkeys.FromMs(i("opened")), ForwardedAt: rkeys.FromMs(i("forwarded")),
		ClosedAt: rkeys.FromMs(i("closed")), ClosedBy: h["closed_by"],
		Attempts: int(i("attempts")), LastError: h["last_error"], NextTry: rkeys.FromMs(i("next")),
	}
}

func str(v any) string { s, _ := v.(string); return s }

func num(v any) int64 { n, _ := v.(int64); return n }
