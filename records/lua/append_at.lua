-- append_at.lua: one entry of the records stream whose id carries the
-- app's clock, not Redis's: reading "today" or "the last hours" by id then
-- agrees with the clock hotline runs on. Ids must grow, so an entry older
-- than the stream's newest takes the newest's millisecond.
-- KEYS[1]  centre prefix
-- ARGV[1]  stream MAXLEN (approximate)
-- ARGV[2]  the entry's time (ms); 0: Redis's own clock
-- ARGV[3..] the record's field/value pairs
-- Returns the entry's id.
return append_at(tonumber(ARGV[1]), tonumber(ARGV[2]), 3)
