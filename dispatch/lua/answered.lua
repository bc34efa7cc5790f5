-- answered.lua: the operator answered the offer: reservation -> on_call,
-- caller connected, lease cleared, misses reset.
-- KEYS[1]  centre prefix
-- ARGV[1]  now (ms)
-- ARGV[2]  call id
-- ARGV[3]  agent id
-- ARGV[4]  reservation seq
-- Returns 1 ok | -1 unknown call (caller gone) | -2 the reservation is not
-- (or no longer) this operator's.
-- A lease that has expired but not yet been recovered is still honoured.
local now = tonumber(ARGV[1])
local code, c, a = check_reservation(ARGV[2], ARGV[3], tonumber(ARGV[4]))
if code < 0 then return code end
redis.call('ZREM', k_leases(), c.id)
redis.call('HSET', k_caller(c.id), 'state', 'connected', 'lease', 0, 'answered', now)
redis.call('HSET', k_agent(a.id), 'lease', 0, 'misses', 0, 'answered', now)
set_state(a, 'on_call', now, '')
return 1
