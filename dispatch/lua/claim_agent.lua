-- claim_agent.lua: offer a ready operator the caller served next among the
-- topics of its skills: highest effective priority (aged by each topic's
-- rule), then earliest arrival.
-- KEYS[1]  centre prefix
-- ARGV[1]  now (ms)
-- ARGV[2]  lease (ms)
-- ARGV[3]  agent id
-- Returns {code, reservations}: 1 | -1 unknown agent.
-- Work: one HMGET of the rules, then one ZRANGE per topic the operator's
-- skills serve (per priority band waiting in a topic with ageing, 16 at
-- most).
local now, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
local a = load_agent(ARGV[3])
if not a then return { -1, {} } end
return { 1, push({}, match_agent(a, now, lease)) }
