-- extend.lua: the holder of an attempt renews its lease.
-- KEYS[1]  centre prefix
-- ARGV[1]  now (ms)
-- ARGV[2]  id
-- ARGV[3]  attempt call id
-- ARGV[4]  lease (ms)
-- Returns 1 renewed | -1 unknown | -2 not held by this call.
-- Work: O(log n).
local now, id, call, lease = tonumber(ARGV[1]), ARGV[2], ARGV[3], tonumber(ARGV[4])
local c = cb_load(id)
if not c then return -1 end
if c.status ~= 'in_flight' or c.holder ~= call then return -2 end
redis.call('HSET', k_cb(id), 'lease', now + lease)
redis.call('ZADD', k_cb_leases(), now + lease, id)
return 1
