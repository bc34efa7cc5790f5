package dispatch_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-acd/hotline/internal/rkeys"
)

// auditScript checks, atomically, that a centre's Redis state keeps the
// invariants listed in lib.lua. ARGV: call ids to check (callers whose
// hash is gone are checked to be nowhere). Returns violation messages.
var auditScript = redis.NewScript(rkeys.Lua(`
local bad = {}
local function fail(msg) bad[#bad + 1] = msg end
local topics = redis.call('SMEMBERS', k_topics())
local leases = {}
for _, cid in ipairs(redis.call('ZRANGE', k_leases(), 0, -1)) do leases[cid] = true end
local ready_count = {}
for _, aid in ipairs(redis.call('SMEMBERS', k_agents())) do
  local a = load_agent(aid)
  local st = a.state
  local VALID = { offline = 1, ready = 1, reserved = 1, on_call = 1, wrap_up = 1, paused = 1 }
  if not VALID[st] then fail(aid .. ' bad state ' .. st) end
  for _, s in ipairs(split(a.skills)) do
    local inr = redis.call('ZSCORE', k_ready(s), aid)
    if (st == 'ready') ~= (inr ~= false) then fail(aid .. ' ready index ' .. s .. ' wrong in ' .. st) end
    if st == 'ready' then ready_count[s] = (ready_count[s] or 0) + 1 end
    for _, l in ipairs(split(a.langs)) do
      local inl = redis.call('ZSCORE', k_ready_lang(s, l), aid)
      if (st == 'ready') ~= (inl ~= false) then fail(aid .. ' lang index wrong in ' .. st) end
    end
    local ins = redis.call('SISMEMBER', k_staffed(s), aid) == 1
    if ins ~= (STAFFED[st] == true) then fail(aid .. ' staffed wrong in ' .. st) end
  end
  local inw = redis.call('ZSCORE', k_wrapups(), aid) ~= false
  if inw ~= (st == 'wrap_up') then fail(aid .. ' wrapups wrong in ' .. st) end
  if st == 'reserved' then
    local c = load_caller(a.call)
    if not c or c.state ~= 'offered' or c.agent ~= aid then fail(aid .. ' reserved for ' .. a.call .. ' which is not offered to it')
    elseif not leases[a.call] then fail(aid .. ' reserved without lease') end
  elseif st == 'on_call' then
    local c = load_caller(a.call)
    if not c or c.state ~= 'connected' or c.agent ~= aid then fail(aid .. ' on_call with ' .. a.call .. ' not connected to it') end
  elseif a.call ~= '' then fail(aid .. ' holds call ' .. a.call .. ' in ' .. st) end
end
for s, n in pairs(ready_count) do
  if redis.call('ZCARD', k_ready(s)) ~= n then fail('ready:' .. s .. ' has extra members') end
end
for _, t in ipairs(topics) do
  for _, cid in ipairs(redis.call('ZRANGE', k_queue(t), 0, -1)) do
    local c = load_caller(cid)
    if not c or c.state ~= 'waiting' or c.topic ~= t then fail(cid .. ' in queue ' .. t .. ' but not waiting there') end
  end
end
for _, cid in ipairs(ARGV) do
  local c = load_caller(cid)
  if c then
    local inq = redis.call('ZSCORE', k_queue(c.topic), cid)
    if c.state == 'waiting' then
      if not inq or tonumber(inq) ~= tonumber(c.score) then fail(cid .. ' waiting but not at its score') end
      if leases[cid] then fail(cid .. ' waiting with a lease') end
    elseif c.state == 'offered' then
      local a = load_agent(c.agent)
      if inq then fail(cid .. ' offered and queued') end
      if not a or a.state ~= 'reserved' or a.call ~= cid then fail(cid .. ' offered to ' .. c.agent .. ' who does not hold it') end
      if not leases[cid] then fail(cid .. ' offered without lease') end
    elseif c.state == 'connected' then
      local a = load_agent(c.agent)
      if inq then fail(cid .. ' connected and queued') end
      if not a or a.state ~= 'on_call' or a.call ~= cid then fail(cid .. ' connected to ' .. c.agent .. ' who is not on it') end
    end
  else
    for _, t in ipairs(topics) do
      if redis.call('ZSCORE', k_queue(t), cid) then fail(cid .. ' gone but queued in ' .. t) end
    end
    if leases[cid] then fail(cid .. ' gone but leased') end
  end
end
return bad
`))

// audit fails t with every invariant the centre's Redis state breaks.
func audit(t testing.TB, rdb redis.UniversalClient, centre string, callIDs ...string) {
	t.Helper()
	args := make([]any, len(callIDs))
	for i, c := range callIDs {
		args[i] = c
	}
	bad, err := auditScript.Run(context.Background(), rdb, []string{rkeys.Prefix(centre)}, args...).StringSlice()
	if err != nil {
		t.Fatalf("audit: %v", err)
	}
	for _, b := range bad {
		t.Errorf("invariant: %s", b)
	}
}
