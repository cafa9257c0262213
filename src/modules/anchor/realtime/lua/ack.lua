-- Drops a flushed delta once DB1 holds it, keeping its ids a while as the "recently flushed" set so
-- a late duplicate is refused in Redis too; drops the cached base, which no longer matches DB1.
--
-- KEYS: 1 flushing, 2 flushingIds, 3 meta, 4 base, 5 flushedIds
-- ARGV: 1 flush id, 2 how long to keep the flushed ids (ms)
-- Returns: 1 acknowledged, 0 when the delta being flushed is not that flush (nothing changes)
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('RENAME', KEYS[2], KEYS[5])
  redis.call('PEXPIRE', KEYS[5], ARGV[2])
end
redis.call('DEL', KEYS[1], KEYS[4])
local acked = tonumber(redis.call('HGET', KEYS[3], 'last_acked') or '0')
if tonumber(ARGV[1]) > acked then redis.call('HSET', KEYS[3], 'last_acked', ARGV[1]) end
return 1
