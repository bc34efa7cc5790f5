-- list.lua: the first callers waiting in a topic, in serving order.
-- KEYS[1]  centre prefix
-- ARGV[1]  topic
-- ARGV[2]  limit (the caller bounds it)
-- Returns a list of {cid, skill, prio, arrival, lang, number, ivr, enq}.
local ids = redis.call('ZRANGE', k_queue(ARGV[1]), 0, tonumber(ARGV[2]) - 1)
local out = {}
for i, cid in ipairs(ids) do
  local v = redis.call('HMGET', k_caller(cid), 'skill', 'prio', 'arrival', 'lang', 'number', 'ivr', 'enq')
  out[i] = { cid, v[1] or '', v[2] or '0', v[3] or '0', v[4] or '', v[5] or '', v[6] or '', v[7] or '0' }
end
return out
