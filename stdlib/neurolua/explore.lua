-- neurolua/explore.lua: the Lua-side pieces of exploring Tables (the rest is in C++,
-- bindings/table/explore.cpp): GroupBy:apply, which calls a Lua function per group.
return function(nl)
  local groupby = nl._methods("GroupBy")

  -- g:apply(fn) -> a list with fn(sub, key) for each group, in the order of g:keys():
  -- sub is the group's rows as a Table, key its key values as a row table
  -- ({group = "patient"}). The list's n field is the number of groups, so a nil result
  -- keeps its place and `keys.result = g:apply(fn)` adds it as a column.
  function groupby.apply(g, fn)
    if type(fn) ~= "function" then
      error("bad argument #1 to 'apply' (function expected, got " .. type(fn) .. ")", 2)
    end
    local keys = g:keys()
    local out = { n = #g }
    for i = 1, #g do out[i] = fn(g:group(i), keys:row(i)) end
    return out
  end
end
