-- append_once.lua: the one record of a call. Adds the record to the stream
-- unless this call's record is already there (a retry after a timeout, a
-- router and a reconciler both writing it), in the same atomic step as the
-- mark that says so.
-- KEYS[1]  centre prefix
-- ARGV[1]  call id
-- ARGV[2]  stream MAXLEN (approximate)
-- ARGV[3]  mark lifetime (ms)
-- ARGV[4..] the record's field/value pairs
-- Returns {1 written | 0 already there, stream id}.
local mark = k_recorded(ARGV[1])
local prev = redis.call('GET', mark)
if prev then return { 0, prev } end
local id = redis.call('XADD', k_records(), 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 4))
redis.call('SET', mark, id, 'PX', ARGV[3])
return { 1, id }
