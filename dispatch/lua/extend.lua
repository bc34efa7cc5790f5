-- extend.lua: renew a reservation's lease (a long ring).
-- KEYS[1]  centre prefix
-- ARGV[1]  now (ms)
-- ARGV[2]  lease (ms); new expiry = now + lease
-- ARGV[3]  call id
-- ARGV[4]  agent id
-- ARGV[5]  reservation seq
-- Returns {code, expiry}: 1 | -1 unknown call | -2 not theirs.
local now, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
local code, c, a = check_reservation(ARGV[3], ARGV[4], tonumber(ARGV[5]))
if code < 0 then return { code, 0 } end
local exp = now + lease
redis.call('HSET', k_caller(c.id), 'lease', exp)
redis.call('HSET', k_agent(a.id), 'lease', exp)
redis.call('ZADD', k_leases(), exp, c.id)
return { 1, exp }
