-- count_rewards(totals, state, rewards, from): counts on one board each reward listed in `rewards`
-- (an ARGV: rechargeId, audienceId, amount (fen), createdAt (ms) per reward, from index `from` on),
-- each once. Not a script of its own: it is put in front of apply.lua and settle.lua when those are loaded.
--
-- A board is two keys of one slot: totals (ZSET audienceId -> fen) and state (HASH: `cut` — every
-- reward created before it is in the board's base;
-- `c:<audienceId>` reward count; `f:<audienceId>` first reward (ms); `r:<rechargeId>` the rewards
-- created at or after the cut that the board counted, so a second delivery — in a later call or in
-- the same list — counts nothing). Both keys carry one expiry (a period's board lives a little
-- beyond its period).
-- A board without a cut is not built (lost, expired, never read): it is left alone and built from
-- DB1 when read. A reward created before the cut is in the base already.
-- Returns: how many rewards it counted
local function count_rewards(totals, state, rewards, from)
  local cut = redis.call('HGET', state, 'cut')
  if not cut then return 0 end
  cut = tonumber(cut)
  local counted = 0
  for i = from, #rewards, 4 do
    local id, audience_id, at = rewards[i], rewards[i + 1], tonumber(rewards[i + 3])
    if at >= cut and redis.call('HSETNX', state, 'r:' .. id, 1) == 1 then
      redis.call('ZINCRBY', totals, rewards[i + 2], audience_id)
      redis.call('HINCRBY', state, 'c:' .. audience_id, 1)
      local first = redis.call('HGET', state, 'f:' .. audience_id)
      if not first or at < tonumber(first) then redis.call('HSET', state, 'f:' .. audience_id, rewards[i + 3]) end
      counted = counted + 1
    end
  end
  -- A board without viewers had no totals key: the one just made expires with the state.
  if counted > 0 and redis.call('PTTL', totals) == -1 then
    local ttl = redis.call('PTTL', state)
    if ttl > 0 then redis.call('PEXPIRE', totals, ttl) end
  end
  return counted
end
