-- recover.lua: return what expired. Each reservation whose lease ended
-- (its holder died or forgot it): the caller goes back to its original
-- queue position, the operator back to ready with its old idle-since (no
-- miss counted: the fault is not known to be theirs). Each wrap-up past its
-- end: the operator becomes ready (paused when they asked to pause after
-- the call). Then the freed callers and operators are
-- matched again.
-- KEYS[1]  centre prefix
-- ARGV[1]  now (ms)
-- ARGV[2]  lease (ms)
-- ARGV[3]  limit: at most this many leases and this many wrap-ups per call
-- Returns {recovered, wrapped, reservations, more}: recovered = list of
-- {cid, aid, topic}; wrapped = list of agent ids; more = 1 when the limit
-- was hit (call again).
local now, lease, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local recovered, wrapped, out = {}, {}, {}
local more = 0

local expired = redis.call('ZRANGEBYSCORE', k_leases(), '-inf', now, 'LIMIT', 0, limit)
if #expired == limit then more = 1 end
local freed = {}
for _, cid in ipairs(expired) do
  redis.call('ZREM', k_leases(), cid)
  local c = load_caller(cid)
  if c and c.state == 'offered' and c.lease <= now then
    local aid = c.agent
    requeue(c)
    local a = load_agent(aid)
    if a and a.state == 'reserved' and a.call == cid then
      release(a, a.idle, now)
      freed[#freed + 1] = aid
    end
    recovered[#recovered + 1] = { cid, aid, c.topic }
  end
end

local ended = redis.call('ZRANGEBYSCORE', k_wrapups(), '-inf', now, 'LIMIT', 0, limit)
if #ended == limit then more = 1 end
for _, aid in ipairs(ended) do
  redis.call('ZREM', k_wrapups(), aid)
  local a = load_agent(aid)
  if a and a.state == 'wrap_up' then
    wrapped[#wrapped + 1] = aid
    if not after_call(a, now) then
      a.idle = now
      set_state(a, 'ready', now, '')
      freed[#freed + 1] = aid
    end
  end
end

for _, r in ipairs(recovered) do push(out, match_topic(r[3], now, lease)) end
for _, aid in ipairs(freed) do push(out, match_agent(load_agent(aid), now, lease)) end
return { recovered, wrapped, out, more }
