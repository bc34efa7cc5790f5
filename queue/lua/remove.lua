-- remove.lua: take a caller out of its queue if it is still waiting.
-- KEYS[1]  centre prefix
-- ARGV[1]  call id
-- Returns {state, agent}: state "waiting" (removed and deleted),
-- "offered"/"connected" (left alone; agent holds it), "" unknown call.
local c = load_caller(ARGV[1])
if not c then return { '', '' } end
if c.state == 'waiting' then
  redis.call('ZREM', k_queue(c.topic), c.id)
  redis.call('DEL', k_caller(c.id))
  return { 'waiting', '' }
end
return { c.state, c.agent }
