-- A board's catch-up from DB1: counts the rewards it has not counted (idempotent per rechargeId,
-- count-reward.lua), forgets the ids of those created before the new cut (a reward that old is in
-- the base now: a late delivery of it counts nothing), moves the cut and the expiry.
-- Refused when the cut is no longer the one the caller read (another catch-up or a rebuild came first).
--
-- KEYS: 1 totals, 2 state
-- ARGV: 1 the cut the caller read, 2 the new cut (ms), 3 time to live of both keys (ms),
--       then per reward: rechargeId, audienceId, amount (fen), createdAt (ms)
-- Returns: 1 settled, 0 refused
if redis.call('HGET', KEYS[2], 'cut') ~= ARGV[1] then return 0 end
local new_cut = tonumber(ARGV[2])
count_rewards(KEYS[1], KEYS[2], ARGV, 4)
for i = 4, #ARGV, 4 do
  if tonumber(ARGV[i + 3]) < new_cut then redis.call('HDEL', KEYS[2], 'r:' .. ARGV[i]) end
end
redis.call('HSET', KEYS[2], 'cut', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
