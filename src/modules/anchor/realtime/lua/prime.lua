-- Caches a room's DB1 row unless a flush newer than that row has been acknowledged meanwhile: the
-- row read would then be stale, lacking a delta that Redis has already dropped.
--
-- KEYS: 1 base, 2 meta
-- ARGV: 1 earnings, 2 count, 3 flushId, 4 anchorId, 5 status, 6 updatedAt (ms), 7 ttl (ms)
-- Returns: 1 cached, 0 refused as stale
local acked = tonumber(redis.call('HGET', KEYS[2], 'last_acked') or '0')
if acked > tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], 'earnings', ARGV[1], 'count', ARGV[2], 'flush_id', ARGV[3], 'anchor_id', ARGV[4], 'status', ARGV[5], 'updated_at', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
return 1
