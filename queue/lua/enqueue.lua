-- enqueue.lua: put a new caller into its topic queue.
-- KEYS[1]  centre prefix hotline:{centre}: (keys are built from it)
-- ARGV[1]  now (ms)
-- ARGV[2..11] caller (rkeys.CallerArgv: cid topic skill prio arrival score lang number ivr maxq)
-- Returns: position >= 1 | -1 call id exists | -3 queue full.
-- Work: O(log n) in the topic's queue length.
local now = tonumber(ARGV[1])
local pos = enqueue_caller(2, now)
return pos
