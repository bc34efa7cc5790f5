-- caselib.lua: helpers shared by the case scripts. cases.script prepends
-- rkeys' key builders and lib.lua, then keys.go's k_case* builders, before
-- it and the script after.
--
-- Invariants (each script runs atomically):
--   * every case is in cases, case-agent:<agent> and case-call:<call> at
--     its opening time; in case-aopen:<agent> iff not closed;
--   * a case is in case-outbox iff it has a service, has not been
--     delivered (forwarded = 0) and was enqueued: at its next try time, or
--     while claimed at its lease expiry (so an expired claim is simply due);
--   * holder names the live claim (instance/claims), '' when none.
-- Times are ms passed in ARGV; no script calls TIME.

-- case_load returns the case's delivery fields, or nil.
local function case_load(n)
  local v = redis.call('HMGET', k_case(n), 'status', 'agent', 'forwarded', 'holder', 'attempts', 'service')
  if not v[1] then return nil end
  return { number = n, status = v[1], agent = v[2] or '', forwarded = tonumber(v[3]) or 0,
    holder = v[4] or '', attempts = tonumber(v[5]) or 0, service = v[6] or '' }
end
