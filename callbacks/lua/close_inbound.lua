-- close_inbound.lua: the number called in and was served; its open
-- callbacks (of one topic, or all) close as reached_inbound.
-- KEYS[1]  centre prefix
-- ARGV[1]  now (ms)
-- ARGV[2]  number (E.164)
-- ARGV[3]  topic ('' every topic)
-- ARGV[4]  the inbound call id
-- ARGV[5]  retention (ms) of closed callbacks
-- Returns a list of {id, previous status, topic}.
-- Work: O(topics of the number × log n).
local now, number, topic, call, retention = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local kv = redis.call('HGETALL', k_cb_num(number))
local out = {}
for i = 1, #kv, 2 do
  local t, id = kv[i], kv[i + 1]
  if topic == '' or t == topic then
    local c = cb_load(id)
    if c and CB_OPEN[c.status] then
      local prev = c.status
      cb_log(id, now, 'reached_inbound', { call = call })
      cb_close(c, 'reached_inbound', now, retention)
      out[#out + 1] = { id, prev, t }
    else
      redis.call('HDEL', k_cb_num(number), t)
    end
  end
end
return out
