-- show.lua: an operator's desktop card, as the router holding the call
-- sees it, replaces whatever card the operator had; every desktop is told.
-- KEYS[1]  centre prefix
-- ARGV[1]  operator id
-- ARGV[2]  the entry (JSON: application and card)
-- Returns 1. Work: O(1).
redis.call('HSET', k_cards(), ARGV[1], ARGV[2])
redis.call('SPUBLISH', k_changed(), ARGV[1])
return 1
