-- renew.lua: keep a lease.
-- KEYS[1]  centre prefix
-- ARGV[1]  application, ARGV[2] holder, ARGV[3] lease ms
-- Returns 0 when the lease is another process's (it ran out and another
-- process took it: stop acting for the application now), 2 when the owner
-- asks for it back, else 1. A lease that ran out with nobody taking it
-- (Redis was away longer than the lease, or a failover lost the key) is
-- taken again: the holder never stopped acting for the application, and
-- survivors wait two checks before taking an absent lease, so the holder
-- is first. A survivor does not take again what the owner wants back.
-- Work: O(1).
local app, holder, ttl = ARGV[1], ARGV[2], ARGV[3]
local lk, gk = k_lease(app), k_giveback(app)
local cur = redis.call('GET', lk)
if cur == holder then
  redis.call('PEXPIRE', lk, ttl)
elseif cur then
  return 0
else
  local own = (string.match(holder, '^(.*)|') or '') == app
  if not own and redis.call('EXISTS', gk) == 1 then return 0 end
  redis.call('SET', lk, holder, 'PX', ttl)
  redis.call('SADD', k_apps(), app)
end
if redis.call('EXISTS', gk) == 1 then return 2 end
return 1
