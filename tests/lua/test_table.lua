-- test_table.lua: the nl.table surface (Table and Column).
local T = require "testing"
local nl = require "neurolua"
local NA = nl.table.NA

local data = (os.getenv("NL_TEST_DATA") or "../data") .. "/csv/"

local function people()
  return nl.table.new {
    { "id", { 1, 2, 3, 4, 5 } },
    { "group", { "a", "b", "a", NA, "b" } },
    { "age", { 30, 25, 30, 40, NA } },
    { "flag", { true, false, true, false, true } },
  }
end

-- ---------------------------------------------------------------- reading

T.test("read a TSV with BIDS n/a", function()
  local t = nl.table.read(data .. "participants.tsv")
  T.eq(#t, 5)
  T.eq(t:nrows(), 5)
  T.eq(t:ncols(), 5)
  T.eq(table.concat(t:columns(), ","), "participant_id,age,sex,group,responder")
  local types = t:types()
  T.eq(types.age, "number")
  T.eq(types.sex, "string")
  T.eq(types.responder, "bool")
  T.eq(t.age[1], 34)
  T.eq(t.age[2], nil)
  T.eq(t.responder[4], true)
  T.eq(t.age:missing(), 1)
end)

T.test("read CSV with BOM, CRLF and quotes", function()
  local t = nl.table.read(data .. "quoted.csv")
  T.eq(#t, 3)
  T.eq(t.name[1], "Smith, John")
  T.eq(t.note[1], 'said "hi"')
  T.eq(t.note[2], "two\r\nlines")
  T.eq(t.name[3], "")  -- quoted: the empty string, not missing (issue 17)
  T.eq(t.note[3], nil)
end)

T.test("read options: sep, types, na", function()
  local path = T.tmpname(".txt")
  T.write_file(path, "id|score|ok\n007|-9999|yes\n010|12|no\n")
  local t = nl.table.read(path, { sep = "|", types = { id = "string" }, na = { "-9999" } })
  T.eq(t.id[1], "007")
  T.eq(t.score[1], nil)
  T.eq(t.score[2], 12)
  T.eq(t.ok:type(), "string")
  T.raises(function() nl.table.read(path, { sep = "||" }) end, "option 'sep' must be a one-character string")
  T.raises(function() nl.table.read(path, { types = { id = "integer" } }) end, "invalid type 'integer'")
  T.raises(function() nl.table.read(path, { seperator = "|" }) end, "unknown option 'seperator'")
  T.raises(function() nl.table.read(path, { sep = "|", types = { score = "bool" } }) end,
    ":2: column 'score': '-9999' is not a boolean")
end)

T.test("Excel-style CSV: ';' separated, decimal commas (issue 16: read as one column)", function()
  local path = T.tmpname(".csv")
  T.write_file(path, "participant_id;age;tiv;site\nsub-01;34,5;1520,25;A\nsub-02;41;1480;B\n")
  local t = nl.table.read(path)
  T.eq(table.concat(t:columns(), ","), "participant_id,age,tiv,site")
  T.eq(t.age[1], 34.5)
  T.eq(t.tiv[1], 1520.25)
  T.eq(t:types().age, "number")
  -- the decimal mark can be given; with "." the commas stay text
  T.eq(nl.table.read(path, { decimal = "." }):types().age, "string")
  -- a comma CSV is unchanged, and "1,5" there is one field too many, not a number
  local comma = T.tmpname(".csv")
  T.write_file(comma, "a,b\n1.5,2\n")
  T.eq(nl.table.read(comma).a[1], 1.5)
  -- decimal commas with a cell holding a point: text, not a wrong number
  local mixed = T.tmpname(".csv")
  T.write_file(mixed, "x;y\n1,5;1.000,5\n")
  local m = nl.table.read(mixed)
  T.eq(m.x[1], 1.5)
  T.eq(m:types().y, "string")
  T.raises(function() nl.table.read(path, { decimal = "x" }) end, "option 'decimal' must be \".\" or \",\"")
  T.raises(function() nl.table.read(comma, { decimal = "," }) end, "the decimal mark and the separator are both ','")
  T.raises(function() nl.table.read(path, { decimals = "," }) end, "did you mean 'decimal'?")
  os.remove(path); os.remove(comma); os.remove(mixed)
end)

T.test("parse text in memory", function()
  local t = nl.table.parse("x;y\n1;a\n2;b\n")
  T.eq(t:ncols(), 2)
  T.eq(t.y[2], "b")
  T.raises(function() nl.table.parse("a,b\n1,2\n3\n") end, "<text>:3: row has 1 field, header has 2")
end)

T.test("file errors name the file, line and column", function()
  T.raises(function() nl.table.read(data .. "ragged.tsv") end, "ragged.tsv:3: row has 4 fields, header has 5")
  T.raises(function() nl.table.read(data .. "nope.csv") end, "nope.csv: cannot open file (No such file or directory)")
  T.raises(function() nl.table.read(data .. "unterminated.csv") end,
    "unterminated.csv:2: unterminated quoted field starting in column 'name'")
  T.raises(function() nl.table.read(data .. "duplicate.csv") end, "duplicate column name 'age' (columns 2 and 5)")
  T.raises(function() nl.table.read(data .. "empty.csv") end, "empty.csv: empty file")
  T.raises(function() nl.table.read() end, "bad argument #1 to 'read'")
end)

-- ---------------------------------------------------------------- construction and columns

T.test("new, NA and column access", function()
  T.eq(#nl.table.new(), 0)
  -- A map instead of a list of pairs gave an empty Table without a word.
  T.raises(function() nl.table.new{ subject = { "a", "b" } } end,
    "expected a list of {name, values} pairs, got the key 'subject'")
  T.raises(function() nl.table.new{ { "x", { 1 } }, [2.5] = 1 } end, "got a number key")
  T.eq(tostring(NA), "NA")
  local t = people()
  T.eq(#t, 5)
  T.eq(t.group[4], nil)
  T.eq(t["group"][1], "a")
  T.eq(t:column("age"):name(), "age")
  T.eq(t.flag:type(), "bool")
  T.eq(nl.table.new({ { "x", { 1, NA, 3, n = 4 } } }).x:missing(), 2)
  T.raises(function() return t.agee end,
           "Table has no field 'agee'; did you mean 'age'? (fields: id, group, age, flag; methods: column, columns, ")
  T.raises(function() return t.nrow end, "Table has no field 'nrow'; did you mean 'nrows'?")
  T.raises(function() return t:column("agee") end, "bad argument #1 to 'column' (no column 'agee'")
  T.raises(function() return t[1] end, "a Table is indexed by column name")
  T.raises(function() nl.table.new { { "x", { 1, "a" } } } end, "value 2 is a string but value 1 is a number")
  T.raises(function() nl.table.new { { "x", { 1 } }, { "x", { 2 } } } end, "duplicate column name 'x'")
  T.raises(function() nl.table.new { { "x", { 1, {} } } } end, "value 2 is a table")
end)

T.test("methods take priority over column names", function()
  local t = nl.table.new { { "sort", { 2, 1 } } }
  T.eq(type(t.sort), "function")
  T.eq(t:column("sort")[1], 2)
end)

T.test("column assignment: lists, columns, matrices, scalars, nil", function()
  local t = people()
  t.older = t.age + 1
  T.eq(t.older[1], 31)
  T.eq(t.older:name(), "older")
  t.code = { "x", "y", "z", "w", "v" }
  T.eq(t.code[5], "v")
  t.m = nl.matrix.zeros(5, 1) + 2
  T.eq(t.m[3], 2)
  t.site = "lab"
  T.eq(t.site[5], "lab")
  t.none = NA
  T.eq(t.none:missing(), 5)
  t.id = { 5, 4, 3, 2, 1 } -- replaced in place
  T.eq(t:columns()[1], "id")
  T.eq(t.id[1], 5)
  t.none = nil
  T.raises(function() return t.none end, "Table has no field 'none' (fields: id, group, age, flag, older, code, m, site;")
  T.raises(function() t.bad = { 1, 2, 3 } end, "column 'bad' has 3 rows, but the table has 5")
  T.raises(function() t.bad = nl.matrix.zeros(2, 2) end, "a matrix must have one row or one column")
  T.raises(function() t.bad = function() end end, "cannot make a column from a function")
  T.raises(function() t.missing_column = nil end, "no column 'missing_column'")
  T.raises(function() nl.table.new().x = 1 end, "a single value needs a table with rows")
end)

T.test("Column values, summaries and conversions", function()
  local t = people()
  local age = t.age
  T.eq(#age, 5)
  T.eq(age[0], nil)
  T.eq(age[6], nil)
  T.eq(age[2.0], 25)
  T.raises(function() return age.foo end, "Column has no field 'foo' (fields: none; methods: count, eq, ")
  T.raises(function() return age.mena end, "Column has no field 'mena'; did you mean 'mean'?")
  T.near(age:mean(), 31.25)
  T.eq(age:sum(), 125)
  T.near(age:std(), 6.291528696058958) -- sd(c(30, 25, 30, 40)) in R
  T.eq(age:min(), 25)
  T.eq(age:max(), 40)
  T.eq(t.flag:sum(), 3)
  T.raises(function() t.group:mean() end, "cannot summarize column 'group': it holds strings")
  local list = age:to_table()
  T.eq(#list, 5)
  T.eq(list[5], NA)
  local u = t.group:unique()
  T.eq(#u, 2)
  T.eq(u[1], "a")
  T.eq(u[2], "b")
  local counts = age:count()
  T.eq(counts[30], 2)
  T.eq(counts[NA], 1)
  T.eq(nl.table.new({ { "x", { 0 / 0, 1 } } }).x:count().NaN, 1)
  local m = t.id:matrix()
  T.eq(m:rows(), 5)
  T.eq(m:cols(), 1)
  T.raises(function() age:matrix() end, "column 'age' has a missing value in row 5")
  T.raises(function() age[1] = 3 end, "columns are read-only")
  T.truthy(tostring(age):find("Column 'age' <num>: 5 rows, 1 missing", 1, true))
  T.truthy(tostring(t.group):find('"a", "b", "a", NA, "b"', 1, true))
end)

T.test("Column arithmetic, comparison and logic", function()
  local t = people()
  local d = (t.age * 2 - t.id) / 2
  T.eq(d[1], 29.5)
  T.eq(d[5], nil)
  T.eq((10 - t.id)[1], 9)
  T.eq((-t.id)[2], -2)
  T.raises(function() return t.group + 1 end, "arithmetic needs a number column, but column 'group' holds strings")
  T.raises(function() return t.id + "1" end, "arithmetic on a Column needs a number")
  T.raises(function() return t.id + nl.table.new { { "z", { 1 } } }.z end, "have 5 and 1 rows")
  local gt = t.age:gt(28)
  T.eq(gt:type(), "bool")
  T.eq(gt[1], true)
  T.eq(gt[2], false)
  T.eq(gt[5], nil)
  T.eq(t.age:ge(30):sum(), 3)
  T.eq(t.age:lt(30):sum(), 1)
  T.eq(t.age:le(30):sum(), 3)
  T.eq(t.group:eq("a"):sum(), 2)
  T.eq(t.group:ne("a"):sum(), 2)
  T.eq(t.id:eq(t.id):sum(), 5)
  T.eq((t.age:gt(28) & t.group:eq("a")):sum(), 2)
  T.eq((t.age:gt(28) | t.flag)[5], true) -- true | NA = true
  T.eq((~t.flag)[1], false)
  T.eq(t.age:isna()[5], true)
  T.raises(function() t.group:gt(1) end, "bad argument #1 to 'gt' (cannot compare column 'group' of strings with a number)")
  T.raises(function() t.flag:lt(true) end, "cannot order the booleans")
  T.raises(function() t.age:eq(NA) end, "cannot compare column 'age' with NA")
end)

-- ---------------------------------------------------------------- table operations

T.test("select, head, take, row, rows", function()
  local t = people()
  local s = t:select { "age", "id" }
  T.eq(table.concat(s:columns(), ","), "age,id")
  T.eq(table.concat(t:select("flag", "id"):columns(), ","), "flag,id")
  T.raises(function() t:select { "id", "x" } end, "bad argument #1 to 'select' (no column 'x' in table")
  T.raises(function() t:select { "id", 3 } end, "entry 2 is a number")
  T.eq(#t:head(2), 2)
  T.eq(#t:head(), 5)
  T.eq(#t:head(100), 5)
  local k = t:take { 5, 1, 1 }
  T.eq(k.id[1], 5)
  T.eq(k.id[3], 1)
  T.raises(function() t:take { 6 } end, "entry 1 is not a row number in [1, 5]")
  local row = t:row(4)
  T.eq(row.id, 4)
  T.eq(row.group, nil)
  T.eq(row.flag, false)
  T.raises(function() t:row(0) end, "row 0 out of range [1, 5]")
  local ids = {}
  for i, r in t:rows() do ids[#ids + 1] = i * 10 + r.id end
  T.eq(table.concat(ids, ","), "11,22,33,44,55")
end)

T.test("filter with a function or a bool column", function()
  local t = people()
  local f = t:filter(function(r) return r.group == "a" end)
  T.eq(#f, 2)
  T.eq(f.id[2], 3)
  T.eq(#t:filter(t.age:gt(26)), 3) -- a missing mask cell drops the row
  T.eq(#t:filter(function(r) return r.age == nil end), 1)
  T.raises(function() t:filter(t.age) end, "filter needs a bool column, but column 'age' holds numbers")
  T.raises(function() t:filter(42) end, "bad argument #1 to 'filter' (function or bool Column expected")
  T.raises(function() t:filter(function() error("boom") end) end, "boom")
  -- The predicate cannot change the table being filtered (nor any other neurolua object:
  -- issue 17, tests/lua/test_reentrant.lua).
  T.raises(function() t:filter(function() t.id = nil; t.group = nil; t.age = nil; t.flag = nil end) end,
    "cannot modify a Table while another neurolua function is running")
  T.eq(t:ncols(), 4)
end)

T.test("where", function()
  local t = people()
  T.eq(#t:where { group = "a" }, 2)
  T.eq(#t:where { group = { "a", "b" } }, 4)
  T.eq(#t:where { group = "a", id = 3 }, 1)
  T.eq(#t:where { group = NA }, 1)
  T.eq(#t:where { flag = true }, 3)
  T.raises(function() t:where { group = 1 } end, "bad argument #1 to 'where' (where: column 'group' holds strings, got number 1)")
  T.raises(function() t:where { nope = 1 } end, "no column 'nope'")
end)

T.test("sort", function()
  local t = people()
  local a = t:sort("age")
  T.eq(a.id[1], 2)
  T.eq(a.id[2], 1) -- stable
  T.eq(a.id[5], 5) -- missing last
  local d = t:sort("-age")
  T.eq(d.id[1], 4)
  T.eq(d.id[5], 5)
  local g = t:sort { "group", "-id" }
  T.eq(table.concat(g.id:to_table(), ","), "3,1,5,2,4")
  T.raises(function() t:sort("-nope") end, "bad argument #1 to 'sort' (no column 'nope'")
end)

T.test("join", function()
  local t = people()
  local sites = nl.table.read(data .. "sites.csv")
  local lookup = nl.table.new { { "group", { "a", "b" } }, { "age", { 1, 2 } }, { "label", { "A", "B" } } }
  local j = t:join(lookup, "group")
  T.eq(#j, 4)
  T.eq(table.concat(j:columns(), ","), "id,group,age,flag,age_2,label")
  local l = t:join(lookup, "group", { how = "left", suffix = "_site" })
  T.eq(#l, 5)
  T.eq(l.label[4], nil)
  T.eq(l.age_site[5], 2)
  local other = nl.table.new { { "g", { "a", "b", "a" } } }
  T.raises(function() t:join(other, { "group", "g" }) end,
    "join: key 'g' is not unique in the right table (value a in rows 1 and 3)")
  T.raises(function() t:join(lookup, { "id", "group" }) end, "holds numbers in the left table")
  T.raises(function() t:join(lookup, "group", { how = "outer" }) end, "bad argument #3 to 'join' (option 'how' must be one of inner, left, got outer)")
  T.eq(#t:join(sites, "group"), 0)
end)

T.test("matrix", function()
  local t = people()
  local m = t:matrix { "id", "flag" }
  T.eq(m:rows(), 5)
  T.eq(m:cols(), 2)
  T.eq(m:get(1, 2), 1)
  T.eq(m:get(2, 2), 0)
  T.eq(t:matrix("id", "flag"):cols(), 2)
  T.raises(function() t:matrix { "id", "age" } end, "column 'age' has a missing value in row 5")
  T.raises(function() t:matrix { "group" } end, "column 'group' holds strings and cannot go into a matrix")
  local x, kept = t:matrix({ "id", "age" }, { drop_missing = true })
  T.eq(x:rows(), 4)
  T.eq(table.concat(kept, ","), "1,2,3,4")
  T.eq(t:select { "id", "flag" }:matrix():cols(), 2)
end)

T.test("write and read back", function()
  local t = people()
  t.note = { "a,b", 'say "hi"', "two\nlines", NA, "" }
  for _, ext in ipairs { ".csv", ".tsv" } do
    local path = T.tmpname(ext)
    t:write(path)
    local u = nl.table.read(path)
    T.eq(table.concat(u:columns(), ","), table.concat(t:columns(), ","))
    T.eq(u.note[1], "a,b")
    T.eq(u.note[2], 'say "hi"')
    T.eq(u.note[3], "two\nlines")
    T.eq(u.age[5], nil)
    T.eq(u.flag[1], true)
  end
  local tsv = T.tmpname(".tsv")
  t:write(tsv)
  T.truthy(T.read_file(tsv):find("\tn/a\t", 1, true), "n/a for missing in TSV")
  local semi = T.tmpname(".txt")
  t:write(semi, { sep = ";" })
  T.eq(nl.table.read(semi):ncols(), 5)
  T.raises(function() t:write("/nonexistent/dir/x.csv") end,
    "/nonexistent/dir/x.csv: cannot create file (No such file or directory)")
end)

T.test("printing", function()
  local s = tostring(people())
  T.truthy(s:find("[Table 5 rows x 4 columns]", 1, true))
  T.truthy(s:find("<num>", 1, true))
  T.truthy(s:find("<str>", 1, true))
  T.truthy(s:find("<bool>", 1, true))
  T.eq(tostring(nl.table.new()), "[Table 0 rows x 0 columns]")
end)

-- ---------------------------------------------------------------- real data

T.test("the ABIDE phenotype table", function()
  local root = os.getenv("NL_SHARED_DATA")
  local path = root and (root .. "/abide_fs6/phenotypes.csv")
  local f = path and io.open(path, "rb")
  if not f then
    print("skipped: ABIDE phenotypes.csv not found (set NL_SHARED_DATA)")
    return
  end
  f:close()
  -- Reference values from Python's csv module.
  local t = nl.table.read(path)
  T.eq(#t, 1112)
  T.eq(t:ncols(), 8)
  T.eq(t.SUB_ID[1], 50002)
  T.eq(t.SITE_ID[1], "PITT")
  T.eq(t.AGE_AT_SCAN[#t], 26)
  T.eq(#t.SITE_ID:unique(), 20)
  T.eq(t.FIQ:missing(), 35)
  T.eq(#t:where { DX_GROUP = 1 }, 539)
  T.near(t.AGE_AT_SCAN:mean(), 17.048864208633095, 1e-12)
end)

-- ---------------------------------------------------------------- fields

T.test("fields: a Table's are its columns; Column and NA have none", function()
  local t = people()
  local mt = getmetatable(t)
  T.eq(mt.__name, "neurolua.Table")
  T.eq(table.concat(mt.__fields(t), ","), "id,group,age,flag")
  T.raises(function() return t.gruop end, "Table has no field 'gruop'; did you mean 'group'?")
  T.raises(function() return t.nrwos end, "did you mean 'nrows'?")
  local c = t.age
  T.methods_only(c, "Column", "name", "nmae", "name")
  T.raises(function() return c[true] end, "Column has no field 'true'")
  local na = getmetatable(NA)
  T.eq(na.__name, "neurolua.NA")
  T.eq(#na.__fields(NA), 0)
  T.eq(next(na.__methods), nil)
  T.eq(tostring(NA), "NA")
  T.raises(function() return NA.value end, "NA has no field 'value' (fields: none)")
end)

T.done()
