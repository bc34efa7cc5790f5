-- renew.lua: keep a lease.
-- KEYS[1]  centre prefix
-- ARGV[1]  application, ARGV[2] holder, ARGV[3] lease ms
-- Returns 0 when the lease is no longer the holder's (it expired and
-- another process took it: stop acting for the application now), 2 when
-- the owner asks for it back, else 1. Work: O(1).
local lk = k_lease(ARGV[1])
if redis.call('GET', lk) ~= ARGV[2] then return 0 end
redis.call('PEXPIRE', lk, ARGV[3])
if redis.call('EXISTS', k_giveback(ARGV[1])) == 1 then return 2 end
return 1
