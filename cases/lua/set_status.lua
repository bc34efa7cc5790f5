-- set_status.lua: a person changes a case's status. Only closing is a
-- person's to do (registered or forwarded -> closed); forwarded is set by
-- delivery and nothing leaves closed. A closed case still pending delivery
-- keeps its delivery: the service still gets it.
-- KEYS[1]  centre prefix
-- KEYS[2]  operation key (rkeys.OpKeys)
-- ARGV[1]  now (ms)
-- ARGV[2]  case number
-- ARGV[3]  new status
-- ARGV[4]  who (operator or supervisor id)
-- Returns {code, old status}: 1 changed | 0 already in it | -1 unknown |
-- -2 not allowed from the old status.
-- Work: O(log n).
local now, n, st, who = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]
local c = case_load(n)
if not c then return { -1, '' } end
if c.status == st then return { 0, c.status } end
if st ~= 'closed' or (c.status ~= 'registered' and c.status ~= 'forwarded') then
  return { -2, c.status }
end
redis.call('HSET', k_case(n), 'status', 'closed', 'closed', now, 'closed_by', who)
redis.call('ZREM', k_case_aopen(c.agent), n)
return { 1, c.status }
