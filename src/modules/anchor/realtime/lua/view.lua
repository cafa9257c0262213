-- view(k): everything a read of one room needs, in one flat list that parseView (realtime.redis.ts)
-- reads by position. Not a script of its own: it is put in front of apply.lua and read.lua when
-- those are loaded, so both answer with the same view.
--
-- k: the room's keys, { earnings, count, flushing, base, meta }
-- Returns: pending earnings, pending count (2); the flushing delta's id, earnings, count (3); the
--   cached base's earnings, count, flush_id, anchor_id, status, updated_at (6); meta's updated_at,
--   the time of the last reward (1). A missing value is nil.
local function view(k)
  local out = { redis.call('GET', k.earnings), redis.call('GET', k.count) }
  for _, v in ipairs(redis.call('HMGET', k.flushing, 'id', 'earnings', 'count')) do table.insert(out, v) end
  for _, v in ipairs(redis.call('HMGET', k.base, 'earnings', 'count', 'flush_id', 'anchor_id', 'status', 'updated_at')) do table.insert(out, v) end
  table.insert(out, redis.call('HGET', k.meta, 'updated_at'))
  return out
end
