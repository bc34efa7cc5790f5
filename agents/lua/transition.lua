-- transition.lua: an operator's own state request.
-- KEYS[1]  centre prefix
-- ARGV[1]  now (ms)
-- ARGV[2]  agent id
-- ARGV[3]  op: login | logout | pause | ready
-- ARGV[4]  reason (pause, logout)
-- Returns {code, state before}: code 1 changed | 0 no-op | -1 unknown agent
-- | -2 not allowed from that state.
local now = tonumber(ARGV[1])
local a = load_agent(ARGV[2])
if not a then return { -1, '' } end
local before = a.state
return { transition(a, ARGV[3], ARGV[4], now), before }
