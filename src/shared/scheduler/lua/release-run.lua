-- Gives a job's run lease back, if it is still the caller's (an expired one may be another run's now).
--
-- KEYS: 1 the job's run lease
-- ARGV: 1 the run's token
-- Returns: 1 released, 0 it was not the caller's
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
