-- caller_gone.lua: the caller hung up (or was taken elsewhere). Waiting:
-- leaves the queue. Offered: the operator is released at once with its
-- old idle-since (it was not at fault) and offered the next caller.
-- Connected: left alone (the call's end is reported by ended.lua).
-- KEYS[1]  centre prefix
-- ARGV[1]  now (ms)
-- ARGV[2]  lease (ms)
-- ARGV[3]  call id
-- Returns {state before ("" unknown), agent, reservations}.
local now, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
local c = load_caller(ARGV[3])
if not c then return { '', '', {} } end
if c.state == 'waiting' then
  redis.call('ZREM', k_queue(c.topic), c.id)
  redis.call('DEL', k_caller(c.id))
  return { 'waiting', '', {} }
end
if c.state == 'connected' then return { 'connected', c.agent, {} } end
-- offered
redis.call('ZREM', k_leases(), c.id)
redis.call('DEL', k_caller(c.id))
local out = {}
local a = load_agent(c.agent)
if a and a.state == 'reserved' and a.call == c.id then
  release(a, a.idle, now)
  push(out, match_agent(a, now, lease))
end
return { 'offered', c.agent, out }
