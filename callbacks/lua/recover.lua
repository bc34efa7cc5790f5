-- recover.lua: return callbacks whose holder vanished. Each promoting or
-- in-flight callback whose lease ended goes back to scheduled, due now,
-- with an "interrupted" event (not counted as an attempt: whether the
-- citizen was dialled is unknown); a queued one whose recheck lease ended
-- likewise, with a "recheck" event; one past its expiry becomes unreached.
-- KEYS[1]  centre prefix
-- ARGV[1]  now (ms)
-- ARGV[2]  limit: at most this many leases per call
-- ARGV[3]  retention (ms) of closed callbacks
-- Returns {recovered ids, unreached ids, more}.
-- Work: O(limit × log n).
local now, limit, retention = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local ids = redis.call('ZRANGEBYSCORE', k_cb_leases(), '-inf', now, 'LIMIT', 0, limit)
local recovered, unreached = {}, {}
for _, id in ipairs(ids) do
  redis.call('ZREM', k_cb_leases(), id)
  local c = cb_load(id)
  if c and (c.status == 'promoting' or c.status == 'in_flight' or c.status == 'queued') and c.lease <= now then
    if c.status == 'queued' then
      cb_log(id, now, 'recheck')
    else
      cb_log(id, now, 'interrupted', { call = c.holder, agent = c.agent, result = 'interrupted',
        detail = c.status })
    end
    if c.expires > 0 and now >= c.expires then
      cb_log(id, now, 'unreached', { reason = 'expired' })
      cb_close(c, 'unreached', now, retention)
      unreached[#unreached + 1] = id
    else
      cb_schedule(c, now, now)
      recovered[#recovered + 1] = id
    end
  end
end
local more = 0
if #ids == limit then more = 1 end
return { recovered, unreached, more }
