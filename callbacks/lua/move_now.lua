-- move_now.lua: a supervisor brings a scheduled callback forward to now.
-- KEYS[1]  centre prefix
-- ARGV[1]  now (ms)
-- ARGV[2]  id
-- ARGV[3]  who
-- Returns {code, status}: 1 due now | 0 already on its way (promoting,
-- queued or in flight) | -1 unknown | -2 closed.
-- Work: O(log n).
local now, id, who = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local c = cb_load(id)
if not c then return { -1, '' } end
if not CB_OPEN[c.status] then return { -2, c.status } end
if c.status ~= 'scheduled' then return { 0, c.status } end
cb_log(id, now, 'moved', { who = who, detail = tostring(c.due) })
cb_schedule(c, now, now)
return { 1, c.status }
