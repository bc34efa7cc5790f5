-- wrapup_extend.lua: the operator needs longer to finish the call's
-- paperwork: the wrap-up ends at the new time instead.
-- KEYS[1]  centre prefix
-- ARGV[1]  now (ms)
-- ARGV[2]  lease (ms), unused
-- ARGV[3]  agent id
-- ARGV[4]  new end (ms), after now
-- Returns {code, end}: 1 extended | 0 not in wrap_up | -1 unknown agent.
local now, till = tonumber(ARGV[1]), tonumber(ARGV[4])
local a = load_agent(ARGV[3])
if not a then return { -1, 0 } end
if a.state ~= 'wrap_up' then return { 0, 0 } end
if till <= now then return redis.error_reply('wrap-up end must be after now') end
redis.call('HSET', k_agent(a.id), 'wrap', till)
redis.call('ZADD', k_wrapups(), till, a.id)
return { 1, till }
