// Package rkeys is hotline's Redis data layout: every key, built in this one
// file with its Redis type, the queue score encoding, the caller record that
// queue and dispatch both write, and the Lua library every script shares.
//
// Every key is hotline:{<centre>}:<suffix>. The braces are a Redis Cluster
// hash tag: one centre lives in one slot, so a Lua script may touch any of a
// centre's keys. Scripts receive the centre prefix as KEYS[1] and build the
// keys they touch with k_* helpers generated below from the same suffixes,
// so this file stays the single source of the layout.
package rkeys

import (
	"context"
	_ "embed"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Key suffixes, one per kind of key. The Lua helpers are generated from
// these; do not spell a key anywhere else.
const (
	sfxQueue       = "queue:"   // ZSET  callID -> Score; waiting callers of one topic
	sfxCaller      = "caller:"  // HASH  one caller (see CallerFields)
	sfxTopics      = "topics"   // SET   every topic that ever had a caller
	sfxSkillTopics = "skillq:"  // SET   topics whose callers need this skill
	sfxAgent       = "agent:"   // HASH  one operator (see AgentFields)
	sfxAgents      = "agents"   // SET   every registered operator id
	sfxReady       = "ready:"   // ZSET  agentID -> ReadyScore (level band, idle-since ms); ready operators with a skill (and :<lang>)
	sfxStaffed     = "staffed:" // SET   agentIDs with a skill in ready/reserved/on_call/wrap_up
	sfxLeases      = "leases"   // ZSET  callID -> lease expiry ms; every live reservation
	sfxWrapUps     = "wrapups"  // ZSET  agentID -> wrap-up end ms
	sfxAHT         = "aht"      // HASH  topic -> recent average handle time, ms (EWMA)
	sfxRouting     = "routing"  // HASH  topic -> "selection,level_weight_ms,ageing_ms" (see RoutingRule)
	sfxRecords     = "records"  // STREAM call records
	sfxRecorded    = "rec:"     // STRING stream id of a call's one record (PX RecordedTTL)
	sfxOwed        = "recowed"  // ZSET  callID -> ms its operator's turn ended; records owed (an outbox)
	sfxOwedCall    = "recowed:" // HASH  what Redis knew of that call when its turn ended
)

// CallerFields documents the caller HASH: topic skill prio arrival(ms)
// score lang number ivr state(waiting|offered|connected) agent seq
// lease(ms) enq(ms) offered(ms) answered(ms).
const CallerFields = "topic skill prio arrival score lang number ivr state agent seq lease enq offered answered"

// AgentFields documents the agent HASH: name endpoint skills(a,b) levels(5,3)
// langs(ru,kk) state reason since(ms) idle(ms) call lease(ms) misses wrap(ms)
// answered(ms).
const AgentFields = "name endpoint skills levels langs state reason since idle call lease misses wrap answered"

// Prefix returns "hotline:{centre}:", the start of every key of a centre.
// A centre id must not contain '{' or '}' (see ValidID).
func Prefix(centre string) string { return "hotline:{" + centre + "}:" }

// Queue is a topic's waiting callers. ZSET callID -> Score.
func Queue(centre, topic string) string { return Prefix(centre) + sfxQueue + topic }

// Caller is one caller's record. HASH, fields CallerFields.
func Caller(centre, callID string) string { return Prefix(centre) + sfxCaller + callID }

// Owed is the outbox of call records owed: calls whose operator's turn
// ended in Redis and whose record is not written yet.
func Owed(centre string) string { return Prefix(centre) + sfxOwed }

// OwedCall is what Redis knew of an owed call when its turn ended.
func OwedCall(centre, callID string) string { return Prefix(centre) + sfxOwedCall + callID }

// Topics lists topics that ever had a caller. SET of topic ids.
func Topics(centre string) string { return Prefix(centre) + sfxTopics }

// SkillTopics lists the topics served by a skill. SET of topic ids.
func SkillTopics(centre, skill string) string { return Prefix(centre) + sfxSkillTopics + skill }

// Agent is one operator. HASH, fields AgentFields.
func Agent(centre, id string) string { return Prefix(centre) + sfxAgent + id }

// Agents lists registered operators. SET of agent ids.
func Agents(centre string) string { return Prefix(centre) + sfxAgents }

// Ready indexes ready operators with a skill. ZSET agentID -> ReadyScore
// (their level in the skill, then idle-since).
func Ready(centre, skill string) string { return Prefix(centre) + sfxReady + skill }

// ReadyLang indexes ready operators with a skill speaking lang.
// ZSET agentID -> ReadyScore.
func ReadyLang(centre, skill, lang string) string {
	return Prefix(centre) + sfxReady + skill + ":" + lang
}

// Staffed lists operators with a skill who are working (ready, reserved,
// on_call, wrap_up). SET of agent ids.
func Staffed(centre, skill string) string { return Prefix(centre) + sfxStaffed + skill }

// Leases holds every live reservation. ZSET callID -> lease expiry ms.
func Leases(centre string) string { return Prefix(centre) + sfxLeases }

// WrapUps holds operators in wrap-up. ZSET agentID -> wrap-up end ms.
func WrapUps(centre string) string { return Prefix(centre) + sfxWrapUps }

// AHT holds recent average handle times. HASH topic -> ms.
func AHT(centre string) string { return Prefix(centre) + sfxAHT }

// Routing holds each topic's routing rules, as the dispatch scripts read
// them when they match. HASH topic -> RoutingRule; a topic missing from it
// routes by the defaults (best level, no ageing).
func Routing(centre string) string { return Prefix(centre) + sfxRouting }

// RoutingRule is one topic's value in Routing: "<selection>,<level weight
// ms>,<ageing ms>", e.g. "weighted,60000,30000"; selection is best_level
// or weighted, ageing 0 is none.
func RoutingRule(selection string, levelWeight, ageing time.Duration) string {
	return fmt.Sprintf("%s,%d,%d", selection, levelWeight.Milliseconds(), ageing.Milliseconds())
}

// ReadyScore is an operator's score in the Ready and ReadyLang indexes:
// -level*1e13 + idle-since ms, so the index orders by skill level (highest
// first) and then by idle-since (longest idle first), as Score bands the
// queue by priority. Level 0 (a record without levels) sorts last.
func ReadyScore(level int, idleSince time.Time) float64 {
	return float64(-level)*1e13 + float64(idleSince.UnixMilli())
}

// Records is the call-record stream. STREAM.
func Records(centre string) string { return Prefix(centre) + sfxRecords }

// Recorded marks that a call's one record is written: STRING, its stream
// id, kept RecordedTTL ms, so a retried or repeated write adds nothing.
func Recorded(centre, callID string) string { return Prefix(centre) + sfxRecorded + callID }

// RecordedTTL is how long a call's record mark lives (ms): two days, past
// any retry, restart or reconciliation that could write it again.
const RecordedTTL = 48 * 3600 * 1000

// ValidID reports whether s can be used as a centre, topic, skill, language
// or agent id: non-empty, no braces (hash tag), commas or '=' (list
// separators in hashes), no whitespace or colons (key separators).
func ValidID(s string) bool {
	return s != "" && !strings.ContainsAny(s, "{},=: \t\r\n")
}

// Priorities outside [-MaxPriority, MaxPriority] are clamped by Score.
const MaxPriority = 900

// Score encodes a queue position: higher priority first, then earlier
// arrival. score = -priority*1e13 + arrival_ms. 1e13 ms is 316 years, and
// |score| stays below 2^53, so the float64 Redis keeps is exact.
func Score(priority int, arrival time.Time) float64 {
	p := max(-MaxPriority, min(MaxPriority, priority))
	return float64(-p)*1e13 + float64(arrival.UnixMilli())
}

// Ms is t in Unix milliseconds, the unit of every time stored in Redis.
func Ms(t time.Time) int64 { return t.UnixMilli() }

// FromMs turns stored milliseconds back into a time; 0 is the zero time.
func FromMs(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// CallerRecord is one caller as queue and dispatch store it (both packages alias
// this type, so the router builds one value for either).
type CallerRecord struct {
	CallID       string    `json:"call_id"`
	Topic        string    `json:"topic"`
	Skill        string    `json:"skill"`    // operators need this skill; empty means Topic
	Priority     int       `json:"priority"` // higher is served first (topic + menu priority)
	Arrival      time.Time `json:"arrival"`
	Language     string    `json:"language"` // IVR language; operators speaking it are preferred
	CallerNumber string    `json:"caller_number"`
	IVRPath      string    `json:"ivr_path"`
	// MaxQueue rejects the caller with ErrFull when the topic already holds
	// this many waiting callers; 0 means no cap.
	MaxQueue int `json:"-"`
	// App is the Stasis application (one per hotline instance) whose
	// router holds the caller's channel: an instance that claims an
	// operator for this caller forwards the offer there.
	App string `json:"app,omitempty"`
}

// Check reports what is wrong with c, if anything.
func (c CallerRecord) Check() error {
	switch {
	case c.CallID == "" || strings.ContainsAny(c.CallID, "{}"):
		return fmt.Errorf("bad call id %q", c.CallID)
	case !ValidID(c.Topic):
		return fmt.Errorf("call %s: bad topic %q", c.CallID, c.Topic)
	case c.Skill != "" && !ValidID(c.Skill):
		return fmt.Errorf("call %s: bad skill %q", c.CallID, c.Skill)
	case c.Language != "" && !ValidID(c.Language):
		return fmt.Errorf("call %s: bad language %q", c.CallID, c.Language)
	case c.Arrival.IsZero():
		return fmt.Errorf("call %s: no arrival time", c.CallID)
	}
	return nil
}

// CallerArgv is c as the ARGV slice lib.lua's enqueue_caller reads
// (cid topic skill prio arrival score lang number ivr maxq).
func CallerArgv(c CallerRecord) []any {
	skill := c.Skill
	if skill == "" {
		skill = c.Topic
	}
	return []any{
		c.CallID, c.Topic, skill, c.Priority, Ms(c.Arrival),
		strconv.FormatFloat(Score(c.Priority, c.Arrival), 'f', -1, 64),
		c.Language, c.CallerNumber, c.IVRPath, c.MaxQueue, c.App,
	}
}

//go:embed lua/lib.lua
var libLua string

// luaKeys is the Lua twin of the builders above. KEYS[1] is the prefix.
var luaKeys = strings.Join([]string{
	"local P = KEYS[1]",
	fmt.Sprintf("local function k_queue(t) return P .. %q .. t end", sfxQueue),
	fmt.Sprintf("local function k_caller(c) return P .. %q .. c end", sfxCaller),
	fmt.Sprintf("local function k_topics() return P .. %q end", sfxTopics),
	fmt.Sprintf("local function k_skill_topics(s) return P .. %q .. s end", sfxSkillTopics),
	fmt.Sprintf("local function k_agent(a) return P .. %q .. a end", sfxAgent),
	fmt.Sprintf("local function k_agents() return P .. %q end", sfxAgents),
	fmt.Sprintf("local function k_ready(s) return P .. %q .. s end", sfxReady),
	fmt.Sprintf("local function k_ready_lang(s, l) return P .. %q .. s .. ':' .. l end", sfxReady),
	fmt.Sprintf("local function k_staffed(s) return P .. %q .. s end", sfxStaffed),
	fmt.Sprintf("local function k_leases() return P .. %q end", sfxLeases),
	fmt.Sprintf("local function k_wrapups() return P .. %q end", sfxWrapUps),
	fmt.Sprintf("local function k_aht() return P .. %q end", sfxAHT),
	fmt.Sprintf("local function k_routing() return P .. %q end", sfxRouting),
	fmt.Sprintf("local function k_records() return P .. %q end", sfxRecords),
	fmt.Sprintf("local function k_recorded(c) return P .. %q .. c end", sfxRecorded),
	fmt.Sprintf("local function k_owed() return P .. %q end", sfxOwed),
	fmt.Sprintf("local function k_owed_call(c) return P .. %q .. c end", sfxOwedCall),
	"",
}, "\n")

// Lua returns body with the shared library (key helpers and lib.lua)
// prepended; pass the result to redis.NewScript and KEYS[1] = Prefix(centre).
// With KEYS[2] = an operation's key (OpKeys) the body runs at most once per
// operation (op.go).
func Lua(body string) string {
	return luaKeys + luaCallbackKeys + libLua + "\n" + luaOpHead + body + fmt.Sprintf(luaOpTail, OpTTL)
}

// Script loads lua/<name> from a package's embedded scripts with the shared
// library prepended. A missing script is a build mistake, so it panics at
// package initialisation rather than on a live call.
func Script(fsys fs.FS, name string) *redis.Script { return ScriptWith(fsys, "", name) }

// ScriptWith is Script with head (a package's own key functions) between
// the shared library and the script.
func ScriptWith(fsys fs.FS, head, name string) *redis.Script {
	b, err := fs.ReadFile(fsys, "lua/"+name)
	if err != nil {
		panic(err)
	}
	return redis.NewScript(Lua(head + string(b)))
}

// ---------------------------------------------------------------------------
// Callbacks owed to citizens (package callbacks). Kept in one block so the
// queue/dispatch layout above reads on its own; the same hash tag puts them
// in the centre's slot, so one script may touch a callback and its indexes.

const (
	sfxCallback    = "cb:"        // HASH  one callback (see CallbackFields)
	sfxCallbackLog = "cblog:"     // LIST  one callback's history, JSON events, capped
	sfxCbDue       = "cb-due"     // ZSET  id -> due ms; scheduled callbacks only
	sfxCbOpen      = "cb-open"    // ZSET  id -> due ms; every open callback (scheduled..in_flight)
	sfxCbLeases    = "cb-leases"  // ZSET  id -> lease expiry ms; promoting and in_flight
	sfxCbNumber    = "cb-num:"    // HASH  topic -> id; a number's open callbacks (one per topic)
	sfxCbClosed    = "cb-closed"  // ZSET  id -> closed ms; recently closed, capped
	sfxCbCounts    = "cb-counts"  // HASH  status/event -> count (see callbacks.Counts)
	sfxCbRefused   = "cb-refused" // STREAM numbers refused with the reason, capped
)

// CallbackFields documents the callback HASH: number topic lang
// reasons(a,b) qtime(ms) bias(ms) prio status due(ms) created(ms)
// updated(ms) expires(ms) tries note src holder agent lease(ms) closed(ms).
const CallbackFields = "number topic lang reasons qtime bias prio status due created updated expires tries note src holder agent lease closed"

// Callback is one callback owed. HASH, fields CallbackFields.
func Callback(centre, id string) string { return Prefix(centre) + sfxCallback + id }

// CallbackLog is one callback's history. LIST of JSON events, oldest first.
func CallbackLog(centre, id string) string { return Prefix(centre) + sfxCallbackLog + id }

// CallbacksDue indexes scheduled callbacks by due time. ZSET id -> due ms.
func CallbacksDue(centre string) string { return Prefix(centre) + sfxCbDue }

// CallbacksOpen indexes every open callback by due time. ZSET id -> due ms.
func CallbacksOpen(centre string) string { return Prefix(centre) + sfxCbOpen }

// CallbackLeases holds promoting and in-flight callbacks. ZSET id -> expiry ms.
func CallbackLeases(centre string) string { return Prefix(centre) + sfxCbLeases }

// CallbacksByNumber maps an E.164 number's open callbacks. HASH topic -> id.
func CallbacksByNumber(centre, number string) string {
	return Prefix(centre) + sfxCbNumber + number
}

// CallbacksClosed lists recently closed callbacks. ZSET id -> closed ms.
func CallbacksClosed(centre string) string { return Prefix(centre) + sfxCbClosed }

// CallbackCounts holds callback counters. HASH name -> count.
func CallbackCounts(centre string) string { return Prefix(centre) + sfxCbCounts }

// CallbacksRefused records numbers refused for a callback. STREAM.
func CallbacksRefused(centre string) string { return Prefix(centre) + sfxCbRefused }

// luaCallbackKeys is the Lua twin of the callback builders.
var luaCallbackKeys = strings.Join([]string{
	fmt.Sprintf("local function k_cb(id) return P .. %q .. id end", sfxCallback),
	fmt.Sprintf("local function k_cb_log(id) return P .. %q .. id end", sfxCallbackLog),
	fmt.Sprintf("local function k_cb_due() return P .. %q end", sfxCbDue),
	fmt.Sprintf("local function k_cb_open() return P .. %q end", sfxCbOpen),
	fmt.Sprintf("local function k_cb_leases() return P .. %q end", sfxCbLeases),
	fmt.Sprintf("local function k_cb_num(n) return P .. %q .. n end", sfxCbNumber),
	fmt.Sprintf("local function k_cb_closed() return P .. %q end", sfxCbClosed),
	fmt.Sprintf("local function k_cb_counts() return P .. %q end", sfxCbCounts),
	"",
}, "\n")

// Earliest returns the smallest score among the sorted sets keys (each a
// set of deadlines in ms: leases, due times, wrap-up ends) as a time, in
// one round trip; ok is false when all are empty. A sweep that sleeps
// until then, instead of polling, costs nothing while nothing is due.
func Earliest(ctx context.Context, rdb redis.UniversalClient, keys ...string) (at time.Time, ok bool, err error) {
	cmds := make([]*redis.ZSliceCmd, len(keys))
	_, err = rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.ZRangeWithScores(ctx, k, 0, 0)
		}
		return nil
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("rkeys: earliest deadline: %w", err)
	}
	for _, c := range cmds {
		for _, z := range c.Val() {
			t := FromMs(int64(z.Score))
			if !ok || t.Before(at) {
				at, ok = t, true
			}
		}
	}
	return at, ok, nil
}
