-- enqueue_claim.lua: enqueue a caller and, in the same step, offer the
-- caller the topic serves next (by priority, aged by the topic's rule) to
-- the ready operator with the skill its selection picks (best level or
-- weighted), preferring the caller's language.
-- KEYS[1]  centre prefix
-- ARGV[1]  now (ms)
-- ARGV[2]  lease (ms)
-- ARGV[3..12] caller (rkeys.CallerArgv)
-- Returns {code, reservations}: code = position >= 1 before matching
-- | -1 call id exists | -3 queue full; reservations = list of
-- {cid, aid, seq, expiry, topic, endpoint} (0 or 1 here).
-- Work: O(log n), the rule's HGET, then one ZRANGE per priority band waiting
-- (one without ageing, 16 at most) and one per index (two) or, weighted,
-- per level present (11 at most per index).
local now, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
local pos, cid, topic = enqueue_caller(3, now)
if pos < 0 then return { pos, {} } end
return { pos, push({}, match_topic(topic, now, lease)) }
