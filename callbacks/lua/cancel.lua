-- cancel.lua: a supervisor cancels an open callback.
-- KEYS[1]  centre prefix
-- ARGV[1]  now (ms)
-- ARGV[2]  id
-- ARGV[3]  who
-- ARGV[4]  retention (ms) of closed callbacks
-- Returns {code, previous status}: 1 cancelled | -1 unknown | -2 closed |
-- -3 an attempt is under way (its lease is live).
-- Work: O(log n).
local now, id, who, retention = tonumber(ARGV[1]), ARGV[2], ARGV[3], tonumber(ARGV[4])
local c = cb_load(id)
if not c then return { -1, '' } end
if not CB_OPEN[c.status] then return { -2, c.status } end
if c.status == 'in_flight' and c.lease > now then return { -3, c.status } end
local prev = c.status
cb_log(id, now, 'cancelled', { who = who })
cb_close(c, 'cancelled', now, retention)
return { 1, prev }
