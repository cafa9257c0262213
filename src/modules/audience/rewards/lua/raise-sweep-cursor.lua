-- Moves the reward sweep's cursor forward, never back, whichever instance writes last.
--
-- KEYS: 1 the cursor
-- ARGV: 1 the last reward id the sweep has seen counted or applied
-- Returns: 1
if tonumber(ARGV[1]) > tonumber(redis.call('GET', KEYS[1]) or '0') then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
