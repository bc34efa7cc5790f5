-- ready.lua: operator becomes ready (from offline, paused or wrap_up; a
-- no-op when ready) and is offered the best waiting caller, atomically.
-- KEYS[1]  centre prefix
-- ARGV[1]  now (ms)
-- ARGV[2]  lease (ms)
-- ARGV[3]  agent id
-- Returns {code, state before, reservations}: code 1 changed | 0 already
-- ready | -1 unknown agent | -2 not allowed (reserved, on_call).
local now, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
local a = load_agent(ARGV[3])
if not a then return { -1, '', {} } end
local before = a.state
local code = transition(a, 'ready', '', now)
if code < 0 then return { code, before, {} } end
return { code, before, push({}, match_agent(a, now, lease)) }
