-- abort.lua: an attempt ended before the citizen was dialled (the operator
-- did not answer or left): no attempt is counted and the callback is due
-- again at once.
-- KEYS[1]  centre prefix
-- ARGV[1]  now (ms)
-- ARGV[2]  id
-- ARGV[3]  attempt call id ('' any holder)
-- ARGV[4]  reason
-- Returns 1 due again | 0 already scheduled | -1 unknown | -2 closed |
-- -4 held by another call.
-- Work: O(log n).
local now, id, call, reason = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]
local c = cb_load(id)
if not c then return -1 end
if not CB_OPEN[c.status] then return -2 end
if c.status == 'scheduled' then return 0 end
if call ~= '' and c.status == 'in_flight' and c.holder ~= call then return -4 end
cb_log(id, now, 'aborted', { reason = reason, call = c.holder, agent = c.agent })
cb_schedule(c, now, now)
return 1
