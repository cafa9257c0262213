-- Moves a room's pending delta aside for flushing, or returns the one a crashed flush left behind.
-- The new flush id is the caller's candidate (DB1's last_flush_id + 1) or, when a flush was
-- acknowledged after the caller read DB1 (another instance flushed meanwhile), the next id past
-- it: reusing an id DB1 already holds would make DB1 skip the delta and the acknowledgement drop it.
--
-- KEYS: 1 earnings, 2 count, 3 pendingIds, 4 flushing, 5 flushingIds, 6 meta
-- ARGV: 1 candidate flush id
-- Returns: { id, earnings, count, resumed (1 a left-behind delta, 0 a new one) }, or nil when
--   there is nothing to flush
if redis.call('EXISTS', KEYS[4]) == 1 then
  local f = redis.call('HMGET', KEYS[4], 'id', 'earnings', 'count')
  table.insert(f, 1)
  return f
end
local e = redis.call('GET', KEYS[1])
if not e then return false end
local c = redis.call('GET', KEYS[2]) or '0'
local id = math.max(tonumber(ARGV[1]), tonumber(redis.call('HGET', KEYS[6], 'last_acked') or '0') + 1)
redis.call('HSET', KEYS[4], 'id', id, 'earnings', e, 'count', c)
if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('RENAME', KEYS[3], KEYS[5]) end
redis.call('DEL', KEYS[1], KEYS[2])
return { id, e, c, 0 }
