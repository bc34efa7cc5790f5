-- failed.lua: a delivery failed (non-2xx, timeout, refused connection, no
-- webhook); count the attempt and reschedule it after a doubling backoff.
-- KEYS[1]  centre prefix
-- KEYS[2]  operation key (rkeys.OpKeys)
-- ARGV[1]  now (ms)
-- ARGV[2]  case number
-- ARGV[3]  claim (from claim.lua)
-- ARGV[4]  error, one line
-- ARGV[5]  first backoff (ms)
-- ARGV[6]  longest backoff (ms)
-- Returns {code, attempts, next try ms}: 1 rescheduled | 0 already
-- delivered | -1 unknown | -2 the claim is no longer the live one (its
-- lease lapsed and another instance holds the delivery): nothing changed.
-- Work: O(log n).
local now, n, claim, err = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]
local base, cap = tonumber(ARGV[5]), tonumber(ARGV[6])
local c = case_load(n)
if not c then
  redis.call('ZREM', k_case_outbox(), n)
  return { -1, 0, 0 }
end
if c.forwarded > 0 then return { 0, c.attempts, 0 } end
if c.holder ~= claim then return { -2, c.attempts, 0 } end
local attempts = c.attempts + 1
local delay = base
for _ = 2, attempts do
  if delay >= cap then break end
  delay = delay * 2
end
if delay > cap then delay = cap end
local nxt = now + delay
redis.call('HSET', k_case(n), 'attempts', attempts, 'last_error', err, 'holder', '', 'next', nxt)
redis.call('ZADD', k_case_outbox(), nxt, n)
return { 1, attempts, nxt }
