-- scripts/lib/report_util.lua: small pieces the study reports share
-- (scripts/<study>/report.lua). Loaded with dofile; returns a table of functions.
local nl = require "neurolua"

local U = {}

-- A table with its explanation as a caption above it (wrapped at the page's width,
-- outside the table's sideways-scrolling box).
function U.note_table(rep, t, note, digits)
  rep:table(t, { caption = note, digits = digits or 3 })
end

-- A file-name-safe version of a label ("external (pooled)" -> "external_pooled").
function U.slug(s) return (s:gsub("[^%w]+", "_"):gsub("^_+", ""):gsub("_+$", "")) end

-- A Table from column names and a map name -> Lua list of n rows (the lists are not
-- changed).
function U.columns(names, cols, n)
  local list = {}
  for _, c in ipairs(names) do
    local v = { n = n }
    for i = 1, n do v[i] = cols[c][i] end
    list[#list + 1] = { c, v }
  end
  return nl.table.new(list)
end

return U
