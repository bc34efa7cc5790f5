-- rules.lua: put every topic's routing rules in force, replacing the
-- previous set (a topic left out routes by the defaults). Run at start and
-- on each config reload; the same rules give the same state, so a retry or
-- a second instance writing them is harmless.
-- KEYS[1]  centre prefix
-- ARGV[1..] topic, rule pairs (rkeys.RoutingRule: "selection,weight_ms,ageing_ms")
-- Returns the number of topics with rules.
redis.call('DEL', k_routing())
if #ARGV > 0 then redis.call('HSET', k_routing(), unpack(ARGV)) end
return #ARGV / 2
