-- Extends a running job's lease, if it is still the caller's.
--
-- KEYS: 1 the job's run lease
-- ARGV: 1 the run's token, 2 how long the lease lasts from now (ms)
-- Returns: 1 renewed, 0 the lease expired (and may be another run's now)
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
