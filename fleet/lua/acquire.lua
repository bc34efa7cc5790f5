-- acquire.lua: take the lease of an application's router.
-- KEYS[1]  centre prefix
-- ARGV[1]  application
-- ARGV[2]  holder: "<application of the process>|<process token>"
-- ARGV[3]  lease ms
-- ARGV[4]  '1': the holder is the application's own instance
-- Returns 1 when the holder has the lease, 0 when another process holds it.
-- A process of the same own application (an earlier run of this instance)
-- is replaced at once, as Asterisk replaces its WebSocket; a survivor that
-- took the application over is asked to give it back (giveback key), and
-- the owner tries again (and no survivor takes the application meanwhile).
-- Work: O(1).
local app, holder, ttl, own = ARGV[1], ARGV[2], ARGV[3], ARGV[4] == '1'
local lk, gk = k_lease(app), k_giveback(app)
local cur = redis.call('GET', lk)
-- The owner is waiting for its application back: no survivor takes it.
if not own and redis.call('EXISTS', gk) == 1 then return 0 end
if cur and cur ~= holder then
  local curApp = string.match(cur, '^(.*)|') or ''
  if not own or curApp ~= app then
    if own then redis.call('SET', gk, holder, 'PX', ttl * 3) end
    return 0
  end
end
redis.call('SET', lk, holder, 'PX', ttl)
redis.call('SADD', k_apps(), app)
if own then redis.call('DEL', gk) end
return 1
