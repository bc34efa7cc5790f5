-- open.lua: store a new case, index it and, when it goes to a service with
-- a webhook, put its delivery in the outbox — all in one step. A request
-- id already seen returns the case it opened and changes nothing.
-- KEYS[1]  centre prefix
-- KEYS[2]  operation key (rkeys.OpKeys)
-- ARGV[1]  now (ms)
-- ARGV[2]  date of now in the centre's zone, yyyymmdd (for the number)
-- ARGV[3]  request id ('' none)
-- ARGV[4]  1: enqueue a delivery due now | 0: none
-- ARGV[5]  agent id
-- ARGV[6]  call id
-- ARGV[7]  how long the request id is remembered (ms)
-- ARGV[8..] field, value pairs of the case HASH (listed in keys.go), without
--          number, status, opened, forwarded, closed, attempts, next
-- Returns {1, number} opened | {0, number} the request id's earlier case.
-- Work: O(log n) (a lost counter: up to 1000 numbers skipped).
local now, date, req, enqueue = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4] == '1'
local agent, call, reqttl = ARGV[5], ARGV[6], tonumber(ARGV[7])

if req ~= '' then
  local seen = redis.call('GET', k_case_req(req))
  if seen and redis.call('EXISTS', k_case(seen)) == 1 then return { 0, seen } end
end

-- The counter never repeats; should it have been lost (a restore from an
-- older backup), skip numbers already taken rather than overwrite a case.
local number
for _ = 1, 1000 do
  number = string.format('K-%s-%04d', date, redis.call('INCR', k_case_seq()))
  if redis.call('EXISTS', k_case(number)) == 0 then break end
end
if redis.call('EXISTS', k_case(number)) == 1 then
  return redis.error_reply('cases: no free case number after 1000 tries')
end
local ck = k_case(number)
local nxt = 0
if enqueue then nxt = now end
redis.call('HSET', ck, 'number', number, 'status', 'registered', 'opened', now,
  'forwarded', 0, 'closed', 0, 'closed_by', '', 'attempts', 0, 'last_error', '',
  'next', nxt, 'holder', '', 'claims', 0, 'req', req, 'agent', agent, 'call', call)
for i = 8, #ARGV, 2 do
  redis.call('HSET', ck, ARGV[i], ARGV[i + 1])
end
redis.call('ZADD', k_cases(), now, number)
redis.call('ZADD', k_case_agent(agent), now, number)
redis.call('ZADD', k_case_aopen(agent), now, number)
redis.call('ZADD', k_case_call(call), now, number)
if enqueue then redis.call('ZADD', k_case_outbox(), now, number) end
if req ~= '' then redis.call('SET', k_case_req(req), number, 'PX', reqttl) end
return { 1, number }
