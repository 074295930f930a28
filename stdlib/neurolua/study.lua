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

-- ---------------------------------------------------------------- codes

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

-- ---------------------------------------------------------------- participants

-- What nl.study.participants checks: the columns a participants file must have, the
-- ones read as text, and the ones that must be numbers.
local required = { "participant_id", "age", "sex", "site", "tiv", "madrs_pre", "madrs_post", "gm_path" }
local as_string = { "participant_id", "cohort", "arm", "sex", "site", "gm_path" }
local numeric = { "age", "tiv", "madrs_pre", "madrs_post" }
local closest = function(...) return require("neurolua.util").closest(...) end

-- participant id -> "file:line" of the participants file it was last read from, so a
-- message about a participant (a GM map, a label) can point into the file.
local where_of = {}

-- "participants.tsv:181 (sub-031)" for participant `id`, or "participant sub-031" when
-- no participants file read in this session holds it.
function M.where(id)
  id = tostring(id)
  local w = where_of[id]
  return w and ("%s (%s)"):format(w, id) or ("participant " .. id)
end

-- "'A' (3), 'B' (1), ... and 4 more" for the first `max` of a list of {text, count}.
local function listing(items, max)
  local shown = {}
  for i = 1, math.min(#items, max) do
    shown[i] = items[i][2] and ("'%s' (%d)"):format(items[i][1], items[i][2]) or ("'%s'"):format(items[i][1])
  end
  local more = #items > max and (" and %d more"):format(#items - max) or ""
  return table.concat(shown, ", ") .. more
end

-- A list as indented lines (the first `max`, then how many more), for messages that
-- name several participants.
local function bullets(items, max)
  max = max or 8
  local out = {}
  for i = 1, math.min(#items, max) do out[i] = "\n  " .. items[i] end
  if #items > max then out[#out + 1] = ("\n  ... and %d more"):format(#items - max) end
  return table.concat(out)
end

local function option_list(v, what, argn)
  if v == nil then return {} end
  if type(v) == "string" then return { v } end
  if type(v) ~= "table" then
    error(("bad argument #%d to 'participants' (option '%s' must be a list of strings)"):format(argn, what), 3)
  end
  return v
end

-- The sex coding of an option { female = <code>, male = <code> } as code text ->
-- true (female) / false (male), or nil when no option is given.
local function sex_coding(c, fname, argn)
  if c == nil then return nil end
  if type(c) ~= "table" or c.female == nil or c.male == nil then
    error(("bad argument #%d to '%s' (option 'sex' must be { female = <code>, male = <code> }, "
           .. "e.g. { female = 2, male = 1 })"):format(argn, fname), 3)
  end
  for k in pairs(c) do
    if k ~= "female" and k ~= "male" then
      error(("bad argument #%d to '%s' (option 'sex' has key '%s'; expected female and male)"):format(argn, fname,
            tostring(k)), 3)
    end
  end
  if code_text(c.female) == code_text(c.male) then
    error(("bad argument #%d to '%s' (option 'sex': female and male have the same code)"):format(argn, fname), 3)
  end
  return { [code_text(c.female)] = true, [code_text(c.male)] = false }
end

local participants_options = { "na", "na_values", "sex", "rename", "required", "quiet" }

function M.participants(path, options)
  if type(path) ~= "string" then
    error(("bad argument #1 to 'participants' (a file path expected, got %s)"):format(type_name(path)), 2)
  end
  options = require("neurolua.util").check_options(options, "participants", participants_options, 2, 2)
  local na_policy = options.na or "error"
  if na_policy ~= "error" and na_policy ~= "drop" then
    error(("bad argument #2 to 'participants' (option 'na' must be \"error\" or \"drop\", got %s)"):format(
          tostring(na_policy)), 2)
  end
  local coding = sex_coding(options.sex, "participants", 2)
  local need = options.required and option_list(options.required, "required", 2) or required
  local rename = options.rename or {}
  if type(rename) ~= "table" then
    error("bad argument #2 to 'participants' (option 'rename' must be { column_in_file = \"name\" })", 2)
  end
  local T = nl().table
  local na = { "", "NA", "n/a", "N/A" }
  for _, v in ipairs(option_list(options.na_values, "na_values", 2)) do na[#na + 1] = v end
  local t = T.read(path, { na = na })
  local have, header = {}, t:columns()
  for _, name in ipairs(header) do have[name] = true end
  for from, to in pairs(rename) do
    if not have[from] then
      local near = closest(tostring(from), header)
      error(("%s: option rename names column '%s', which is not in the file%s (columns: %s)"):format(path,
            tostring(from), near and (" (did you mean '" .. near .. "'?)") or "", table.concat(header, ", ")), 2)
    end
    have[to] = true
  end
  local missing = {}
  for _, name in ipairs(need) do
    if not have[name] then missing[#missing + 1] = name end
  end
  if #missing > 0 then
    local hints = {}
    for _, name in ipairs(missing) do
      local near = closest(name, header)
      if near then hints[#hints + 1] = ("'%s' for '%s'"):format(near, name) end
    end
    local hint = ""
    if #hints > 0 then
      local a, b = hints[1]:match("^'(.-)' for '(.-)'$")
      hint = ("; did you mean %s? Rename the column in the file or pass rename = { [\"%s\"] = \"%s\" }"):format(
        table.concat(hints, ", "), a, b)
    end
    error(("%s: missing column%s %s (a participants file needs %s; the file has %s)%s"):format(path,
          #missing > 1 and "s" or "", "'" .. table.concat(missing, "', '") .. "'", table.concat(need, ", "),
          table.concat(header, ", "), hint), 2)
  end
  -- Read again with identifiers, codes and paths forced to strings (a site coded 1/2
  -- must stay categorical for nl.ml.regress_out) and the file line of every row.
  local types = {}
  local inverse = {}
  for from, to in pairs(rename) do inverse[to] = from end
  for _, name in ipairs(as_string) do
    local in_file = inverse[name] or name
    if have[in_file] and (inverse[name] or not rename[name]) then types[in_file] = "string" end
  end
  local line_col = "\1line"
  t = T.read(path, { types = types, na = na, line_column = line_col })
  local lines = {}
  local lc = t[line_col]
  for i = 1, #t do lines[i] = math.tointeger(lc[i]) end
  local keep = {}
  for _, name in ipairs(header) do keep[#keep + 1] = name end
  t = t:select(keep)
  for from, to in pairs(rename) do
    t[to] = t[from]
    t[from] = nil
  end
  local n = #t
  local ids = t.participant_id
  local function at(i)
    return ("%s:%d (%s)"):format(path, lines[i], ids and tostring(ids[i]) or ("row " .. i))
  end

  -- Participant ids: present and unique.
  if ids then
    local first = {}
    for i = 1, n do
      local id = ids[i]
      if id == nil then error(("%s:%d: participant_id is missing"):format(path, lines[i]), 2) end
      if first[id] then
        error(("%s:%d: participant_id '%s' is also on line %d; each participant needs one row"):format(path, lines[i],
              id, lines[first[id]]), 2)
      end
      first[id] = i
    end
  end

  -- Columns that must hold numbers: a text cell is named with its line and participant.
  local ttypes = t:types()
  -- (Only the columns the analysis uses: `required`, or sex with an explicit coding.)
  local needed = {}
  for _, name in ipairs(need) do needed[name] = true end
  for _, name in ipairs(numeric) do
    if needed[name] and have[name] and ttypes[name] ~= "number" then
      local col, bad, first = t[name], {}, nil
      for i = 1, n do
        local v = col[i]
        if v ~= nil and tonumber(v) == nil then
          bad[#bad + 1] = ("line %d (%s) has %q"):format(lines[i], ids and tostring(ids[i]) or ("row " .. i), tostring(v))
          first = first or tostring(v)
        end
      end
      if #bad > 0 then
        error(("%s: column '%s' must hold numbers, but:%s\nMark a missing value as NA or leave it empty, or list "
               .. "its code in na_values (na_values = { %q }; script option na_values=%s)"):format(path, name,
               bullets(bad, 5), first, first), 2)
      end
    end
  end

  -- Sex: F/M/female/male in any case, or an explicit coding; stored as "F" / "M".
  if have.sex and (needed.sex or coding) then
    local sex = t.sex
    local odd, counts = unknown_sex_codes(sex, n, coding)
    if #odd > 0 then
      local items = {}
      for _, c in ipairs(odd) do items[#items + 1] = { c, counts[c] } end
      if coding then
        error(("%s: column 'sex' has values the option 'sex' does not code: %s"):format(path, listing(items, 6)), 2)
      end
      error(("%s: column 'sex' has values other than F/M/female/male: %s; say which code is female, e.g. "
             .. "sex = { female = %s, male = %s } (script option sex=female:%s,male:%s)"):format(path,
             listing(items, 6), lit(odd[2] or odd[1]), lit(odd[1]), odd[2] or odd[1], odd[1]), 2)
    end
    local out, tally = { n = n }, { F = 0, M = 0 }
    for i = 1, n do
      local f = is_female(sex[i], coding)
      if f == nil then out[i] = T.NA else out[i] = f and "F" or "M"; tally[out[i]] = tally[out[i]] + 1 end
    end
    t.sex = out
    if coding and not options.quiet then
      local fcode, mcode
      for k, v in pairs(coding) do if v then fcode = k else mcode = k end end
      io.stderr:write(("%s: sex coded %s = female (%d), %s = male (%d)\n"):format(path, fcode, tally.F, mcode, tally.M))
    end
  end

  -- Missing values in the columns the analysis uses: an error listing them, or the
  -- participants dropped (na = "drop") and listed.
  local holes, drop = {}, {}
  for i = 1, n do
    local cols = {}
    for _, name in ipairs(need) do
      local v = t[name][i]
      if v == nil or v == T.NA then cols[#cols + 1] = name end
    end
    if #cols > 0 then
      holes[#holes + 1] = ("line %d (%s): %s"):format(lines[i], ids and tostring(ids[i]) or ("row " .. i),
        table.concat(cols, ", "))
      drop[i] = true
    end
  end
  if #holes > 0 then
    if na_policy == "error" then
      error(("%s: %d participant%s with missing values:%s\nFill them in, or leave these participants out with "
             .. "na = \"drop\" (script option na=drop)"):format(path, #holes, #holes > 1 and "s" or "",
             bullets(holes)), 2)
    end
    local rows, kept_lines = {}, {}
    for i = 1, n do
      if not drop[i] then rows[#rows + 1] = i; kept_lines[#kept_lines + 1] = lines[i] end
    end
    if not options.quiet then
      io.stderr:write(("%s: dropped %d of %d participants with missing values (na = \"drop\"):%s\n"):format(path,
        #holes, n, bullets(holes, math.huge)))
    end
    t = t:take(rows)
    lines, n, ids = kept_lines, #rows, t.participant_id
  end

  -- GM map paths: relative to the file's folder, and every file present.
  if have.gm_path and needed.gm_path then
    local dir = path:match("^(.*)/[^/]*$")
    if dir == "" then dir = "/" end
    local gm = t.gm_path
    local resolved, absent = { n = n }, {}
    for i = 1, n do
      local p = gm[i]
      if p ~= nil and p ~= T.NA then
        if p:sub(1, 1) ~= "/" and dir then p = (dir == "/" and "/" or dir .. "/") .. p end
        local f, why = io.open(p, "rb")
        if f then
          f:close()
        else
          -- why: "<path>: No such file or directory", or the sandbox's reason
          why = tostring(why):gsub("^" .. p:gsub("%p", "%%%0") .. ": ", "")
          absent[#absent + 1] = ("line %d (%s): %s (%s)"):format(lines[i], ids and tostring(ids[i]) or ("row " .. i), p,
            why)
        end
        resolved[i] = p
      else
        resolved[i] = T.NA
      end
    end
    if #absent > 0 then
      error(("%s: %d GM map%s cannot be opened (gm_path is read relative to the file's folder):%s"):format(path,
            #absent, #absent > 1 and "s" or "", bullets(absent, 5)), 2)
    end
    t.gm_path = resolved
  end
  if ids then
    for i = 1, n do where_of[tostring(ids[i])] = ("%s:%d"):format(path, lines[i]) end
  end
  return t
end

-- Rows of `tbl` whose column `name` holds one of `values` (a string or a list). A value
-- no row has raises, listing the values the column has (with counts) and the closest.
function M.select(tbl, name, values, what)
  if type_name(tbl) ~= "neurolua.Table" then
    error(("bad argument #1 to 'select' (a neurolua.Table expected, got %s)"):format(type_name(tbl)), 2)
  end
  if type(values) == "string" then values = { values } end
  if type(name) ~= "string" or type(values) ~= "table" or #values == 0 then
    error("bad argument to 'select' (expected select(table, column, value or list of values))", 2)
  end
  what = what or "the table"
  local cols = tbl:columns()
  local has = false
  for _, c in ipairs(cols) do has = has or c == name end
  if not has then
    local near = closest(name, cols)
    error(("%s has no column '%s' to select %s%s"):format(what, name, table.concat(values, ", "),
          near and ("; did you mean '" .. near .. "'?") or ""), 2)
  end
  local col = tbl:column(name)
  local present, order = {}, {}
  for i = 1, #tbl do
    local v = col[i]
    if v ~= nil then
      local k = code_text(v)
      if not present[k] then present[k] = 0; order[#order + 1] = k end
      present[k] = present[k] + 1
    end
  end
  local keep = {}
  local wanted = {}
  for _, v in ipairs(values) do
    local k = code_text(v)
    if not present[k] then
      local items = {}
      for _, o in ipairs(order) do items[#items + 1] = { o, present[o] } end
      local near = closest(k, order)
      error(("%s has no rows with %s '%s'%s (%s has: %s)"):format(what, name, k,
            near and ("; did you mean '" .. near .. "'?") or "", name, listing(items, 12)), 2)
    end
    wanted[k] = true
  end
  for i = 1, #tbl do
    local v = col[i]
    if v ~= nil and wanted[code_text(v)] then keep[#keep + 1] = i end
  end
  return tbl:take(keep)
end

-- ---------------------------------------------------------------- GM maps

local function median(xs)
  local c = {}
  for i, x in ipairs(xs) do c[i] = x end
  table.sort(c)
  local n = #c
  if n == 0 then return 0 / 0 end
  return n % 2 == 1 and c[(n + 1) // 2] or (c[n // 2] + c[n // 2 + 1]) / 2
end

local function grid_text(v)
  local d, sp = v:dims(), v:spacing()
  return ("%dx%dx%d, %.3g x %.3g x %.3g mm"):format(d[1], d[2], d[3], sp[1], sp[2], sp[3])
end

local function grid_key(v)
  local a = v:affine()
  local parts = { table.concat(v:dims(), "x") }
  for r = 1, 3 do
    for c = 1, 4 do parts[#parts + 1] = ("%.3f"):format(a:get(r, c)) end
  end
  return table.concat(parts, " ")
end

local map_options = { "checks", "max_value", "stat", "quiet", "grid" }

-- The regional GM volumes of the participants of `tbl` (their gm_path maps summarized
-- with `atlas`), after checking that each map is plausible as a tissue probability map
-- in the atlas's space. Returns the Table of regional values (one row per participant)
-- and a Table of the checks (one row per participant).
function M.regional_volumes(tbl, atlas, options)
  if type_name(tbl) ~= "neurolua.Table" then
    error(("bad argument #1 to 'regional_volumes' (a neurolua.Table expected, got %s)"):format(type_name(tbl)), 2)
  end
  if type_name(atlas) ~= "neurolua.Atlas" then
    error(("bad argument #2 to 'regional_volumes' (a neurolua.Atlas expected, got %s)"):format(type_name(atlas)), 2)
  end
  options = require("neurolua.util").check_options(options, "regional_volumes", map_options, 3, 2)
  local checks = options.checks or "error"
  if checks ~= "error" and checks ~= "warn" and checks ~= "off" then
    error(("bad argument #3 to 'regional_volumes' (option 'checks' must be \"error\", \"warn\" or \"off\", got %s)")
          :format(tostring(checks)), 2)
  end
  local max_value = options.max_value or 2
  -- grid: the grid every map must be on (a Volume or the path of an image on it), for
  -- a study that states its template space rather than trusting the maps' headers.
  local want_grid, want_text
  if options.grid ~= nil then
    local g = options.grid
    if type(g) == "string" then g = nl().volume.load(g) end
    if type_name(g) ~= "neurolua.Volume" then
      error("bad argument #3 to 'regional_volumes' (option 'grid' must be a Volume or the path of an image on the "
            .. "expected grid)", 2)
    end
    want_grid, want_text = grid_key(g), grid_text(g)
  end
  local have = {}
  for _, c in ipairs(tbl:columns()) do have[c] = true end
  if not have.gm_path then error("bad argument #1 to 'regional_volumes' (the table has no column 'gm_path')", 2) end
  local n = #tbl
  local ids = have.participant_id and tbl.participant_id or nil
  local paths = tbl.gm_path
  local function who(i) return ids and M.where(ids[i]) or ("row " .. i) end
  local maps = nl().volume.load_all(paths)
  local X = atlas:summarize(maps, options.stat or "volume_ml")
  if checks == "off" then return X, nil end

  -- Per map: value range, total (ml of tissue), the share of it inside the atlas's
  -- regions, and the grid.
  local inside_X = (options.stat or "volume_ml") == "volume_ml" and X or atlas:summarize(maps, "volume_ml")
  local regions = inside_X:columns()
  local mins, maxs, totals, shares, grids = {}, {}, {}, {}, {}
  local grid_count, grid_first = {}, {}
  for i, v in ipairs(maps) do
    local st = v:stats()
    mins[i], maxs[i] = st.min, st.max
    totals[i] = st.sum * v:voxel_volume() / 1000
    local inside = 0
    for _, r in ipairs(regions) do
      local x = inside_X[r][i]
      if type(x) == "number" and x == x then inside = inside + x end
    end
    shares[i] = totals[i] > 0 and inside / totals[i] or 0 / 0
    local g = grid_key(v)
    grids[i] = g
    grid_count[g] = (grid_count[g] or 0) + 1
    grid_first[g] = grid_first[g] or i
  end
  local med_total, med_share = median(totals), median(shares)
  local common, most = nil, 0
  for g, c in pairs(grid_count) do
    if c > most or (c == most and grid_first[g] < grid_first[common]) then common, most = g, c end
  end

  local problems, warnings = {}, {}
  local status, notes = { n = n }, { n = n }
  for i = 1, n do
    local mine = {}
    if mins[i] < -0.01 or maxs[i] > max_value then
      mine[#mine + 1] = ("values %.4g to %.4g: a tissue probability map holds 0-1 (modulated maps rarely exceed 1.5)%s")
        :format(mins[i], maxs[i], maxs[i] > 50 and maxs[i] <= 300 and "; is it a map scaled to 0-255 (divide by 255)?"
                or (maxs[i] > 300 and "; is it a T1 image rather than a GM map?" or ""))
    end
    if n >= 5 and med_total > 0 and (totals[i] > 2 * med_total or totals[i] < 0.5 * med_total) then
      mine[#mine + 1] = ("total %.0f ml against a cohort median of %.0f ml"):format(totals[i], med_total)
    end
    if shares[i] == shares[i] and (shares[i] < 0.5 or (n >= 5 and shares[i] < med_share - 0.25)) then
      mine[#mine + 1] = ("only %.0f%% of the map lies inside the atlas regions (cohort median %.0f%%): is it in "
                         .. "the atlas's (MNI) space?"):format(100 * shares[i], 100 * med_share)
    end
    if want_grid and grids[i] ~= want_grid then
      mine[#mine + 1] = ("grid %s (or its affine) is not the stated grid %s"):format(grid_text(maps[i]), want_text)
    end
    if #mine > 0 then
      problems[#problems + 1] = ("%s: %s: %s"):format(who(i), paths[i], table.concat(mine, "; "))
      status[i], notes[i] = checks == "error" and "error" or "warning", table.concat(mine, "; ")
    elseif grids[i] ~= common then
      warnings[#warnings + 1] = ("%s: %s: grid %s differs from that of %d of the %d maps (%s)"):format(who(i),
        paths[i], grid_text(maps[i]), most, n, grid_text(maps[grid_first[common]]))
      status[i], notes[i] = "warning", "grid differs from the other maps"
    else
      status[i], notes[i] = "ok", ""
    end
  end
  local report = nl().table.new{
    { "participant_id", ids and (function() local l = { n = n } for i = 1, n do l[i] = ids[i] end return l end)()
      or (function() local l = { n = n } for i = 1, n do l[i] = "row " .. i end return l end)() },
    { "gm_path", (function() local l = { n = n } for i = 1, n do l[i] = paths[i] end return l end)() },
    { "min", mins }, { "max", maxs }, { "total_ml", totals }, { "in_atlas", shares },
    { "status", status }, { "note", notes },
  }
  if #problems > 0 and checks == "error" then
    error(("%d of %d GM map%s look%s implausible as tissue probability maps:%s\nFix or remove these maps; to go on "
           .. "anyway use checks = \"warn\" (script option checks=warn)"):format(#problems, n, n > 1 and "s" or "",
           #problems == 1 and "s" or "", bullets(problems, 5)), 2)
  end
  if not options.quiet then
    for _, p in ipairs(problems) do io.stderr:write("warning: " .. p .. "\n") end
    for _, w in ipairs(warnings) do io.stderr:write("warning: " .. w .. "\n") end
  end
  return X, report
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
  local coding = sex_coding(options.sex, "demographics", 2)
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
