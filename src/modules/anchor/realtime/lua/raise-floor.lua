-- Raises a room's journal floor in Redis to DB1's, never lowers it, so rewards at or below it are
-- refused before they reach a flush.
--
-- KEYS: 1 meta
-- ARGV: 1 floor id (the highest rechargeId folded into DB1's floor)
-- Returns: 1
if tonumber(ARGV[1]) > tonumber(redis.call('HGET', KEYS[1], 'floor') or '0') then redis.call('HSET', KEYS[1], 'floor', ARGV[1]) end
return 1
