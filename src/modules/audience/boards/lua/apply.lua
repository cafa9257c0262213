-- Counts the rewards of one scope (a room, or the platform) on the boards they all belong to: the
-- boards of their day, week, month (and all time for a room). Idempotent per rechargeId
-- (count-reward.lua), a reward listed twice included. The caller bounds the list (a short script).
--
-- KEYS: pairs of totals, state, one pair per board
-- ARGV: per reward: rechargeId, audienceId, amount (fen), createdAt (ms)
-- Returns: how many (reward, board) pairs counted
local counted = 0
for i = 1, #KEYS, 2 do
  counted = counted + count_rewards(KEYS[i], KEYS[i + 1], ARGV, 1)
end
return counted
