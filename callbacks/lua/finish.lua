-- finish.lua: record an attempt's result. reached closes the callback;
-- any other result counts an attempt and schedules the next one, or makes
-- the callback unreached when attempts or time have run out.
-- KEYS[1]  centre prefix
-- ARGV[1]  now (ms)
-- ARGV[2]  id
-- ARGV[3]  attempt call id
-- ARGV[4]  agent id
-- ARGV[5]  result (reached, no_answer, busy, ...)
-- ARGV[6]  cause (hang-up cause code, 0 none)
-- ARGV[7]  final: 1 when the result rules out retrying (unallocated number)
-- ARGV[8]  max attempts
-- ARGV[9]  retention (ms) of closed callbacks
-- ARGV[10..] due time (ms) of the next attempt after k attempts, k = 1..
-- Returns {code, status}: 1 recorded (status is the new one) | -1 unknown |
-- -2 closed | -4 not held by this call or agent (a late result; only
-- reached is still taken).
-- Work: O(log n).
local now, id, call, agent = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]
local result, cause, final = ARGV[5], tonumber(ARGV[6]), ARGV[7] == '1'
local maxa, retention = tonumber(ARGV[8]), tonumber(ARGV[9])
local c = cb_load(id)
if not c then return { -1, '' } end
if not CB_OPEN[c.status] then return { -2, c.status } end
local held = c.status == 'in_flight' and (c.holder == call or (agent ~= '' and c.agent == agent))
local f = { call = call, agent = agent, result = result, cause = cause }
if result == 'reached' then
  cb_log(id, now, 'attempt', f)
  redis.call('HINCRBY', k_cb(id), 'tries', 1)
  redis.call('HINCRBY', k_cb_counts(), 'attempts', 1)
  cb_close(c, 'reached', now, retention)
  return { 1, 'reached' }
end
if not held then return { -4, c.status } end
local tries = c.tries + 1
redis.call('HSET', k_cb(id), 'tries', tries)
redis.call('HINCRBY', k_cb_counts(), 'attempts', 1)
cb_log(id, now, 'attempt', f)
local due = tonumber(ARGV[9 + tries])
local why = ''
if final then why = result
elseif tries >= maxa then why = 'max_attempts'
elseif due == nil then why = 'max_attempts'
elseif c.expires > 0 and due >= c.expires then why = 'expired' end
if why ~= '' then
  cb_log(id, now, 'unreached', { reason = why })
  cb_close(c, 'unreached', now, retention)
  return { 1, 'unreached' }
end
cb_schedule(c, due, now)
return { 1, 'scheduled' }
