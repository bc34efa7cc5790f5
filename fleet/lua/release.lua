-- release.lua: give a lease up.
-- KEYS[1]  centre prefix
-- ARGV[1]  application, ARGV[2] holder
-- ARGV[3]  '1': forget the application too (a taken-over one that holds
--          no call any more, whose instance has not come back)
-- Returns 1 when the holder had the lease. Work: O(1).
local lk = k_lease(ARGV[1])
if redis.call('GET', lk) ~= ARGV[2] then return 0 end
redis.call('DEL', lk)
if ARGV[3] == '1' and redis.call('EXISTS', k_giveback(ARGV[1])) == 0 then
  redis.call('SREM', k_apps(), ARGV[1])
end
return 1
