-- append_once.lua: the one record of a call. Adds the record to the stream
-- unless this call's record is already there (a retry after a timeout, a
-- router and a reconciler both writing it), in the same atomic step as the
-- mark that says so, and indexes it by the citizen's number (their last
-- contacts, for the operator's card) and by operator (their day). The call
-- is no longer in the outbox of records owed (dispatch's ended.lua).
-- KEYS[1]  centre prefix
-- ARGV[1]  call id
-- ARGV[2]  stream MAXLEN (approximate)
-- ARGV[3]  mark lifetime (ms)
-- ARGV[4]  the number's index key suffix ('' none)
-- ARGV[5]  the operator ('' none)
-- ARGV[6]  the call's time (ms), the indexes' score
-- ARGV[7]  index lifetime (ms)
-- ARGV[8]  the stream entry's time (ms, the app's clock; 0: Redis's)
-- ARGV[9..] the record's field/value pairs
-- Returns {1 written | 0 already there, stream id}.
local mark = k_recorded(ARGV[1])
-- Written (now or before): no longer owed.
redis.call('ZREM', k_owed(), ARGV[1])
redis.call('DEL', k_owed_call(ARGV[1]))
local prev = redis.call('GET', mark)
if prev then return { 0, prev } end
local id = append_at(tonumber(ARGV[2]), tonumber(ARGV[8]), 9)
redis.call('SET', mark, id, 'PX', ARGV[3])
local at, ttl = tonumber(ARGV[6]), tonumber(ARGV[7])
local function index(key, keep)
  redis.call('ZADD', key, at, id)
  redis.call('ZREMRANGEBYRANK', key, 0, -keep - 1)
  redis.call('PEXPIRE', key, ttl)
end
if ARGV[4] ~= '' then index(KEYS[1] .. 'recnum:' .. ARGV[4], 50) end
if ARGV[5] ~= '' then index(KEYS[1] .. 'recagent:' .. ARGV[5], 1000) end
return { 1, id }
