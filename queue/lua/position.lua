-- position.lua: where a caller stands, and what the wait estimate needs.
-- KEYS[1]  centre prefix
-- ARGV[1]  call id
-- Returns {state, topic, position (0 unless waiting), agent, aht_ms (0: no data), staffed,
--          lang, queue time ms, ivr path, answered ms (0: not yet), enqueued ms,
--          number, app}
-- or {''} for an unknown call. Work: O(log n).
-- The tail lets a restarted router resume a call it did not start with the
-- caller's real times, language and menu path.
local c = load_caller(ARGV[1])
if not c then return { '' } end
local pos = 0
if c.state == 'waiting' then
  local r = redis.call('ZRANK', k_queue(c.topic), c.id)
  if r then pos = r + 1 end
end
local aht = tonumber(redis.call('HGET', k_aht(), c.topic)) or 0
local staffed = redis.call('SCARD', k_staffed(c.skill))
local x = redis.call('HMGET', k_caller(c.id), 'arrival', 'ivr', 'answered', 'enq', 'number', 'app')
return { c.state, c.topic, pos, c.agent, math.floor(aht), staffed,
  c.lang, x[1] or '0', x[2] or '', x[3] or '0', x[4] or '0', x[5] or '', x[6] or '' }
