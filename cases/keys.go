package cases

import (
	"fmt"
	"strings"

	"github.com/hotline-acd/hotline/internal/rkeys"
)

// Key suffixes of the cases' keys. They live under the centre's prefix
// (rkeys.Prefix: "hotline:{<centre>}:"), so they share the centre's slot
// and one script may touch a case and every index of it. The Lua helpers
// (luaKeys) are generated from the same constants: do not spell a key
// anywhere else.
//
// They are kept here rather than in internal/rkeys so this package stands
// on its own; the suffixes start "case" and collide with none of rkeys'.
const (
	sfxCase      = "case:"       // HASH   one case (fields below)
	sfxSeq       = "case-seq"    // STRING the centre's case counter (INCR)
	sfxReq       = "case-req:"   // STRING request id -> case number (PX reqTTL)
	sfxAll       = "cases"       // ZSET   number -> opened ms; every case
	sfxByAgent   = "case-agent:" // ZSET   number -> opened ms; one operator's cases
	sfxAgentOpen = "case-aopen:" // ZSET   number -> opened ms; one operator's cases not closed
	sfxByCall    = "case-call:"  // ZSET   number -> opened ms; the cases of one call
	sfxOutbox    = "case-outbox" // ZSET   number -> next try ms, or lease expiry ms while claimed
)

// The case HASH holds: number kind status req call agent citizen topic
// lang org_service organisation category text address symptoms preferred
// service opened(ms) forwarded(ms) closed(ms) closed_by attempts
// last_error next(ms, the outbox score) holder(the live claim) claims.

// reqTTL is how long a request id maps to its case, in ms: a day, far
// longer than the desktop retries one form.
const reqTTL = 24 * 3600 * 1000

func keyCase(centre, number string) string { return rkeys.Prefix(centre) + sfxCase + number }
func keyAll(centre string) string          { return rkeys.Prefix(centre) + sfxAll }
func keyByAgent(centre, agent string) string {
	return rkeys.Prefix(centre) + sfxByAgent + agent
}
func keyAgentOpen(centre, agent string) string {
	return rkeys.Prefix(centre) + sfxAgentOpen + agent
}
func keyByCall(centre, call string) string { return rkeys.Prefix(centre) + sfxByCall + call }
func keyOutbox(centre string) string       { return rkeys.Prefix(centre) + sfxOutbox }

// luaKeys is the Lua twin of the builders above; P (KEYS[1], the prefix)
// is defined by rkeys.Lua.
var luaKeys = strings.Join([]string{
	fmt.Sprintf("local function k_case(n) return P .. %q .. n end", sfxCase),
	fmt.Sprintf("local function k_case_seq() return P .. %q end", sfxSeq),
	fmt.Sprintf("local function k_case_req(r) return P .. %q .. r end", sfxReq),
	fmt.Sprintf("local function k_cases() return P .. %q end", sfxAll),
	fmt.Sprintf("local function k_case_agent(a) return P .. %q .. a end", sfxByAgent),
	fmt.Sprintf("local function k_case_aopen(a) return P .. %q .. a end", sfxAgentOpen),
	fmt.Sprintf("local function k_case_call(c) return P .. %q .. c end", sfxByCall),
	fmt.Sprintf("local function k_case_outbox() return P .. %q end", sfxOutbox),
	"",
}, "\n")
