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
    'misses', 'endpoint', 'lease', 'levels')
  if not v[1] then return nil end
  return { id = aid, state = v[1], skills = v[2] or '', langs = v[3] or '',
    idle = tonumber(v[4]) or 0, call = v[5] or '', misses = tonumber(v[6]) or 0,
    endpoint = v[7] or '', lease = tonumber(v[8]) or 0, levels = v[9] or '' }
end

-- load_caller returns a table of the caller's routing fields, or nil.
local function load_caller(cid)
  local v = redis.call('HMGET', k_caller(cid), 'state', 'topic', 'skill', 'lang', 'score',
    'agent', 'seq', 'lease')
  if not v[1] then return nil end
  return { id = cid, state = v[1], topic = v[2] or '', skill = v[3] or '', lang = v[4] or '',
    score = v[5] or '0', agent = v[6] or '', seq = tonumber(v[7]) or 0, lease = tonumber(v[8]) or 0 }
end

-- BAND is the width of one band of a banded score: 1e13 ms (316 years)
-- holds any timestamp, and every banded score stays below 2^53 (exact in
-- the float64 Redis keeps). Queue scores band by priority (rkeys.Score),
-- ready-index scores by skill level (ready_score).
local BAND = 1e13

-- ready_score: an operator's score in ready:<skill>[:<lang>]: the skill's
-- level (1..10) bands it, highest first, and idle-since orders each band,
-- longest idle first (rkeys.ReadyScore). ZRANGE 0 0 is the best level's
-- longest-idle operator; a record with no levels is level 0, last.
local function ready_score(level, idle) return -level * BAND + idle end

-- band_of splits a banded score into its band (priority or level) and
-- the time that orders it within the band (arrival or idle-since).
local function band_of(score)
  local b = -math.floor(score / BAND)
  return b, score + b * BAND
end

local function index_ready(a, on)
  local langs = split(a.langs)
  local levels = split(a.levels)
  for i, s in ipairs(split(a.skills)) do
    if on then
      local sc = ready_score(tonumber(levels[i]) or 0, a.idle)
      redis.call('ZADD', k_ready(s), sc, a.id)
      for _, l in ipairs(langs) do redis.call('ZADD', k_ready_lang(s, l), sc, a.id) end
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
    'number', ARGV[i + 7], 'ivr', ARGV[i + 8], 'state', 'waiting', 'seq', 0, 'enq', now,
    'app', ARGV[i + 10] or '')
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

-- rule_of parses a topic's routing rule (rkeys.RoutingRule). Absent or
-- malformed, it is the default: best level, no ageing.
local function rule_of(v)
  local sel, w, age = string.match(v or '', '^([%w_]+),(%d+),(%d+)$')
  if not sel then return { weighted = false, weight = 0, ageing = 0 } end
  return { weighted = sel == 'weighted', weight = tonumber(w), ageing = tonumber(age) }
end

-- pick_ready picks from one ready index by the topic's rule. best_level:
-- the index head (highest level, then longest idle). weighted: the lowest
-- idle-since - level*weight, that is the greatest (idle time + level *
-- weight), ties to the higher level; each level's head (its longest idle)
-- is a candidate, so one ZRANGEBYSCORE per level present, 11 at most.
local function pick_ready(key, rule)
  if not rule.weighted then
    return redis.call('ZRANGE', key, 0, 0)[1]
  end
  local best, best_m
  local from = '-inf'
  for _ = 1, 11 do
    local r = redis.call('ZRANGEBYSCORE', key, from, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
    if not r[1] then break end
    local lvl, idle = band_of(tonumber(r[2]))
    local m = idle - lvl * rule.weight
    if best == nil or m < best_m then best, best_m = r[1], m end
    if lvl <= 0 then break end
    from = -(lvl - 1) * BAND
  end
  return best
end

-- best_agent: the ready agent with the skill the rule picks, preferring
-- one who speaks lang (never waiting for one): language before level.
local function best_agent(skill, lang, rule)
  if lang ~= '' then
    local r = pick_ready(k_ready_lang(skill, lang), rule)
    if r then return r end
  end
  return pick_ready(k_ready(skill), rule)
end

-- MAX_BANDS bounds an ageing topic's scan: one ZRANGEBYSCORE per distinct
-- priority waiting in it (the topic's plus each menu's extra priority, a
-- handful); lower priorities past it are left for the next match.
local MAX_BANDS = 16

-- effective is a waiting caller's priority at now: one step more per
-- ageing ms waited (fractional: ordering needs no rounding), none when
-- ageing is 0.
local function effective(prio, arrival, ageing, now)
  if ageing <= 0 then return prio end
  return prio + math.max(0, now - arrival) / ageing
end

-- ahead: is caller (e1, a1, id1) served before (e2, a2, id2)? Higher
-- effective priority, then earlier arrival, then id (the queue's own
-- order for equal scores).
local function ahead(e1, a1, id1, e2, a2, id2)
  if e1 ~= e2 then return e1 > e2 end
  if a1 ~= a2 then return a1 < a2 end
  return id1 < id2
end

-- head_of returns the caller a topic serves next at now, its effective
-- priority and arrival; nil when none waits. Without ageing it is the
-- queue's head (priority, then arrival), as always. With ageing the oldest
-- caller of each priority band is a candidate (a band's order never
-- changes: all its callers age alike) and the highest effective wins.
local function head_of(topic, rule, now)
  local q = k_queue(topic)
  local h = redis.call('ZRANGE', q, 0, 0, 'WITHSCORES')
  if not h[1] then return nil end
  local p, arr = band_of(tonumber(h[2]))
  local best, best_e, best_a = h[1], effective(p, arr, rule.ageing, now), arr
  if rule.ageing <= 0 then return best, best_e, best_a end
  for _ = 2, MAX_BANDS do
    local r = redis.call('ZRANGEBYSCORE', q, -(p - 1) * BAND, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
    if not r[1] then break end
    p, arr = band_of(tonumber(r[2]))
    local e = effective(p, arr, rule.ageing, now)
    if ahead(e, arr, r[1], best_e, best_a, best) then best, best_e, best_a = r[1], e, arr end
  end
  return best, best_e, best_a
end

-- match_topic offers the caller the topic serves next (head_of) to the
-- ready agent its rule picks. Returns a reservation or nil.
-- Work: one HGET of the rule, head_of, best_agent.
local function match_topic(topic, now, lease)
  local rule = rule_of(redis.call('HGET', k_routing(), topic))
  local cid = head_of(topic, rule, now)
  if not cid then return nil end
  local c = load_caller(cid)
  if not c or c.state ~= 'waiting' then
    -- cannot happen while the invariants hold; heal rather than loop
    redis.call('ZREM', k_queue(topic), cid)
    return nil
  end
  local aid = best_agent(c.skill, c.lang, rule)
  if not aid then return nil end
  local a = load_agent(aid)
  if not a or a.state ~= 'ready' then
    redis.call('ZREM', k_ready(c.skill), aid)
    if c.lang ~= '' then redis.call('ZREM', k_ready_lang(c.skill, c.lang), aid) end
    return nil
  end
  return reserve(c, a, now, lease)
end

-- match_agent offers a, if ready, the caller served next among the topics
-- of a's skills: each topic's head_of, highest effective priority, then
-- earliest arrival. Returns a reservation or nil.
-- Work: one SMEMBERS per skill, one HMGET of the rules, one head_of per
-- topic.
local function match_agent(a, now, lease)
  if not a or a.state ~= 'ready' then return nil end
  local topics, seen = {}, {}
  for _, s in ipairs(split(a.skills)) do
    for _, t in ipairs(redis.call('SMEMBERS', k_skill_topics(s))) do
      if not seen[t] then
        seen[t] = true
        topics[#topics + 1] = t
      end
    end
  end
  if #topics == 0 then return nil end
  local rules = redis.call('HMGET', k_routing(), unpack(topics))
  local best, best_e, best_a
  for i, t in ipairs(topics) do
    local cid, e, arr = head_of(t, rule_of(rules[i]), now)
    if cid and (best == nil or ahead(e, arr, cid, best_e, best_a, best)) then
      best, best_e, best_a = cid, e, arr
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
