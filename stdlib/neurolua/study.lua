-- neurolua/study.lua: nl.study, helpers for clinical study tables: response status from
-- rating scales, participants files (BIDS-style participants.tsv with GM map paths),
-- and Table-1 style demographics.
local M = {}

local function nl() return require "neurolua" end
local code_text

local function type_name(x)
  local mt = getmetatable(x)
  if type(mt) == "table" and type(mt.__name) == "string" then return mt.__name end
  return type(x)
end

-- ---------------------------------------------------------------- values

-- The values of a Column or a Lua list as a Lua list (missing = nil) and its length.
-- A list's length is its `n` field when present, else #list.
local function values_of(x, fname, argn)
  local tn = type_name(x)
  if tn == "neurolua.Column" then
    local out, n = {}, #x
    for i = 1, n do out[i] = x[i] end
    return out, n
  elseif tn == "table" then
    return x, x.n or #x
  end
  error(("bad argument #%d to '%s' (a neurolua.Column or a list expected, got %s)"):format(argn, fname, tn), 3)
end

local function is_missing(v) return v == nil or v == nl().table.NA end

-- ---------------------------------------------------------------- response

-- Why a plain list of booleans: it becomes a Bool column by assignment
-- (t.response = ...), and nl.ml / nl.cv take it as labels (true = responder).
function M.response(pre, post)
  local a, na = values_of(pre, "response", 1)
  local b, nb = values_of(post, "response", 2)
  if na ~= nb then
    error(("nl.study.response: pre has %d values but post has %d"):format(na, nb), 2)
  end
  local out = {}
  for i = 1, na do
    local p, q = a[i], b[i]
    if is_missing(p) then error(("nl.study.response: row %d: pre is missing"):format(i), 2) end
    if is_missing(q) then error(("nl.study.response: row %d: post is missing"):format(i), 2) end
    if type(p) ~= "number" then
      error(("nl.study.response: row %d: pre is not a number (got %s)"):format(i, type_name(p)), 2)
    end
    if type(q) ~= "number" then
      error(("nl.study.response: row %d: post is not a number (got %s)"):format(i, type_name(q)), 2)
    end
    if not (p > 0) or p == math.huge then
      error(("nl.study.response: row %d: pre = %s; the relative change needs a finite pre > 0"):format(i, p), 2)
    end
    if not (q >= 0) or q == math.huge then
      error(("nl.study.response: row %d: post = %s; scores must be finite and >= 0"):format(i, q), 2)
    end
    out[i] = (q - p) / p <= -0.5
  end
  return out
end

-- ---------------------------------------------------------------- participants

local required = { "participant_id", "cohort", "age", "sex", "site", "tiv", "madrs_pre", "madrs_post", "gm_path" }
local as_string = { "participant_id", "cohort", "arm", "sex", "site", "gm_path" }

function M.participants(path)
  if type(path) ~= "string" then
    error(("bad argument #1 to 'participants' (a file path expected, got %s)"):format(type_name(path)), 2)
  end
  local T = nl().table
  local t = T.read(path)
  local have = {}
  for _, name in ipairs(t:columns()) do have[name] = true end
  for _, name in ipairs(required) do
    if not have[name] then
      error(("%s: missing column '%s' (a participants file needs %s)"):format(path, name,
            table.concat(required, ", ")), 2)
    end
  end
  -- Read again with identifiers, codes and paths forced to strings (a site coded 1/2
  -- must stay categorical for nl.ml.regress_out).
  local types = {}
  for _, name in ipairs(as_string) do
    if have[name] then types[name] = "string" end
  end
  t = T.read(path, { types = types })
  local dir = path:match("^(.*)/[^/]*$")
  if dir == "" then dir = "/" end
  local gm, n = t.gm_path, #t
  local resolved = {}
  for i = 1, n do
    local p = gm[i]
    if p == nil then
      error(("%s: row %d (%s): gm_path is missing"):format(path, i, tostring(t.participant_id[i])), 2)
    end
    if p:sub(1, 1) ~= "/" and dir then p = (dir == "/" and "/" or dir .. "/") .. p end
    resolved[i] = p
  end
  t.gm_path = resolved
  return t
end

-- ---------------------------------------------------------------- demographics

local function stats(xs)
  local n, s = #xs, 0
  for _, x in ipairs(xs) do s = s + x end
  local mean = n > 0 and s / n or 0 / 0
  local ss = 0
  for _, x in ipairs(xs) do ss = ss + (x - mean) ^ 2 end
  return mean, n > 1 and math.sqrt(ss / (n - 1)) or 0 / 0
end

local function fmt2(x) return x ~= x and "NA" or ("%.2f"):format(x) end

-- A code as text: 2, 2.0 and "2" are the same code.
code_text = function(v)
  if math.type(v) == "float" and v == math.floor(v) and math.abs(v) < 2^53 then return tostring(math.tointeger(v)) end
  return tostring(v)
end

-- true (female), false (male) or nil (missing). Without a coding, F/female and M/male
-- (any case) are understood; any other value is an error, never a silent "NA %".
local function is_female(s, coding)
  if s == nil or s == nl().table.NA then return nil end
  if coding then return coding[code_text(s)] end
  local l = type(s) == "string" and s:lower() or nil
  if l == "f" or l == "female" then return true end
  if l == "m" or l == "male" then return false end
  return nil
end

local function lit(t) return tonumber(t) and t or ("%q"):format(t) end

-- The values of the sex column that the coding does not cover (sorted, as text).
local function unknown_sex_codes(sex, n, coding)
  local seen, list = {}, {}
  for i = 1, n do
    local v = sex[i]
    if v ~= nil and v ~= nl().table.NA and is_female(v, coding) == nil then
      local t = code_text(v)
      if not seen[t] then seen[t] = 0; list[#list + 1] = t end
      seen[t] = seen[t] + 1
    end
  end
  table.sort(list)
  return list, seen
end

function M.demographics(tbl, options)
  if type_name(tbl) ~= "neurolua.Table" then
    error(("bad argument #1 to 'demographics' (a neurolua.Table expected, got %s)"):format(type_name(tbl)), 2)
  end
  options = options or {}
  if type(options) ~= "table" then
    error(("bad argument #2 to 'demographics' (an options table expected, got %s)"):format(type_name(options)), 2)
  end
  for k in pairs(options) do
    if k ~= "by" and k ~= "numeric" and k ~= "sex" then
      error(("bad argument #2 to 'demographics' (unknown option '%s'; expected one of: by, numeric, sex)"):format(
            tostring(k)), 2)
    end
  end
  -- sex = { female = <code>, male = <code> }: an explicit coding (e.g. 2 and 1).
  local coding
  if options.sex ~= nil then
    local c = options.sex
    if type(c) ~= "table" or c.female == nil or c.male == nil then
      error("bad argument #2 to 'demographics' (option 'sex' must be { female = <code>, male = <code> }, "
            .. "e.g. { female = 2, male = 1 })", 2)
    end
    for k in pairs(c) do
      if k ~= "female" and k ~= "male" then
        error(("bad argument #2 to 'demographics' (option 'sex' has key '%s'; expected female and male)"):format(
              tostring(k)), 2)
      end
    end
    coding = { [code_text(c.female)] = true, [code_text(c.male)] = false }
    if code_text(c.female) == code_text(c.male) then
      error("bad argument #2 to 'demographics' (option 'sex': female and male have the same code)", 2)
    end
  end
  local by = options.by or {}
  if type(by) == "string" then by = { by } end
  if type(by) ~= "table" then error("bad argument #2 to 'demographics' (option 'by' must be a list of column names)", 2) end
  local have = {}
  for _, name in ipairs(tbl:columns()) do have[name] = true end
  for _, name in ipairs(by) do
    if type(name) ~= "string" or not have[name] then
      error(("bad argument #2 to 'demographics' (no column '%s' to group by)"):format(tostring(name)), 2)
    end
  end
  for _, name in ipairs{ "age", "sex", "madrs_pre", "madrs_post" } do
    if not have[name] then error(("bad argument #1 to 'demographics' (the table has no column '%s')"):format(name), 2) end
  end

  -- Groups: by-values ranked by first appearance, except that true comes before false
  -- (responders first, as in the paper's Table 1) and missing comes last.
  local n = #tbl
  local cols = {}
  for j, name in ipairs(by) do cols[j] = tbl:column(name) end
  local rank = {}
  for j = 1, #by do rank[j] = { count = 0, of = {} } end
  local groups, by_key = {}, {}
  for i = 1, n do
    local key, vals = {}, {}
    for j, c in ipairs(cols) do
      local v = c[i]
      vals[j] = v
      local r = rank[j]
      local k = v == nil and "\0NA" or type(v) .. ":" .. tostring(v)
      if r.of[k] == nil then
        if v == nil then r.of[k] = math.huge
        elseif v == true then r.of[k] = -2
        elseif v == false then r.of[k] = -1
        else r.count = r.count + 1; r.of[k] = r.count end
      end
      key[j] = k
    end
    local k = table.concat(key, "\1")
    local g = by_key[k]
    if not g then
      g = { key = key, vals = vals, rows = {} }
      by_key[k] = g
      groups[#groups + 1] = g
    end
    g.rows[#g.rows + 1] = i
  end
  table.sort(groups, function(a, b)
    for j = 1, #by do
      local ra, rb = rank[j].of[a.key[j]], rank[j].of[b.key[j]]
      if ra ~= rb then return ra < rb end
    end
    return false
  end)

  -- age and MADRS must be numbers: a text column (a "." or "unknown" among the values)
  -- is named with its first offending row, not met later as a Lua arithmetic error.
  local types = tbl:types()
  for _, name in ipairs{ "age", "madrs_pre", "madrs_post" } do
    if types[name] ~= "number" then
      local col, ids = tbl:column(name), have.participant_id and tbl:column("participant_id")
      for i = 1, n do
        local v = col[i]
        if v ~= nil and tonumber(v) == nil then
          error(("bad argument #1 to 'demographics' (column '%s' is %s, not numbers: row %d%s has %s; mark a "
                 .. "missing value as NA (or list its code in the na option of nl.table.read))"):format(name,
                 types[name] == "bool" and "true/false" or "text", i,
                 ids and (" (" .. tostring(ids[i]) .. ")") or "", ("%q"):format(tostring(v))), 2)
        end
      end
    end
  end
  local age, sex, pre, post = tbl:column("age"), tbl:column("sex"), tbl:column("madrs_pre"), tbl:column("madrs_post")
  local odd, counts = unknown_sex_codes(sex, n, coding)
  if #odd > 0 then
    local shown = {}
    for i = 1, math.min(#odd, 6) do shown[i] = ("'%s' (%d)"):format(odd[i], counts[odd[i]]) end
    if coding then
      error(("bad argument #1 to 'demographics' (column 'sex' has values the option 'sex' does not code: %s)"):format(
            table.concat(shown, ", ")), 2)
    end
    error(("bad argument #1 to 'demographics' (column 'sex' has values other than F/M/female/male: %s; give their "
           .. "meaning, e.g. demographics(t, { sex = { female = %s, male = %s } }))"):format(table.concat(shown, ", "),
           lit(odd[2] or odd[1]), lit(odd[1])), 2)
  end
  local out = {}
  for j, name in ipairs(by) do
    local list = { n = #groups }
    for g = 1, #groups do
      local v = groups[g].vals[j]
      list[g] = v == nil and nl().table.NA or v
    end
    out[#out + 1] = { name, list }
  end
  local cells = {}
  local function add(name, v, g)
    cells[name] = cells[name] or {}
    cells[name][g] = v
  end
  for g, grp in ipairs(groups) do
    local ages, pres, posts, changes = {}, {}, {}, {}
    local females, known = 0, 0
    for _, i in ipairs(grp.rows) do
      if age[i] ~= nil then ages[#ages + 1] = age[i] end
      local f = is_female(sex[i], coding)
      if f ~= nil then
        known = known + 1
        if f then females = females + 1 end
      end
      if pre[i] ~= nil then pres[#pres + 1] = pre[i] end
      if post[i] ~= nil then posts[#posts + 1] = post[i] end
      if pre[i] ~= nil and post[i] ~= nil then changes[#changes + 1] = post[i] - pre[i] end
    end
    local am, asd = stats(ages)
    local pm, psd = stats(pres)
    local qm, qsd = stats(posts)
    local cm, csd = stats(changes)
    local pct = known > 0 and 100 * females / known or 0 / 0
    add("n", #grp.rows, g)
    if options.numeric then
      add("female", females, g); add("female_pct", pct, g)
      add("age_mean", am, g); add("age_sd", asd, g)
      add("madrs_pre_mean", pm, g); add("madrs_pre_sd", psd, g)
      add("madrs_post_mean", qm, g); add("madrs_post_sd", qsd, g)
      add("madrs_change_mean", cm, g); add("madrs_change_sd", csd, g)
    else
      add("female", ("%d (%s%%)"):format(females, pct ~= pct and "NA" or ("%.1f"):format(pct)), g)
      add("age", ("%s (%s)"):format(fmt2(am), fmt2(asd)), g)
      add("madrs_pre", ("%s (%s)"):format(fmt2(pm), fmt2(psd)), g)
      add("madrs_post", ("%s (%s)"):format(fmt2(qm), fmt2(qsd)), g)
    end
  end
  local order = options.numeric
      and { "n", "female", "female_pct", "age_mean", "age_sd", "madrs_pre_mean", "madrs_pre_sd", "madrs_post_mean",
            "madrs_post_sd", "madrs_change_mean", "madrs_change_sd" }
      or { "n", "female", "age", "madrs_pre", "madrs_post" }
  for _, name in ipairs(order) do
    local list = cells[name] or {}
    list.n = #groups
    out[#out + 1] = { name, list }
  end
  return nl().table.new(out)
end

return M
