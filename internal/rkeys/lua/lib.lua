-- lib.lua: helpers shared by every hotline script. rkeys.Lua prepends the
-- generated key builders (P = KEYS[1], k_queue, k_caller, ...) before this
-- file and the script body after it.
--
-- Invariants the helpers keep (each script runs atomically):
--   * a waiting caller is in exactly one queue ZSET, at its original score;
--     an offered or connected caller is in none;
--   * an agent is in its ready:<skill>[:<lang>] ZSETs iff its state is ready;
--   * an agent is in staffed:<skill> iff its state is ready, reserved,
--     on_call or wrap_up; in wrapups iff wrap_up;
--   * a reservation is (caller.state=offered, caller.agent=A, caller.seq)
--     + (agent.state=reserved, agent.call=C) + leases[C] = expiry.
-- Times are ms passed in ARGV; no script calls TIME.

local function split(s)
  local t = {}
  if s == nil or s == false or s == '' then return t end
  for part in string.gmatch(s, '[^,]+') do t[#t + 1] = part end
  return t
end

local STAFFED = { ready = true, reserved = true, on_call = true, wrap_up = true }

-- load_agent returns a table of the agent's routing fields, or nil.
local function load_agent(aid)
  local v = redis.call('HMGET', k_agent(aid), 'state', 'skills', 'langs', 'idle', 'call',
    'misses', 'endpoint', 'lease')
  if not v[1] then return nil end
  return { id = aid, state = v[1], skills = v[2] or '', langs = v[3] or '',
    idle = tonumber(v[4]) or 0, call = v[5] or '', misses = tonumber(v[6]) or 0,
    endpoint = v[7] or '', lease = tonumber(v[8]) or 0 }
end

-- load_caller returns a table of the caller's routing fields, or nil.
local function load_caller(cid)
  local v = redis.call('HMGET', k_caller(cid), 'state', 'topic', 'skill', 'lang', 'score',
    'agent', 'seq', 'lease')
  if not v[1] then return nil end
  return { id = cid, state = v[1], topic = v[2] or '', skill = v[3] or '', lang = v[4] or '',
    score = v[5] or '0', agent = v[6] or '', seq = tonumber(v[7]) or 0, lease = tonumber(v[8]) or 0 }
end

local function index_ready(a, on)
  local langs = split(a.langs)
  for _, s in ipairs(split(a.skills)) do
    if on then
      redis.call('ZADD', k_ready(s), a.idle, a.id)
      for _, l in ipairs(langs) do redis.call('ZADD', k_ready_lang(s, l), a.idle, a.id) end
    else
      redis.call('ZREM', k_ready(s), a.id)
      for _, l in ipairs(langs) do redis.call('ZREM', k_ready_lang(s, l), a.id) end
    end
  end
end

local function index_staffed(a, on)
  for _, s in ipairs(split(a.skills)) do
    if on then redis.call('SADD', k_staffed(s), a.id) else redis.call('SREM', k_staffed(s), a.id) end
  end
end

-- set_state moves agent a to state st, keeping every index in step. For
-- st == 'ready', a.idle must already hold the idle-since to index by.
local function set_state(a, st, now, reason)
  local old = a.state
  if old == 'ready' then index_ready(a, false) end
  if old == 'wrap_up' and st ~= 'wrap_up' then redis.call('ZREM', k_wrapups(), a.id) end
  if STAFFED[old] and not STAFFED[st] then index_staffed(a, false) end
  if STAFFED[st] and not STAFFED[old] then index_staffed(a, true) end
  if st == 'ready' then
    index_ready(a, true)
    redis.call('HSET', k_agent(a.id), 'idle', a.idle)
  end
  a.state = st
  redis.call('HSET', k_agent(a.id), 'state', st, 'since', now, 'reason', reason or '')
end

-- after_call: an operator asked to pause after this call ("pause_next"
-- holds the reason): paused instead of ready. Returns true when paused.
local function after_call(a, now)
  local reason = redis.call('HGET', k_agent(a.id), 'pause_next')
  if not reason or reason == '' then return false end
  redis.call('HSET', k_agent(a.id), 'pause_next', '')
  set_state(a, 'paused', now, reason)
  return true
end

-- transition applies an operator's own request. op: login|logout|pause|ready.
-- Returns 1 changed, 0 already there (no-op), -2 not allowed from a.state.
local function transition(a, op, reason, now)
  local st = a.state
  if op == 'login' then
    if st == 'ready' then return 0 end
    if st ~= 'offline' then return -2 end
    a.idle = now
    redis.call('HSET', k_agent(a.id), 'misses', 0)
    set_state(a, 'ready', now, '')
    return 1
  elseif op == 'ready' then
    if st == 'ready' then return 0 end
    if st ~= 'offline' and st ~= 'paused' and st ~= 'wrap_up' then return -2 end
    redis.call('HSET', k_agent(a.id), 'pause_next', '')
    a.idle = now
    redis.call('HSET', k_agent(a.id), 'misses', 0)
    set_state(a, 'ready', now, '')
    return 1
  elseif op == 'pause' then
    if st ~= 'ready' and st ~= 'paused' and st ~= 'wrap_up' then return -2 end
    redis.call('HSET', k_agent(a.id), 'pause_next', '')
    set_state(a, 'paused', now, reason)
    return 1
  elseif op == 'pause_next' then
    -- reason '' takes the request back.
    if st ~= 'reserved' and st ~= 'on_call' and st ~= 'wrap_up' then return -2 end
    redis.call('HSET', k_agent(a.id), 'pause_next', reason)
    return 1
  elseif op == 'logout' then
    if st == 'offline' then return 0 end
    if st ~= 'ready' and st ~= 'paused' and st ~= 'wrap_up' then return -2 end
    redis.call('HSET', k_agent(a.id), 'pause_next', '')
    set_state(a, 'offline', now, reason)
    return 1
  end
  return redis.error_reply('unknown op ' .. tostring(op))
end

-- enqueue_caller stores a new waiting caller from ARGV[i..i+9] (rkeys.CallerArgv).
-- Returns position (>=1), -1 the call id already exists, -3 the queue is full.
local function enqueue_caller(i, now)
  local cid, topic, skill = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local ck = k_caller(cid)
  if redis.call('EXISTS', ck) == 1 then return -1, cid, topic end
  local qk = k_queue(topic)
  local maxq = tonumber(ARGV[i + 9]) or 0
  if maxq > 0 and redis.call('ZCARD', qk) >= maxq then return -3, cid, topic end
  redis.call('HSET', ck, 'topic', topic, 'skill', skill, 'prio', ARGV[i + 3],
    'arrival', ARGV[i + 4], 'score', ARGV[i + 5], 'lang', ARGV[i + 6],
    'number', ARGV[i + 7], 'ivr', ARGV[i + 8], 'state', 'waiting', 'seq', 0, 'enq', now)
  redis.call('ZADD', qk, ARGV[i + 5], cid)
  redis.call('SADD', k_skill_topics(skill), topic)
  redis.call('SADD', k_topics(), topic)
  return redis.call('ZRANK', qk, cid) + 1, cid, topic
end

-- requeue puts an offered caller back at its original score.
local function requeue(c)
  redis.call('HSET', k_caller(c.id), 'state', 'waiting', 'agent', '', 'lease', 0)
  redis.call('ZADD', k_queue(c.topic), c.score, c.id)
  redis.call('ZREM', k_leases(), c.id)
  c.state = 'waiting'
end

-- release returns a reserved agent to ready with the given idle-since.
local function release(a, idle, now)
  a.idle = idle
  redis.call('HSET', k_agent(a.id), 'call', '', 'lease', 0)
  set_state(a, 'ready', now, '')
end

-- reserve offers waiting caller c to ready agent a until now+lease.
-- Returns the reservation {callID, agentID, seq, expiry, topic, endpoint}.
local function reserve(c, a, now, lease)
  local exp = now + lease
  redis.call('ZREM', k_queue(c.topic), c.id)
  local seq = redis.call('HINCRBY', k_caller(c.id), 'seq', 1)
  redis.call('HSET', k_caller(c.id), 'state', 'offered', 'agent', a.id, 'lease', exp, 'offered', now)
  set_state(a, 'reserved', now, '')
  redis.call('HSET', k_agent(a.id), 'call', c.id, 'lease', exp)
  redis.call('ZADD', k_leases(), exp, c.id)
  return { c.id, a.id, seq, exp, c.topic, a.endpoint }
end

-- best_agent: longest-idle ready agent with the skill, preferring one who
-- speaks lang. Two ZRANGEs at most.
local function best_agent(skill, lang)
  if lang ~= '' then
    local r = redis.call('ZRANGE', k_ready_lang(skill, lang), 0, 0)
    if r[1] then return r[1] end
  end
  local r = redis.call('ZRANGE', k_ready(skill), 0, 0)
  return r[1]
end

-- match_topic offers the topic's head caller to the best ready agent.
-- Returns a reservation or nil.
local function match_topic(topic, now, lease)
  local h = redis.call('ZRANGE', k_queue(topic), 0, 0)
  if not h[1] then return nil end
  local c = load_caller(h[1])
  if not c or c.state ~= 'waiting' then
    -- cannot happen while the invariants hold; heal rather than loop
    redis.call('ZREM', k_queue(topic), h[1])
    return nil
  end
  local aid = best_agent(c.skill, c.lang)
  if not aid then return nil end
  local a = load_agent(aid)
  if not a or a.state ~= 'ready' then
    redis.call('ZREM', k_ready(c.skill), aid)
    if c.lang ~= '' then redis.call('ZREM', k_ready_lang(c.skill, c.lang), aid) end
    return nil
  end
  return reserve(c, a, now, lease)
end

-- match_agent offers the best head caller (priority, then arrival) among
-- the topics of a's skills to a, if a is ready. Returns a reservation or nil.
-- Work: one ZRANGE per (skill, topic) pair the agent serves.
local function match_agent(a, now, lease)
  if not a or a.state ~= 'ready' then return nil end
  local best, best_score
  for _, s in ipairs(split(a.skills)) do
    for _, t in ipairs(redis.call('SMEMBERS', k_skill_topics(s))) do
      local h = redis.call('ZRANGE', k_queue(t), 0, 0, 'WITHSCORES')
      if h[1] then
        local sc = tonumber(h[2])
        if best == nil or sc < best_score or (sc == best_score and h[1] < best) then
          best, best_score = h[1], sc
        end
      end
    end
  end
  if not best then return nil end
  local c = load_caller(best)
  if not c or c.state ~= 'waiting' then return nil end
  return reserve(c, a, now, lease)
end

-- check_reservation: does (cid, aid, seq) still name a live reservation?
-- seq 0 matches any offer of cid to aid (for callers that kept no seq).
-- Returns code, caller, agent: 1 yes | -1 unknown call | -2 not theirs.
local function check_reservation(cid, aid, seq)
  local c = load_caller(cid)
  if not c then return -1 end
  local a = load_agent(aid)
  if c.state ~= 'offered' or c.agent ~= aid or (seq ~= 0 and c.seq ~= seq) or not a
      or a.state ~= 'reserved' or a.call ~= cid then
    return -2, c, a
  end
  return 1, c, a
end

-- push appends reservation r (if any) to list out.
local function push(out, r)
  if r then out[#out + 1] = r end
  return out
end

-- append_at adds ARGV[first..] to the records stream with an id at ms
-- (the app's clock; 0: Redis's), never below the newest entry's.
local function append_at(maxlen, ms, first)
  local id = '*'
  if ms and ms > 0 then
    local last = redis.call('XREVRANGE', k_records(), '+', '-', 'COUNT', 1)
    if #last > 0 then
      local lastms = tonumber(string.match(last[1][1], '^(%d+)')) or 0
      if ms < lastms then ms = lastms end
    end
    id = string.format('%d-*', ms)
  end
  return redis.call('XADD', k_records(), 'MAXLEN', '~', maxlen, id, unpack(ARGV, first))
end
