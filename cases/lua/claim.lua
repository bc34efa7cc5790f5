-- claim.lua: take due deliveries for one instance under a lease. A claimed
-- delivery stays in the outbox, rescored to its lease expiry: if its holder
-- dies it simply falls due again and another instance claims it.
-- KEYS[1]  centre prefix
-- KEYS[2]  operation key (rkeys.OpKeys)
-- ARGV[1]  now (ms)
-- ARGV[2]  lease (ms); longer than a delivery's request timeout
-- ARGV[3]  limit: at most this many deliveries
-- ARGV[4]  instance id
-- Returns {{number, claim}, ...}: claim ("<instance>/<n>") is what
-- failed.lua checks, so an expired claim cannot reschedule a newer one.
-- Entries of delivered or vanished cases are dropped (healing).
-- Work: O(limit × log n).
local now, lease, limit, inst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local due = redis.call('ZRANGEBYSCORE', k_case_outbox(), '-inf', now, 'LIMIT', 0, limit)
local out = {}
for _, n in ipairs(due) do
  local c = case_load(n)
  if not c or c.forwarded > 0 or c.service == '' then
    redis.call('ZREM', k_case_outbox(), n)
  else
    local claims = redis.call('HINCRBY', k_case(n), 'claims', 1)
    local claim = inst .. '/' .. claims
    redis.call('HSET', k_case(n), 'holder', claim, 'next', now + lease)
    redis.call('ZADD', k_case_outbox(), now + lease, n)
    out[#out + 1] = { n, claim }
  end
end
return out
