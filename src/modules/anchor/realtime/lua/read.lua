-- Reads one room in one atomic call, so its deltas and cached base are seen at one instant.
-- view(k) comes from view.lua, loaded in front.
--
-- KEYS: 1 earnings, 2 count, 3 flushing, 4 meta, 5 base
-- ARGV: none
-- Returns: view(k)
return view({ earnings = KEYS[1], count = KEYS[2], flushing = KEYS[3], meta = KEYS[4], base = KEYS[5] })
