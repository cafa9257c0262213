-- Claims one tick of a scheduled job for the calling instance: the tick runs on one instance only,
-- and never while the job still runs anywhere (its run lease is alive).
--
-- KEYS: 1 the job's run lease, 2 the tick's marker
-- ARGV: 1 the run's token, 2 how long the run lease lasts unless renewed (ms), 3 how long the tick is remembered (ms)
-- Returns: 1 claimed (the tick and the run lease are the caller's), 0 another instance claimed the tick,
--          -1 the job still runs on another instance (nobody runs this tick)
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
