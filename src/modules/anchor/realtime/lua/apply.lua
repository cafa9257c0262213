-- Adds rewards to a room's pending delta, each unless Redis already holds it (pending, being
-- flushed, or just flushed) or it lies at or below the room's journal floor (counted long ago).
-- Each reward added is also one event on the room's capped event log, its id the room's reward
-- count after it (never below the last id + 1), and one notification names the last id.
-- One call per room and turn of the event loop; view(k) comes from view.lua, loaded in front.
--
-- The event carries the room's absolute figures, so the script needs the room's base (DB1's row):
-- without a cached base and none given, it changes nothing and answers { -1 }; the caller reads
-- DB1 and calls again with the base, cached here unless a newer flush was acknowledged meanwhile.
--
-- KEYS: 1 earnings, 2 count, 3 pendingIds, 4 flushingIds, 5 meta, 6 base, 7 flushing, 8 flushedIds,
--   9 events (stream)
-- ARGV: 1 now (ms), 2 notification channel, 3 events kept (MAXLEN ~), 4 events ttl (ms),
--   5 base given (1/0), 6-11 the base's earnings, count, flush_id, anchor_id, status, updated_at,
--   12 base ttl (ms), then triples of rechargeId amount (fen) audienceId
-- Returns: one flag per reward (1 added, 0 already held or below the floor), then view(k);
--   { -1 } when the base is needed
local k = { earnings = KEYS[1], count = KEYS[2], meta = KEYS[5], base = KEYS[6], flushing = KEYS[7] }
local FIRST = 13

if redis.call('EXISTS', KEYS[6]) == 0 then
  local acked = tonumber(redis.call('HGET', KEYS[5], 'last_acked') or '0')
  if ARGV[5] ~= '1' or acked > tonumber(ARGV[8]) then return { -1 } end
  redis.call('HSET', KEYS[6], 'earnings', ARGV[6], 'count', ARGV[7], 'flush_id', ARGV[8], 'anchor_id', ARGV[9], 'status', ARGV[10], 'updated_at', ARGV[11])
  redis.call('PEXPIRE', KEYS[6], ARGV[12])
end

-- The room's figures as a read combines them (realtime-figures.ts): base + pending + a flushing
-- delta the base does not hold yet.
local base = redis.call('HMGET', KEYS[6], 'earnings', 'count', 'flush_id')
local flushing = redis.call('HMGET', KEYS[7], 'id', 'earnings', 'count')
local earnings = tonumber(base[1]) + tonumber(redis.call('GET', KEYS[1]) or '0')
local count = tonumber(base[2]) + tonumber(redis.call('GET', KEYS[2]) or '0')
if flushing[1] and tonumber(flushing[1]) > tonumber(base[3]) then
  earnings = earnings + tonumber(flushing[2])
  count = count + tonumber(flushing[3])
end

local flags = {}
local lastEvent = tonumber(redis.call('HGET', KEYS[5], 'event_id') or '0')
local added = false
local floor = tonumber(redis.call('HGET', KEYS[5], 'floor') or '0')
for i = FIRST, #ARGV, 3 do
  local id, amount, audienceId = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if tonumber(id) > floor and redis.call('HEXISTS', KEYS[3], id) == 0 and redis.call('HEXISTS', KEYS[4], id) == 0 and redis.call('HEXISTS', KEYS[8], id) == 0 then
    redis.call('HSET', KEYS[3], id, amount)
    redis.call('INCRBY', KEYS[1], amount)
    redis.call('INCR', KEYS[2])
    earnings = earnings + tonumber(amount)
    count = count + 1
    lastEvent = math.max(count, lastEvent + 1)
    redis.call('XADD', KEYS[9], 'MAXLEN', '~', ARGV[3], lastEvent .. '-0', 'r', id, 'a', audienceId, 'm', amount, 'e', earnings, 'c', count, 't', ARGV[1])
    table.insert(flags, 1)
    added = true
  else
    table.insert(flags, 0)
  end
end
if added then
  redis.call('HSET', KEYS[5], 'updated_at', ARGV[1], 'event_id', lastEvent)
  redis.call('PEXPIRE', KEYS[9], ARGV[4])
  redis.call('PUBLISH', ARGV[2], lastEvent)
end
for _, v in ipairs(view(k)) do table.insert(flags, v) end
return flags
