-- mark_queued.lua: the router put a promoted callback into its topic queue
-- (as caller "cb-<id>"); it waits there with no lease, like any caller.
-- KEYS[1]  centre prefix
-- ARGV[1]  now (ms)
-- ARGV[2]  id
-- Returns {code, status}: 1 queued | 0 already queued | -1 unknown |
-- -2 not promoting or scheduled (status says what it is).
-- Work: O(log n).
local now, id = tonumber(ARGV[1]), ARGV[2]
local c = cb_load(id)
if not c then return { -1, '' } end
if c.status == 'queued' then return { 0, c.status } end
if c.status ~= 'promoting' and c.status ~= 'scheduled' then return { -2, c.status } end
cb_status(c, 'queued', now)
redis.call('HSET', k_cb(id), 'lease', 0, 'holder', '')
redis.call('ZREM', k_cb_leases(), id)
redis.call('ZREM', k_cb_due(), id)
cb_log(id, now, 'queued')
return { 1, c.status }
