-- neurolua/util.lua: small helpers the Lua standard library shares (not part of the
-- documented surface): did-you-mean suggestions, option checks.
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

local function type_name(x)
  local mt = getmetatable(x)
  if type(mt) == "table" and type(mt.__name) == "string" then return mt.__name end
  return type(x)
end

-- The options table `o` (nil is empty) may hold only the keys in `allowed`; the message
-- matches the C check_options ("unknown option 'captoin' for figure; expected one of:
-- caption, width; did you mean 'caption'?"). level: of the caller to blame.
function M.check_options(o, what, allowed, argn, level)
  if o == nil then return {} end
  if type(o) ~= "table" then
    error(("bad argument #%d to '%s' (options table expected, got %s)"):format(argn, what, type_name(o)), level + 1)
  end
  for k in pairs(o) do
    local known = false
    for _, a in ipairs(allowed) do known = known or k == a end
    if not known then
      local msg = ("unknown option '%s' for %s; expected one of: %s"):format(tostring(k), what, table.concat(allowed, ", "))
      local near = type(k) == "string" and M.closest(k, allowed)
      if near then msg = msg .. ("; did you mean '%s'?"):format(near) end
      error(("bad argument #%d to '%s' (%s)"):format(argn, what, msg), level + 1)
    end
  end
  return o
end


return M
