-- wrapup_done.lua: wrap-up is over (its time ran out, or the operator
-- said done): wrap_up -> ready, offered the next caller, or paused when the
-- operator asked to pause after this call. A no-op in any other state (the operator paused, or recovery or
-- the operator got there first), so a late timer is harmless.
-- KEYS[1]  centre prefix
-- ARGV[1]  now (ms)
-- ARGV[2]  lease (ms)
-- ARGV[3]  agent id
-- ARGV[4]  "due": end it only if its time ran out; else "now"
-- Returns {code, reservations}: 1 done | 0 not in wrap_up | -1 unknown agent.
local now, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
local a = load_agent(ARGV[3])
if not a then return { -1, {} } end
if a.state ~= 'wrap_up' then return { 0, {} } end
if ARGV[4] == 'due' then
  local till = redis.call('ZSCORE', k_wrapups(), a.id)
  if till and tonumber(till) > now then return { 0, {} } end
end
redis.call('ZREM', k_wrapups(), a.id)
if after_call(a, now) then return { 1, {} } end
a.idle = now
set_state(a, 'ready', now, '')
return { 1, push({}, match_agent(a, now, lease)) }
