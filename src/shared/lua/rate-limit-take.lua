-- Takes units from fixed-window counters, one per key, for a whole event-loop turn's requests at once.
-- KEYS[i]: a key's counter (its window starts at its first unit and lasts ARGV[1] ms).
-- ARGV[1]: the window (ms); ARGV[2]: units a key may use per window; ARGV[2 + i]: units asked of KEYS[i].
-- Reply: for each key, { units granted (the first ones asked), ms until its window ends }. Units
-- refused are never counted, so a client hammering its limit does not push its window further out.
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local reply = {}
for i, key in ipairs(KEYS) do
  local units = tonumber(ARGV[2 + i])
  local used = redis.call('INCRBY', key, units)
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then
    redis.call('PEXPIRE', key, window)
    ttl = window
  end
  local granted = math.max(0, math.min(units, limit - (used - units)))
  if granted < units then redis.call('DECRBY', key, units - granted) end
  reply[i] = { granted, ttl }
end
return reply
