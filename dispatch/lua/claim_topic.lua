-- claim_topic.lua: offer the caller a topic serves next to the ready
-- operator its rule picks.
-- KEYS[1]  centre prefix
-- ARGV[1]  now (ms)
-- ARGV[2]  lease (ms)
-- ARGV[3]  topic
-- Returns the list of reservations made (0 or 1).
local now, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
return push({}, match_topic(ARGV[3], now, lease))
