-- ended.lua: the operator's call ended. on_call -> wrap_up until
-- wrap_until, or straight to ready (and offered the next caller) when
-- wrap_until <= now; paused instead when the operator asked to pause
-- after this call. Updates the topic's average handle time (EWMA, 0.2)
-- and deletes the caller record.
-- KEYS[1]  centre prefix
-- ARGV[1]  now (ms)
-- ARGV[2]  lease (ms)
-- ARGV[3]  agent id
-- ARGV[4]  wrap-up end (ms)
-- ARGV[5]  the call that ended ('' any): a late or repeated Ended for an
--          earlier call must not end the operator's next conversation
-- Returns {code, call id, reservations}: 1 | -1 unknown agent | -2 not on
-- a call | -3 on another call.
local now, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
local wrap = tonumber(ARGV[4])
local a = load_agent(ARGV[3])
if not a then return { -1, '', {} } end
if a.state ~= 'on_call' then return { -2, '', {} } end
if ARGV[5] and ARGV[5] ~= '' and a.call ~= ARGV[5] then return { -3, a.call, {} } end
local cid = a.call
local topic = redis.call('HGET', k_caller(cid), 'topic')
if topic then
  local answered = tonumber(redis.call('HGET', k_agent(a.id), 'answered')) or now
  local handle = math.max(0, now - answered) + math.max(0, wrap - now)
  local old = tonumber(redis.call('HGET', k_aht(), topic))
  local aht = handle
  if old then aht = old + 0.2 * (handle - old) end
  redis.call('HSET', k_aht(), topic, math.floor(aht))
end
-- The call's record is owed from here: what Redis knows of the call goes
-- into the outbox, which the record's write empties (append_once.lua). A
-- router that dies before writing it leaves it to the reconciler. A
-- callback's queue entry is not a call (its attempt writes its own).
if string.sub(cid, 1, 3) ~= 'cb-' then
  local c = redis.call('HGETALL', k_caller(cid))
  if #c > 0 then
    redis.call('HSET', k_owed_call(cid), unpack(c))
  end
  redis.call('HSET', k_owed_call(cid), 'outcome', 'answered', 'agent', a.id, 'ended', now,
    'answered', redis.call('HGET', k_agent(a.id), 'answered') or 0)
  redis.call('PEXPIRE', k_owed_call(cid), 172800000)
  redis.call('ZADD', k_owed(), now, cid)
end
redis.call('DEL', k_caller(cid))
redis.call('HSET', k_agent(a.id), 'call', '')
if wrap > now then
  redis.call('HSET', k_agent(a.id), 'wrap', wrap)
  set_state(a, 'wrap_up', now, '')
  redis.call('ZADD', k_wrapups(), wrap, a.id)
  return { 1, cid, {} }
end
if after_call(a, now) then return { 1, cid, {} } end
a.idle = now
set_state(a, 'ready', now, '')
return { 1, cid, push({}, match_agent(a, now, lease)) }
