-- release.lua: give an offer back now, as recover.lua does when its lease
-- ends: its holder is known to be gone (a router restarted and found no
-- ringing leg for it), so nobody waits out the lease. The caller goes back
-- to its original queue position, the operator to ready with its old
-- idle-since (no miss: the fault is not theirs); both are matched again.
-- KEYS[1]  centre prefix
-- ARGV[1]  now (ms)
-- ARGV[2]  lease (ms)
-- ARGV[3]  call id
-- Returns {1 released | 0 not offered, reservations}.
local now, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
local c = load_caller(ARGV[3])
if not c or c.state ~= 'offered' then return { 0, {} } end
local aid = c.agent
requeue(c)
local out = {}
local a = load_agent(aid)
if a and a.state == 'reserved' and a.call == c.id then
  release(a, a.idle, now)
  push(out, match_agent(load_agent(aid), now, lease))
end
push(out, match_topic(c.topic, now, lease))
return { 1, out }
