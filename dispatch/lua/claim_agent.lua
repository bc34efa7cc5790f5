-- claim_agent.lua: offer a ready operator the best head caller (priority,
-- then arrival) among the topics of its skills.
-- KEYS[1]  centre prefix
-- ARGV[1]  now (ms)
-- ARGV[2]  lease (ms)
-- ARGV[3]  agent id
-- Returns {code, reservations}: 1 | -1 unknown agent.
-- Work: one ZRANGE per topic the operator's skills serve.
local now, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
local a = load_agent(ARGV[3])
if not a then return { -1, {} } end
return { 1, push({}, match_agent(a, now, lease)) }
