-- clear.lua: a call's card leaves its operator's desktop, unless the
-- operator's card is another call's by now (that call's router showed it
-- first: the order in which two routers write is not the calls' order).
-- KEYS[1]  centre prefix
-- ARGV[1]  operator id
-- ARGV[2]  call id of the card to take away
-- Returns 1 when the card went, 0 when the operator had another (or none).
-- Work: O(1).
local v = redis.call('HGET', k_cards(), ARGV[1])
if not v then return 0 end
local ok, e = pcall(cjson.decode, v)
if ok and type(e) == 'table' and type(e.card) == 'table' and e.card.call_id ~= ARGV[2] then return 0 end
redis.call('HDEL', k_cards(), ARGV[1])
redis.call('SPUBLISH', k_changed(), ARGV[1])
return 1
