-- schedule.lua: record a callback owed, or merge the request into the
-- number's open callback for the topic (one open per number and topic).
-- KEYS[1]  centre prefix
-- ARGV[1]  now (ms)
-- ARGV[2]  id for a new callback (unused when merging)
-- ARGV[3]  number (E.164, normalised by the caller)
-- ARGV[4]  topic
-- ARGV[5]  language
-- ARGV[6]  reason (abandoned, dropped, ...)
-- ARGV[7]  queue time (ms): the caller's original place in line
-- ARGV[8]  priority
-- ARGV[9]  source call id
-- ARGV[10] note ('' none)
-- ARGV[11] due (ms), already moved into business hours
-- ARGV[12] expiry (ms after the first due time; 0 never)
-- ARGV[13] bias (ms added to the queue time at dispatch)
-- Returns {1, id} created | {0, id} merged into open callback id.
-- Merging keeps the earliest queue time, the highest priority, every
-- reason and note, and the earlier due time of a scheduled callback.
-- Work: O(log n) in the number of open callbacks.
local now = tonumber(ARGV[1])
local number, topic, lang, reason = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local qtime, prio, src, note = tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[9], ARGV[10]
local due, expiry, bias = tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[13])

local oid = redis.call('HGET', k_cb_num(number), topic)
if oid then
  local c = cb_load(oid)
  if c and CB_OPEN[c.status] then
    local v = redis.call('HMGET', k_cb(oid), 'reasons', 'qtime', 'prio', 'note', 'lang')
    local reasons = v[1] or ''
    local has = false
    for r in string.gmatch(reasons, '[^,]+') do if r == reason then has = true end end
    if not has then
      if reasons == '' then reasons = reason else reasons = reasons .. ',' .. reason end
    end
    local oldnote = v[4] or ''
    if note ~= '' and not string.find(oldnote, note, 1, true) and #oldnote < 1000 then
      if oldnote == '' then oldnote = note else oldnote = oldnote .. '; ' .. note end
    end
    local lg = v[5] or ''
    if lg == '' then lg = lang end
    local exp = c.expires
    if exp > 0 then
      if expiry == 0 then exp = 0 else exp = math.max(exp, due + expiry) end
    end
    redis.call('HSET', k_cb(oid), 'reasons', reasons,
      'qtime', math.min(tonumber(v[2]) or qtime, qtime),
      'prio', math.max(tonumber(v[3]) or prio, prio),
      'note', oldnote, 'lang', lg, 'expires', exp, 'updated', now)
    if c.status == 'scheduled' and due < c.due then
      redis.call('HSET', k_cb(oid), 'due', due)
      redis.call('ZADD', k_cb_due(), due, oid)
      redis.call('ZADD', k_cb_open(), due, oid)
    end
    cb_log(oid, now, 'merged', { reason = reason, call = src, detail = note })
    redis.call('HINCRBY', k_cb_counts(), 'merged', 1)
    return { 0, oid }
  end
  redis.call('HDEL', k_cb_num(number), topic) -- stale: heal
end

local id = ARGV[2]
local exp = 0
if expiry > 0 then exp = due + expiry end
redis.call('HSET', k_cb(id), 'number', number, 'topic', topic, 'lang', lang,
  'reasons', reason, 'qtime', qtime, 'bias', bias, 'prio', prio, 'status', 'scheduled',
  'due', due, 'created', now, 'updated', now, 'expires', exp, 'tries', 0,
  'note', note, 'src', src, 'holder', '', 'agent', '', 'lease', 0, 'closed', 0)
redis.call('ZADD', k_cb_due(), due, id)
redis.call('ZADD', k_cb_open(), due, id)
redis.call('HSET', k_cb_num(number), topic, id)
redis.call('HINCRBY', k_cb_counts(), 'created', 1)
redis.call('HINCRBY', k_cb_counts(), 'scheduled', 1)
cb_log(id, now, 'scheduled', { reason = reason, call = src, detail = note })
return { 1, id }
