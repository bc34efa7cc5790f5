-- cblib.lua: helpers shared by the callback scripts. callbacks.script
-- prepends rkeys' key builders and lib.lua before it and the script after.
--
-- Invariants (each script runs atomically):
--   * an open callback (scheduled, promoting, queued, in_flight) is in
--     cb-open at its due time and named in cb-num:<number>[topic]; a closed
--     one is in neither, and is in cb-closed;
--   * a callback is in cb-due iff scheduled; in cb-leases iff promoting,
--     queued (a recheck lease) or in_flight, at its lease expiry;
--   * cb-counts holds, for each open status, how many are in it now, and
--     for each closed status and event (created, merged, attempts, refused)
--     how many ever were.
-- Times are ms passed in ARGV; no script calls TIME.

local CB_OPEN = { scheduled = true, promoting = true, queued = true, in_flight = true }
local CB_LOG_MAX = 200       -- history events kept per callback
local CB_CLOSED_MAX = 10000  -- closed callbacks kept listed

-- cb_load returns the callback's routing fields, or nil.
local function cb_load(id)
  local v = redis.call('HMGET', k_cb(id), 'status', 'number', 'topic', 'tries', 'expires',
    'holder', 'agent', 'lease', 'due')
  if not v[1] then return nil end
  return { id = id, status = v[1], number = v[2] or '', topic = v[3] or '',
    tries = tonumber(v[4]) or 0, expires = tonumber(v[5]) or 0, holder = v[6] or '',
    agent = v[7] or '', lease = tonumber(v[8]) or 0, due = tonumber(v[9]) or 0 }
end

-- cb_log appends one event to the callback's capped history.
local function cb_log(id, now, kind, f)
  f = f or {}
  local ev = { at = now, kind = kind, reason = f.reason or '', call = f.call or '',
    agent = f.agent or '', result = f.result or '', cause = tonumber(f.cause) or 0,
    who = f.who or '', detail = f.detail or '' }
  redis.call('RPUSH', k_cb_log(id), cjson.encode(ev))
  redis.call('LTRIM', k_cb_log(id), -CB_LOG_MAX, -1)
end

-- cb_status moves c to st, keeping cb-counts in step.
local function cb_status(c, st, now)
  if c.status ~= st then
    if CB_OPEN[c.status] then redis.call('HINCRBY', k_cb_counts(), c.status, -1) end
    redis.call('HINCRBY', k_cb_counts(), st, 1)
    c.status = st
  end
  redis.call('HSET', k_cb(c.id), 'status', st, 'updated', now)
end

-- cb_schedule makes c scheduled, due at due.
local function cb_schedule(c, due, now)
  cb_status(c, 'scheduled', now)
  redis.call('HSET', k_cb(c.id), 'due', due, 'holder', '', 'lease', 0)
  redis.call('ZADD', k_cb_due(), due, c.id)
  redis.call('ZADD', k_cb_open(), due, c.id)
  redis.call('ZREM', k_cb_leases(), c.id)
  c.due = due
end

-- cb_close ends c with closed status st; its records expire after
-- retention ms.
local function cb_close(c, st, now, retention)
  cb_status(c, st, now)
  redis.call('HSET', k_cb(c.id), 'closed', now, 'holder', '', 'lease', 0)
  redis.call('ZREM', k_cb_due(), c.id)
  redis.call('ZREM', k_cb_open(), c.id)
  redis.call('ZREM', k_cb_leases(), c.id)
  if redis.call('HGET', k_cb_num(c.number), c.topic) == c.id then
    redis.call('HDEL', k_cb_num(c.number), c.topic)
  end
  redis.call('ZADD', k_cb_closed(), now, c.id)
  redis.call('ZREMRANGEBYRANK', k_cb_closed(), 0, -(CB_CLOSED_MAX + 1))
  if retention > 0 then
    redis.call('PEXPIRE', k_cb(c.id), retention)
    redis.call('PEXPIRE', k_cb_log(c.id), retention)
  end
end
