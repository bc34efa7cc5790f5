-- delivered.lua: the receiver accepted a delivery (2xx). Marking it and
-- taking it out of the outbox is one step, so an accepted case is never
-- sent again. Accepted from any claim, even one whose lease lapsed: the
-- receiver has it.
-- KEYS[1]  centre prefix
-- KEYS[2]  operation key (rkeys.OpKeys)
-- ARGV[1]  now (ms)
-- ARGV[2]  case number
-- Returns {code, status}: 1 marked | 0 already delivered | -1 unknown.
-- A registered case becomes forwarded; a closed one stays closed.
-- Work: O(log n).
local now, n = tonumber(ARGV[1]), ARGV[2]
local c = case_load(n)
if not c then
  redis.call('ZREM', k_case_outbox(), n)
  return { -1, '' }
end
if c.forwarded > 0 then return { 0, c.status } end
local st = c.status
if st == 'registered' then st = 'forwarded' end
redis.call('HSET', k_case(n), 'status', st, 'forwarded', now, 'holder', '', 'next', 0,
  'last_error', '', 'attempts', c.attempts + 1)
redis.call('ZREM', k_case_outbox(), n)
return { 1, st }
