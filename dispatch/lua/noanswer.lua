-- noanswer.lua: the offer failed (ring timeout, decline, unreachable).
-- The caller goes back to its original queue position; the operator counts
-- a miss and, once the caller has been matched with the other ready
-- operators (so others are tried first, whatever their level), is ready
-- again with idle-since = now, or paused "no_answer" after max
-- consecutive misses.
-- KEYS[1]  centre prefix
-- ARGV[1]  now (ms)
-- ARGV[2]  lease (ms)
-- ARGV[3]  call id
-- ARGV[4]  agent id
-- ARGV[5]  reservation seq
-- ARGV[6]  max consecutive misses (0: never pause)
-- ARGV[7]  "offline": the operator's phone is unreachable: log it out
--          instead (no miss counted)
-- Returns {code, paused (0|1), reservations}: code 1 | -1 unknown call |
-- -2 not this operator's reservation.
local now, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
local code, c, a = check_reservation(ARGV[3], ARGV[4], tonumber(ARGV[5]))
if code < 0 then return { code, 0, {} } end
requeue(c)
local paused = 0
redis.call('HSET', k_agent(a.id), 'call', '', 'lease', 0)
if ARGV[7] == 'offline' then
  set_state(a, 'offline', now, 'unreachable')
  return { 1, 0, push({}, match_topic(c.topic, now, lease)) }
end
local misses = redis.call('HINCRBY', k_agent(a.id), 'misses', 1)
local maxm = tonumber(ARGV[6]) or 0
if maxm > 0 and misses >= maxm then
  set_state(a, 'paused', now, 'no_answer')
  paused = 1
end
-- Others first: the caller is matched while this operator is not ready
-- yet. A fresh idle-since is not enough once levels band the ready index
-- (a level 8 who let it ring would be first again, ahead of a free 5).
local out = push({}, match_topic(c.topic, now, lease))
if paused == 0 then
  a.idle = now
  set_state(a, 'ready', now, '')
  push(out, match_agent(load_agent(a.id), now, lease))
end
return { 1, paused, out }
