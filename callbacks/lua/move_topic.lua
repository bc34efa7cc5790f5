-- move_topic.lua: a supervisor moves an open callback to another topic. It
-- keeps its reasons, attempts, original queue time, priority and expiry;
-- the topic and the number's index of open callbacks by topic change. A
-- callback whose entry "cb-<id>" waits in a topic queue leaves that queue
-- in this same step and is due now: promotion puts it into the new topic's
-- queue at its original place (with the new topic's skill and callback
-- mode), so it is never offered from both queues, and a crash after this
-- script leaves a due callback that any instance's sweep promotes. One on
-- its way is refused: promoting (a router is putting it into a queue), in
-- flight (an attempt holds it), or its entry offered to or talking with an
-- operator.
-- KEYS[1]  centre prefix
-- ARGV[1]  now (ms)
-- ARGV[2]  id
-- ARGV[3]  topic to move it to (checked by the caller)
-- ARGV[4]  who
-- Returns {code, status, detail}: 1 moved (status: the one it had; detail:
-- the old topic) | 0 already in that topic | -1 unknown | -2 closed | -3 on
-- its way (status; detail: its queue entry's state, '' none) | -5 the
-- number has another open callback in that topic (detail: its id).
-- Work: O(log n).
local now, id, topic, who = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]
local c = cb_load(id)
if not c then return { -1, '', '' } end
if not CB_OPEN[c.status] then return { -2, c.status, '' } end
if c.topic == topic then return { 0, c.status, '' } end
if c.status == 'promoting' or c.status == 'in_flight' then return { -3, c.status, '' } end
local entry = load_caller('cb-' .. id) -- callbacks.CallIDPrefix
if entry and entry.state ~= 'waiting' then return { -3, c.status, entry.state } end
local other = redis.call('HGET', k_cb_num(c.number), topic)
if other and other ~= id then
  local o = cb_load(other)
  if o and CB_OPEN[o.status] then return { -5, c.status, other } end
  redis.call('HDEL', k_cb_num(c.number), topic) -- stale: heal
end
local from, prev = c.topic, c.status
if redis.call('HGET', k_cb_num(c.number), from) == id then
  redis.call('HDEL', k_cb_num(c.number), from)
end
redis.call('HSET', k_cb_num(c.number), topic, id)
redis.call('HSET', k_cb(id), 'topic', topic)
cb_log(id, now, 'moved_topic', { who = who, detail = from })
if entry then
  -- as caller_gone.lua takes a waiting caller out of its queue
  redis.call('ZREM', k_queue(entry.topic), entry.id)
  redis.call('DEL', k_caller(entry.id))
end
if entry or c.status == 'queued' then
  cb_schedule(c, now, now)
else
  redis.call('HSET', k_cb(id), 'updated', now)
end
return { 1, prev, from }
