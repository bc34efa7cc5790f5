-- wrapup_extend.lua: the operator needs longer to finish the call's
-- paperwork: the wrap-up ends later, counted from its current end (which
-- another instance may have moved) or from now when that has passed.
-- KEYS[1]  centre prefix
-- ARGV[1]  now (ms)
-- ARGV[2]  lease (ms), unused
-- ARGV[3]  agent id
-- ARGV[4]  how much longer (ms), > 0
-- Returns {code, end}: 1 extended | 0 not in wrap_up | -1 unknown agent.
local now, by = tonumber(ARGV[1]), tonumber(ARGV[4])
local a = load_agent(ARGV[3])
if not a then return { -1, 0 } end
if a.state ~= 'wrap_up' then return { 0, 0 } end
if not by or by <= 0 then return redis.error_reply('wrap-up extension must be positive') end
local till = tonumber(redis.call('ZSCORE', k_wrapups(), a.id) or now)
if till < now then till = now end
till = till + by
redis.call('HSET', k_agent(a.id), 'wrap', till)
redis.call('ZADD', k_wrapups(), till, a.id)
return { 1, till }
