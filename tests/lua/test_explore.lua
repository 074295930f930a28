-- test_explore.lua: the REPL as a data explorer (issue 16, item 5): Table:describe,
-- group_by and its GroupBy, Column:value_counts, pivot and melt, printing that fits
-- the terminal, bracket access to FreeSurfer-style column names, and completion.
-- Numbers are checked against pandas/numpy (tests/data/table/make_fixtures.py).
local T = require "testing"
local nl = require "neurolua"

local dir = os.getenv("NL_TEST_DATA") .. "/table/"
local t = nl.table.read(dir .. "participants.tsv")

-- Every cell of got equals that of want (numbers within a relative tolerance).
local function same_table(got, want, tol)
  T.eq(table.concat(got:columns(), ","), table.concat(want:columns(), ","), "column names")
  T.eq(#got, #want, "rows")
  for _, name in ipairs(want:columns()) do
    for i = 1, #want do
      local g, w = got:column(name)[i], want:column(name)[i]
      local where = ("%s[%d]"):format(name, i)
      if type(w) == "number" and type(g) == "number" then
        T.near(g, w, tol or 1e-12, where)
      else
        T.eq(g, w, where)
      end
    end
  end
end

-- ---------------------------------------------------------------- bracket access

T.test("FreeSurfer column names are reached as t[\"Left-Hippocampus\"]", function()
  local c = t["Left-Hippocampus"]
  T.eq(getmetatable(c).__name, "neurolua.Column")
  T.eq(c:name(), "Left-Hippocampus")
  T.eq(t["3rd-Ventricle"]:name(), "3rd-Ventricle")
  T.eq(t["3rd-Ventricle"]:missing(), 1)
  T.raises(function() return t["Left-Hipocampus"] end, "did you mean 'Left-Hippocampus'?")
end)

-- ---------------------------------------------------------------- describe

T.test("describe: one row per column, numbers as pandas describe(include='all')", function()
  local d = t:describe()
  same_table(d, nl.table.read(dir .. "describe.tsv"))
  T.eq(d.name[8], "Left-Hippocampus")
  T.eq(d.type[7], "bool")
  T.eq(d.top[7], "true")
  T.eq(d["50%"][5], 39.45)  -- the median age, numpy's linear quantile
end)

T.test("describe: percentiles option and its errors", function()
  local d = t:select("age"):describe{ percentiles = { 0.1, 0.9 } }
  T.eq(table.concat(d:columns(), ","), "name,type,n,missing,mean,std,min,10%,90%,max,unique,top,freq")
  T.raises(function() t:describe{ percentile = { 0.5 } } end, "unknown option 'percentile' for describe")
  T.raises(function() t:describe{ percentiles = { 50 } } end, "percentile 50 is outside [0, 1]")
  T.raises(function() t:describe{ percentiles = { "a" } } end, "entry 1 is a string")
end)

-- ---------------------------------------------------------------- group_by

T.test("group_by + agg: named aggregation as pandas, NA keys their own group", function()
  local g = t:group_by("group", "sex")
  T.eq(#g, 6)
  T.eq(g:ngroups(), 6)
  local a = g:agg{
    { "n", "age", "count" }, { "age_sum", "age", "sum" }, { "age_mean", "age", "mean" }, { "age_std", "age", "std" },
    { "age_min", "age", "min" }, { "age_max", "age", "max" }, { "age_median", "age", "median" },
    { "first_id", "participant_id", "first" }, { "age_missing", "age", "n_missing" }, { "madrs_mean", "madrs", "mean" },
  }
  same_table(a, nl.table.read(dir .. "groupby.tsv"))
  same_table(g:size(), nl.table.read(dir .. "groupby_size.tsv"))
  T.eq(a.group[5], nil, "the NA group comes last")
end)

T.test("agg: named outputs come after the listed ones, in name order", function()
  local a = t:group_by("sex"):agg{ zz = { "age", "max" }, { "n", "age", "count" }, mean_age = { "age", "mean" } }
  T.eq(table.concat(a:columns(), ","), "sex,n,mean_age,zz")
  T.eq(a.sex[1], "F")
end)

T.test("agg: clear errors", function()
  local g = t:group_by("group")
  T.raises(function() g:agg{ m = { "age", "meen" } } end, "agg 'm': unknown function 'meen'; did you mean 'mean'?")
  T.raises(function() g:agg{ m = { "agee", "mean" } } end, "no column 'agee'")
  T.raises(function() g:agg{ m = { "group", "mean" } } end, "mean needs a number or bool column, but column 'group' holds strings")
  T.raises(function() g:agg{ m = "age" } end, "agg 'm': expected {column, function}")
  T.raises(function() g:agg{ { "m", "age" } } end, "agg 'm': expected {column, function}")
  T.raises(function() g:agg{ group = { "age", "mean" } } end, "the name is already taken by a key column")
  T.raises(function() g:agg{} end, "no aggregations given")
  T.raises(function() t:group_by("grup") end, "did you mean 'group'?")
  T.raises(function() t:group_by({ "group" }, { sorted = false }) end, "unknown option 'sorted' for group_by; expected one of: sort")
end)

T.test("group_by{sort = false}: groups in order of first appearance", function()
  local g = t:group_by({ "group" }, { sort = false })
  local k = g:keys()
  T.eq(k.group[1], t.group[1])
  T.eq(#k, 3)
  T.eq(k.group[3], nil, "sub-05 brings the NA group third")
  T.truthy(tostring(g):find("(in order of appearance)", 1, true))
end)

T.test("GroupBy prints its keys, number of groups and sizes", function()
  local s = tostring(t:group_by("group"))
  T.truthy(s:find("GroupBy by group: 3 groups, 2 to 16 rows each (sorted by key)", 1, true), s)
  T.truthy(s:find("control%s+16"), s)
  T.truthy(s:find("NA%s+2"), s)
  T.truthy(s:match("%[GroupBy 3 groups by group%]$"), s)
  T.eq(nl.show({ g = t:group_by("group") }), "{ g = [GroupBy 3 groups by group] }")
end)

T.test("GroupBy: size, count, keys, group, apply", function()
  local g = t:group_by("site")
  T.eq(table.concat(g:count():columns(), ","),
       "site,participant_id,group,sex,age,madrs,responder,Left-Hippocampus,3rd-Ventricle")
  T.eq(g:count().age[1], 15)  -- site A: 17 rows, 2 without age
  T.eq(g:size().n[1], 17)
  T.eq(#g:group(2), 4)
  T.eq(g:group(2).site[1], "B")
  T.raises(function() g:group(5) end, "group 5 out of range [1, 4]")
  local means = g:apply(function(sub, key)
    T.eq(sub.site[1], key.site)
    return sub.madrs:mean()
  end)
  T.eq(means.n, 4)
  local k = g:keys()
  k.madrs = means
  T.near(k.madrs[1], t:where{ site = "A" }.madrs:mean())
  T.raises(function() g:apply(3) end, "function expected")
end)

-- ---------------------------------------------------------------- value_counts

T.test("value_counts: value, count, proportion, by count as pandas", function()
  same_table(t.site:value_counts{ dropna = false }, nl.table.read(dir .. "value_counts_site.tsv"))
  local v = t.site:value_counts()
  T.eq(#v, 3, "missing cells are left out by default")
  T.near(v.proportion[1], 17 / 28)
  local by_value = t.site:value_counts{ sort = "value" }
  T.eq(by_value.value[2], "B")
  T.raises(function() t.site:value_counts{ sort = "name" } end, "option 'sort' must be one of")
  T.eq(t.site:count().A, 17, "Column:count keeps returning a plain Lua table")
end)

-- ---------------------------------------------------------------- pivot and melt

T.test("pivot (long to wide) and melt (wide to long) as pandas", function()
  local long = nl.table.read(dir .. "fc_long.tsv")
  local wide = long:pivot{ index = "participant_id", columns = "run", values = "fc", prefix = "run_" }
  same_table(wide, nl.table.read(dir .. "fc_wide.tsv"))
  local back = wide:melt{ id = "participant_id", values = { "run_1", "run_2", "run_3" }, variable = "run", value = "fc" }
  same_table(back, nl.table.read(dir .. "fc_melted.tsv"))
  T.eq(#wide:melt{ id = { "participant_id" } }, 18, "values default to every other column")
end)

T.test("pivot: a repeated pair without agg names it; agg combines", function()
  local long = nl.table.new{ { "id", { "s1", "s1", "s1", "s2" } }, { "run", { 1, 2, 1, 1 } }, { "x", { 1, 2, 5, 4 } } }
  T.raises(function() long:pivot{ index = "id", columns = "run", values = "x" } end,
           "pivot: id 's1', run 1 appear in rows 1 and 3; give agg to combine repeated pairs")
  local w = long:pivot{ index = "id", columns = "run", values = "x", agg = "mean" }
  T.eq(w["1"][1], 3)
  T.eq(w["2"][2], nil)
  T.raises(function() long:pivot{ index = "id", columns = "run", values = "x", agg = "avg" } end, "unknown function 'avg'")
  T.raises(function() long:pivot{ index = "id", values = "x" } end, "option 'columns' is required")
  T.raises(function() long:pivot{ index = "id", column = "run", values = "x" } end, "did you mean 'columns'?")
  T.raises(function() long:melt{ id = "id", values = { "id" } } end, "both an id and a value column")
end)

-- ---------------------------------------------------------------- printing

-- A table of 10 columns that needs 113 characters.
local wide = {}
for j = 1, 10 do wide[j] = { ("column_%02d"):format(j), { 1234567.5, 2 } } end
wide = nl.table.new(wide)

T.test("t:format / t:print: width, rows and all", function()
  local at100 = wide:format{ width = 100 }
  T.truthy(at100:find("  ...", 1, true), "elided at 100: " .. at100)
  T.truthy(not at100:find("column_05", 1, true))
  local at140 = wide:format{ width = 140 }
  T.truthy(not at140:find("...", 1, true), "fits in 140: " .. at140)
  T.truthy(at140:find("column_05", 1, true))
  local all = wide:format{ all = true }
  T.eq(all, wide:format{ width = math.huge, rows = math.huge })
  T.truthy(all:find("column_05", 1, true))
  local many = nl.table.new{ { "x", (function() local v = {} for i = 1, 50 do v[i] = i end return v end)() } }
  T.truthy(many:format():find("...", 1, true), "10 rows by default")
  T.truthy(many:format{ all = true }:find(" 25%s+25\n"), "every row with all = true")
  T.raises(function() wide:format{ widht = 100 } end, "did you mean 'width'?")
  T.raises(function() wide:format{ width = 5 } end, "option 'width'")
  local printed
  local old = print
  print = function(s) printed = s end  -- luacheck: ignore
  wide:print{ all = true }
  print = old  -- luacheck: ignore
  T.eq(printed, all)
end)

-- tostring in a child process with the given COLUMNS (standard output is a pipe there,
-- so the terminal size comes from the environment).
local function child_tostring(columns)
  local script = T.tmpname(".lua")
  T.write_file(script, [[
local t = {}
for j = 1, 10 do t[j] = { ("column_%02d"):format(j), { 1234567.5, 2 } } end
local c, r, tty = nl.terminal_size()
io.write(tostring(nl.table.new(t)), "\n", c, " ", r, " ", tostring(tty), "\n")
]])
  local env = columns and ("COLUMNS=" .. columns .. " ") or "env -u COLUMNS "
  local f = assert(io.popen(("%s'%s' '%s' 2>&1"):format(env, arg[-1], script)))
  local text = f:read("a")
  f:close()
  return text
end

T.test("tostring(Table) uses the terminal width: $COLUMNS off a terminal, else 100", function()
  local at140 = child_tostring(140)
  T.truthy(at140:find("column_05", 1, true) and not at140:find("...", 1, true), at140)
  T.truthy(at140:find("\n140 24 false\n", 1, true), at140)
  local default = child_tostring(nil)
  T.truthy(default:find("  ...", 1, true) and not default:find("column_05", 1, true), default)
  T.truthy(default:find("\n100 24 false\n", 1, true), default)
end)

-- ---------------------------------------------------------------- completion

T.test("completion offers non-identifier columns in bracket form", function()
  local repl = require "neurolua.repl"
  local env = { t = t }
  local function has(list, x)
    for _, v in ipairs(list) do if v == x then return true end end
    return false
  end
  local dot = repl.complete("t.", env)
  T.truthy(has(dot, "t.age"), "identifier names after '.'")
  T.truthy(has(dot, 't["Left-Hippocampus"]') and has(dot, 't["3rd-Ventricle"]'), table.concat(dot, " "))
  T.truthy(has(dot, "t.describe"), "methods too")
  T.eq(table.concat(repl.complete('t["Left-H', env), " "), 't["Left-Hippocampus"]')
  T.eq(table.concat(repl.complete("t['3rd", env), " "), "t['3rd-Ventricle']")
  T.eq(table.concat(repl.complete("t.Le", env), " "), 't["Left-Hippocampus"]')
  local br = repl.complete("t[", env)
  T.truthy(has(br, 't["age"]') and has(br, 't["Left-Hippocampus"]') and not has(br, 't["describe"]'), table.concat(br, " "))
  T.eq(#repl.complete("t:Le", env), 0, "after ':' only methods")
  T.eq(table.concat(repl.complete("t:desc", env), " "), "t:describe")
  T.eq(#repl.complete('t["x"]', env), 0)
  T.eq(table.concat(repl.complete('q["a', { q = { ['a"b'] = 1 } }), " "), 'q["a\\"b"]', "quotes are escaped")
end)

T.done()
