-- sync.lua: register or update one operator from config, keeping its state.
-- KEYS[1]  centre prefix
-- ARGV[1]  now (ms)
-- ARGV[2..7] id name endpoint skills(a,b) levels(5,3) langs(ru,kk)
-- Returns 1 created (offline) | 0 updated (state kept, indexes rebuilt).
local now = tonumber(ARGV[1])
local id = ARGV[2]
local key = k_agent(id)
local a = load_agent(id)
if not a then
  redis.call('HSET', key, 'name', ARGV[3], 'endpoint', ARGV[4], 'skills', ARGV[5],
    'levels', ARGV[6], 'langs', ARGV[7], 'state', 'offline', 'reason', '', 'since', now,
    'idle', now, 'call', '', 'lease', 0, 'misses', 0)
  redis.call('SADD', k_agents(), id)
  return 1
end
-- take the agent out of the indexes built from its old skills, then back in
local st = a.state
if st == 'ready' then index_ready(a, false) end
if STAFFED[st] then index_staffed(a, false) end
a.skills, a.levels, a.langs = ARGV[5], ARGV[6], ARGV[7]
redis.call('HSET', key, 'name', ARGV[3], 'endpoint', ARGV[4], 'skills', ARGV[5],
  'levels', ARGV[6], 'langs', ARGV[7])
if st == 'ready' then index_ready(a, true) end
if STAFFED[st] then index_staffed(a, true) end
return 0
