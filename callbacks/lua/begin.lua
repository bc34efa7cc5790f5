-- begin.lua: an attempt starts (an operator is rung, the citizen will be
-- dialled). Refused while another holder's lease is live, so a callback
-- is never attempted twice at once.
-- KEYS[1]  centre prefix
-- ARGV[1]  now (ms)
-- ARGV[2]  id
-- ARGV[3]  attempt call id (the holder)
-- ARGV[4]  agent id
-- ARGV[5]  lease (ms)
-- Returns {code, status, holder}: 1 begun | 0 already this holder's
-- (lease renewed) | -1 unknown | -2 closed | -3 busy (holder's lease live).
-- Work: O(log n).
local now, id, call, agent, lease = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local c = cb_load(id)
if not c then return { -1, '', '' } end
if not CB_OPEN[c.status] then return { -2, c.status, '' } end
if c.status == 'in_flight' then
  if c.holder == call then
    redis.call('HSET', k_cb(id), 'lease', now + lease)
    redis.call('ZADD', k_cb_leases(), now + lease, id)
    return { 0, c.status, call }
  end
  if c.lease > now then return { -3, c.status, c.holder } end
  cb_log(id, now, 'interrupted', { call = c.holder, agent = c.agent, result = 'interrupted' })
end
cb_status(c, 'in_flight', now)
redis.call('HSET', k_cb(id), 'holder', call, 'agent', agent, 'lease', now + lease)
redis.call('ZADD', k_cb_leases(), now + lease, id)
redis.call('ZREM', k_cb_due(), id)
cb_log(id, now, 'attempt_started', { call = call, agent = agent })
return { 1, c.status, call }
