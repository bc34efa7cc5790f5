package rkeys

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Operation ids make a mutating script do its work once. A script run with
// KEYS[2] = OpKey(...) stores its reply under that key (for OpTTL) in the
// same atomic step as its writes; run again with the same key it returns
// the stored reply and changes nothing. So a client-side retry after a
// timeout (go-redis retries a read timeout on its own), or a caller that
// retries until Redis is back, cannot apply a step twice, and still learns
// what the first run decided (an offer it made, say).
//
// The key carries the centre's hash tag, so it lives in the centre's slot
// with every key the script touches.

// OpTTL is how long a finished operation's reply is kept, in ms: far longer
// than any retry loop runs.
const OpTTL = 15 * 60 * 1000

const sfxOp = "op:" // STRING  JSON reply of a finished operation (PX OpTTL)

type opCtxKey struct{}

// WithOp returns ctx carrying operation id op: every mutating script run
// under it is applied at most once. Reuse one id across the retries of one
// logical step; derive distinct ids (op+"/ended") for distinct steps.
func WithOp(ctx context.Context, op string) context.Context {
	return context.WithValue(ctx, opCtxKey{}, op)
}

// OpOf returns the operation id ctx carries, if any.
func OpOf(ctx context.Context) (string, bool) {
	op, ok := ctx.Value(opCtxKey{}).(string)
	return op, ok && op != ""
}

// NewOp returns a fresh random operation id.
func NewOp() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // never fails on Linux (crypto/rand's contract)
	return hex.EncodeToString(b[:])
}

// OpKeys returns the KEYS of a run of script s for centre: the prefix and
// the operation's key, from ctx's operation id or a fresh one, so that at
// least go-redis' own retries of this one run are harmless. The key names
// the script too: one operation may run several scripts, each once.
func OpKeys(ctx context.Context, centre string, s *redis.Script) []string {
	op, ok := OpOf(ctx)
	if !ok {
		op = NewOp()
	}
	if strings.ContainsAny(op, "{}") { // a brace would move the key off the centre's slot
		op = braces.Replace(op)
	}
	return []string{Prefix(centre), Prefix(centre) + sfxOp + op + ":" + s.Hash()[:10]}
}

// braces is built once: a Replacer per script run was measurable CPU.
var braces = strings.NewReplacer("{", "", "}", "")

// luaOpHead and luaOpTail wrap a script body: with KEYS[2] set the body runs
// once and its reply is kept as JSON. cjson keeps 14 significant digits,
// enough for the 13 of a millisecond timestamp; nil is kept as JSON null.
const luaOpHead = `local __op = KEYS[2]
if __op then
  local done = redis.call('GET', __op)
  if done then
    local v = cjson.decode(done)
    if v == cjson.null then return nil end
    return v
  end
end
local __reply = (function()
`

const luaOpTail = `
end)()
if __op then
  local enc = 'null'
  if __reply ~= nil then enc = cjson.encode(__reply) end
  redis.call('SET', __op, enc, 'PX', ` + "%d" + `)
end
return __reply
`
