// Package cardboard keeps in Redis what the desktops and the wallboard
// show of calls any hotline instance holds: each operator's card
// (router.Card) and the supervisors' monitors (router.MonitorInfo), so
// that a page served by any instance shows them whichever instance holds
// the call, and an action on one is sent to that instance. Every
// instance's desktop is told when a card changes. Each router writes what
// it holds and, being level-triggered, compares and repairs it on every
// pass, its application's stale entries included.
package cardboard

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/internal/rkeys"
	"github.com/hotline-acd/hotline/router"
)

//go:embed lua/*.lua
var luaFS embed.FS

// The board's keys, in the centre's hash slot.
const (
	sfxCards   = "desk:cards"         // HASH operator -> Entry (JSON)
	sfxLast    = "desk:last"          // HASH operator -> application of their last conversation
	sfxChanged = "desk:cards:changed" // sharded pub/sub channel: an operator whose card changed
	sfxMons    = "desk:monitors"      // HASH monitor id -> MonitorEntry (JSON)
)

var luaKeys = strings.Join([]string{
	fmt.Sprintf("local function k_cards() return P .. %q end", sfxCards),
	fmt.Sprintf("local function k_last() return P .. %q end", sfxLast),
	fmt.Sprintf("local function k_changed() return P .. %q end", sfxChanged),
	"",
}, "\n")

func script(name string) *redis.Script { return rkeys.ScriptWith(luaFS, luaKeys, name) }

var (
	showScript  = script("show.lua")
	clearScript = script("clear.lua")
)

// Entry is one operator's card and the application whose router holds
// the call: the one a desk action on it goes to.
type Entry struct {
	App  string      `json:"app"`
	Card router.Card `json:"card"`
}

// Board is the centre's cards in Redis.
type Board struct {
	rdb    redis.UniversalClient
	prefix string
	log    *zap.Logger
}

// New returns centre's board.
func New(rdb redis.UniversalClient, centre string, log *zap.Logger) *Board {
	if log == nil {
		log = zap.NewNop()
	}
	return &Board{rdb: rdb, prefix: rkeys.Prefix(centre), log: log}
}

// ShowCard puts card on its operator's desktop for app's router.
func (b *Board) ShowCard(ctx context.Context, app string, card router.Card) error {
	v, err := json.Marshal(Entry{App: app, Card: card})
	if err != nil {
		return fmt.Errorf("cardboard: card of call %s: %w", card.CallID, err)
	}
	if err := showScript.Run(ctx, b.rdb, []string{b.prefix}, card.AgentID, v).Err(); err != nil {
		return fmt.Errorf("cardboard: show call %s to %s: %w", card.CallID, card.AgentID, err)
	}
	return nil
}

// ClearCard takes call callID's card from agent's desktop.
func (b *Board) ClearCard(ctx context.Context, agent, callID string) error {
	if err := clearScript.Run(ctx, b.rdb, []string{b.prefix}, agent, callID).Err(); err != nil {
		return fmt.Errorf("cardboard: clear call %s from %s: %w", callID, agent, err)
	}
	return nil
}

// NoteLastCall names app's router as the one holding agent's last
// conversation, the one their "call back" marks.
func (b *Board) NoteLastCall(ctx context.Context, agent, app string) error {
	if err := b.rdb.HSet(ctx, b.prefix+sfxLast, agent, app).Err(); err != nil {
		return fmt.Errorf("cardboard: last call of %s: %w", agent, err)
	}
	return nil
}

// Card is agent's card, if they have one.
func (b *Board) Card(ctx context.Context, agent string) (Entry, bool, error) {
	v, err := b.rdb.HGet(ctx, b.prefix+sfxCards, agent).Result()
	if errors.Is(err, redis.Nil) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, fmt.Errorf("cardboard: card of %s: %w", agent, err)
	}
	var e Entry
	if err := json.Unmarshal([]byte(v), &e); err != nil {
		return Entry{}, false, fmt.Errorf("cardboard: card of %s: %w", agent, err)
	}
	return e, true, nil
}

// AppCards are the calls whose cards app's router showed: operator -> call.
func (b *Board) AppCards(ctx context.Context, app string) (map[string]string, error) {
	all, err := b.rdb.HGetAll(ctx, b.prefix+sfxCards).Result()
	if err != nil {
		return nil, fmt.Errorf("cardboard: cards of %s: %w", app, err)
	}
	out := map[string]string{}
	for agent, v := range all {
		var e Entry
		if err := json.Unmarshal([]byte(v), &e); err != nil {
			// Unreadable: nobody's, so whoever reconciles takes it away.
			b.log.Warn("cardboard: unreadable card", zap.String("agent", agent), zap.Error(err))
			continue
		}
		if e.App == app {
			out[agent] = e.Card.CallID
		}
	}
	return out, nil
}

// LastApp is the application whose router held agent's last conversation
// ("" if none is known).
func (b *Board) LastApp(ctx context.Context, agent string) (string, error) {
	v, err := b.rdb.HGet(ctx, b.prefix+sfxLast, agent).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("cardboard: last call of %s: %w", agent, err)
	}
	return v, nil
}

// Watch calls changed with each operator whose card changed, on any
// instance, until ctx ends; it resubscribes after a Redis outage (a card
// changed meanwhile reaches the desktop by its own polling).
func (b *Board) Watch(ctx context.Context, changed func(agent string)) {
	for ctx.Err() == nil {
		ps := b.rdb.SSubscribe(ctx, b.prefix+sfxChanged)
		ch := ps.Channel()
	read:
		for {
			select {
			case <-ctx.Done():
				break read
			case m, ok := <-ch:
				if !ok {
					break read
				}
				changed(m.Payload)
			}
		}
		_ = ps.Close()
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// MonitorEntry is one monitor running and the application whose router
// runs it: the one its stop goes to.
type MonitorEntry struct {
	App     string             `json:"app"`
	Monitor router.MonitorInfo `json:"monitor"`
}

// PutMonitor writes (or rewrites) monitor m of app's router.
func (b *Board) PutMonitor(ctx context.Context, app string, m router.MonitorInfo) error {
	v, err := json.Marshal(MonitorEntry{App: app, Monitor: m})
	if err != nil {
		return fmt.Errorf("cardboard: monitor %s: %w", m.ID, err)
	}
	if err := b.rdb.HSet(ctx, b.prefix+sfxMons, m.ID, v).Err(); err != nil {
		return fmt.Errorf("cardboard: monitor %s: %w", m.ID, err)
	}
	return nil
}

// DropMonitor forgets monitor id.
func (b *Board) DropMonitor(ctx context.Context, id string) error {
	if err := b.rdb.HDel(ctx, b.prefix+sfxMons, id).Err(); err != nil {
		return fmt.Errorf("cardboard: monitor %s: %w", id, err)
	}
	return nil
}

// Monitors are the monitors every instance runs, by id.
func (b *Board) Monitors(ctx context.Context) (map[string]MonitorEntry, error) {
	all, err := b.rdb.HGetAll(ctx, b.prefix+sfxMons).Result()
	if err != nil {
		return nil, fmt.Errorf("cardboard: monitors: %w", err)
	}
	out := make(map[string]MonitorEntry, len(all))
	for id, v := range all {
		var e MonitorEntry
		if err := json.Unmarshal([]byte(v), &e); err != nil {
			b.log.Warn("cardboard: unreadable monitor", zap.String("monitor", id), zap.Error(err))
			continue
		}
		out[id] = e
	}
	return out, nil
}

// AppMonitors are the ids of the monitors app's router wrote.
func (b *Board) AppMonitors(ctx context.Context, app string) ([]string, error) {
	all, err := b.Monitors(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for id, e := range all {
		if e.App == app {
			out = append(out, id)
		}
	}
	return out, nil
}
