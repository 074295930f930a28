-- neurolua/util.lua: small helpers the Lua standard library shares (not part of the
-- documented surface): did-you-mean suggestions.
local M = {}

-- Edit distance with transpositions, case-insensitive: the rule of the C side's
-- closest_name (bindings/core/fields.cpp), so did-you-mean agrees across the surface.
local function distance(a, b)
  a, b = a:lower(), b:lower()
  local d = {}
  for i = 0, #a do d[i] = { [0] = i } end
  for j = 0, #b do d[0][j] = j end
  for i = 1, #a do
    for j = 1, #b do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      d[i][j] = math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if i > 1 and j > 1 and a:byte(i) == b:byte(j - 1) and a:byte(i - 1) == b:byte(j) then
        d[i][j] = math.min(d[i][j], d[i - 2][j - 2] + 1)
      end
    end
  end
  return d[#a][#b]
end

-- The closest name within about a third of the key's length, or nil.
function M.closest(key, names)
  local best, bd = nil, #key // 3 + 1
  for _, n in ipairs(names) do
    local d = distance(key, n)
    if d < bd then best, bd = n, d end
  end
  return best
end

M.distance = distance

return M
