-- mark_queued.lua: the router put a promoted callback into its topic queue
-- (as caller "cb-<id>"); it waits there like any caller. A long recheck
-- lease stands in for the queue entry: should the entry vanish without an
-- attempt (a release after a failed Begin), recover makes the callback due
-- again, and promoting it again finds the entry or puts it back.
-- KEYS[1]  centre prefix
-- ARGV[1]  now (ms)
-- ARGV[2]  id
-- ARGV[3]  recheck (ms)
-- Returns {code, status}: 1 queued | 0 already queued | -1 unknown |
-- -2 not promoting or scheduled (status says what it is).
-- Work: O(log n).
local now, id, recheck = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local c = cb_load(id)
if not c then return { -1, '' } end
if c.status == 'queued' then return { 0, c.status } end
if c.status ~= 'promoting' and c.status ~= 'scheduled' then return { -2, c.status } end
cb_status(c, 'queued', now)
redis.call('HSET', k_cb(id), 'lease', now + recheck, 'holder', '')
redis.call('ZADD', k_cb_leases(), now + recheck, id)
redis.call('ZREM', k_cb_due(), id)
cb_log(id, now, 'queued')
return { 1, c.status }
