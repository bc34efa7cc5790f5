-- promote.lua: take due callbacks for dispatch. Each due scheduled
-- callback becomes promoting with a short lease (the router enqueues it
-- into its topic queue and calls mark_queued; if it dies first, recover
-- returns it); one past its expiry becomes unreached instead.
-- KEYS[1]  centre prefix
-- ARGV[1]  now (ms)
-- ARGV[2]  lease (ms)
-- ARGV[3]  limit: at most this many due callbacks per call
-- ARGV[4]  retention (ms) of closed callbacks
-- Returns {promoted ids, unreached ids, more}; more = 1 when the limit was
-- hit (call again).
-- Work: O(limit × log n).
local now, lease, limit, retention = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local ids = redis.call('ZRANGEBYSCORE', k_cb_due(), '-inf', now, 'LIMIT', 0, limit)
local promoted, unreached = {}, {}
for _, id in ipairs(ids) do
  redis.call('ZREM', k_cb_due(), id)
  local c = cb_load(id)
  if c and c.status == 'scheduled' then
    if c.expires > 0 and now >= c.expires then
      cb_log(id, now, 'unreached', { reason = 'expired' })
      cb_close(c, 'unreached', now, retention)
      unreached[#unreached + 1] = id
    else
      cb_status(c, 'promoting', now)
      redis.call('HSET', k_cb(id), 'lease', now + lease, 'holder', '')
      redis.call('ZADD', k_cb_leases(), now + lease, id)
      cb_log(id, now, 'promoted')
      promoted[#promoted + 1] = id
    end
  end
end
local more = 0
if #ids == limit then more = 1 end
return { promoted, unreached, more }
