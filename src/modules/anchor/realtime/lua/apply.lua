-- Adds rewards to a room's pending delta, each unless Redis already holds it (pending, being
-- flushed, or just flushed) or it lies at or below the room's journal floor (counted long ago).
-- One call per room and turn of the event loop; view(k) comes from view.lua, loaded in front.
--
-- KEYS: 1 earnings, 2 count, 3 pendingIds, 4 flushingIds, 5 meta, 6 base, 7 flushing, 8 flushedIds
-- ARGV: 1 now (ms), then pairs of rechargeId amount (fen)
-- Returns: one flag per pair (1 added, 0 already held or below the floor), then view(k)
local k = { earnings = KEYS[1], count = KEYS[2], meta = KEYS[5], base = KEYS[6], flushing = KEYS[7] }
local flags = {}
local added = false
local floor = tonumber(redis.call('HGET', KEYS[5], 'floor') or '0')
for i = 2, #ARGV, 2 do
  local id, amount = ARGV[i], ARGV[i + 1]
  if tonumber(id) > floor and redis.call('HEXISTS', KEYS[3], id) == 0 and redis.call('HEXISTS', KEYS[4], id) == 0 and redis.call('HEXISTS', KEYS[8], id) == 0 then
    redis.call('HSET', KEYS[3], id, amount)
    redis.call('INCRBY', KEYS[1], amount)
    redis.call('INCR', KEYS[2])
    table.insert(flags, 1)
    added = true
  else
    table.insert(flags, 0)
  end
end
if added then redis.call('HSET', KEYS[5], 'updated_at', ARGV[1]) end
for _, v in ipairs(view(k)) do table.insert(flags, v) end
return flags
