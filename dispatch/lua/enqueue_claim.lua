-- enqueue_claim.lua: enqueue a caller and, in the same step, offer the
-- topic's head caller to the best ready operator (longest idle with the
-- skill, preferring the caller's language).
-- KEYS[1]  centre prefix
-- ARGV[1]  now (ms)
-- ARGV[2]  lease (ms)
-- ARGV[3..12] caller (rkeys.CallerArgv)
-- Returns {code, reservations}: code = position >= 1 before matching
-- | -1 call id exists | -3 queue full; reservations = list of
-- {cid, aid, seq, expiry, topic, endpoint} (0 or 1 here).
-- Work: O(log n) plus two ZRANGEs.
local now, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
local pos, cid, topic = enqueue_caller(3, now)
if pos < 0 then return { pos, {} } end
return { pos, push({}, match_topic(topic, now, lease)) }
