-- A board's leaders with what breaks their ties: the `n` largest totals and every viewer tied with
-- the n-th (at most `n + tieCap` in all), each with its reward count and first reward time.
--
-- KEYS: 1 totals, 2 state
-- ARGV: 1 n, 2 tieCap
-- Returns: { cut (nil: the board is not built), then per viewer: audienceId, total, count, first (ms) }
local cut = redis.call('HGET', KEYS[2], 'cut')
if not cut then return { false } end
local n = tonumber(ARGV[1])
local leaders
local nth = redis.call('ZREVRANGE', KEYS[1], n - 1, n - 1, 'WITHSCORES')
if #nth == 0 then
  leaders = redis.call('ZREVRANGE', KEYS[1], 0, -1, 'WITHSCORES')
else
  leaders = redis.call('ZREVRANGEBYSCORE', KEYS[1], '+inf', nth[2], 'WITHSCORES', 'LIMIT', 0, n + tonumber(ARGV[2]))
end
local out = { cut }
for i = 1, #leaders, 2 do
  local stats = redis.call('HMGET', KEYS[2], 'c:' .. leaders[i], 'f:' .. leaders[i])
  table.insert(out, leaders[i])
  table.insert(out, leaders[i + 1])
  table.insert(out, stats[1])
  table.insert(out, stats[2])
end
return out
