-- Tests of a user's own participants table and GM maps (issue 16, docs/your-data.md):
-- each finding a new user reproduced is a test here. The inputs are the built-in
-- simulated cohort, edited the way a user's table goes wrong; the real T1 image and the
-- 0-255 MNI template come from ../shared/data when it is present.
local T = require "testing"
local nl = require "neurolua"

local K = dofile("../../scripts/ketamine/common.lua")
local root = T.tmpname("_your_data")
nl.mkdir(root)
local sim = root .. "/sim"
nl.sim.ketamine{ seed = 3, dir = sim, resolution = 3 }
local base = T.read_file(sim .. "/participants.tsv")

-- The simulated table as lines of cells (header first).
local function rows_of(text)
  local rows = {}
  for line in text:gmatch("[^\n]+") do
    local cells = {}
    for c in (line .. "\t"):gmatch("([^\t]*)\t") do cells[#cells + 1] = c end
    rows[#rows + 1] = cells
  end
  return rows
end
local header = rows_of(base)[1]
local col = {}
for j, name in ipairs(header) do col[name] = j end

-- Writes the simulated table after edit(rows) (rows[1] is the header; data row i is
-- file line i) into the cohort's folder (so relative gm_path values still resolve) and
-- returns its path.
local n_written = 0
local function table_with(edit, sep)
  local rows = rows_of(base)
  edit(rows)
  local lines = {}
  for i, r in ipairs(rows) do lines[i] = table.concat(r, sep or "\t") end
  n_written = n_written + 1
  local path = ("%s/participants_%d.%s"):format(sim, n_written, sep == ";" and "csv" or "tsv")
  T.write_file(path, table.concat(lines, "\n") .. "\n")
  return path
end

local function id_at(line) return rows_of(base)[line][col.participant_id] end

-- Runs a ketamine script on `path` with the options given, as a user would (no
-- NEUROLUA_TRACEBACK): returns ok and the output (stdout and stderr).
local function script(name, path, opts)
  local f = assert(io.popen(("NEUROLUA_TRACEBACK=0 '%s' ../../scripts/ketamine/%s.lua '%s' %s 2>&1"):format(arg[-1],
    name, path, opts or "")))
  local text = f:read("a")
  return f:close() == true, text
end
local fast = "permutations=0 wrapper=false"

T.test("a T1 image or a 0-255 map given as a GM map is refused before any computation", function()
  -- Two of the simulated maps made implausible: intensities like a T1 image, and a
  -- probability map stored as 0-255.
  local v5 = nl.volume.load(sim .. "/" .. rows_of(base)[6][col.gm_path])
  local v6 = nl.volume.load(sim .. "/" .. rows_of(base)[7][col.gm_path])
  ;(v5 * 1500):save(sim .. "/t1_like.nii.gz")
  ;(v6 * 255):save(sim .. "/scaled255.nii.gz")
  local path = table_with(function(r)
    r[6][col.gm_path] = "t1_like.nii.gz"
    r[7][col.gm_path] = "scaled255.nii.gz"
  end)
  local out = root .. "/bad_maps"
  local t = nl.study.participants(path)
  local err = T.raises(function() nl.study.regional_volumes(t, nl.atlas.load("aal")) end, "2 of 199 GM maps look implausible")
  T.truthy(err:find(path .. ":6 (" .. id_at(6) .. "): " .. sim .. "/t1_like.nii.gz", 1, true), err)
  T.truthy(err:find("is it a T1 image", 1, true), err)
  T.truthy(err:find(path .. ":7 (" .. id_at(7) .. ")", 1, true), err)
  T.truthy(err:find("scaled to 0-255 (divide by 255)", 1, true), err)
  T.truthy(err:find("checks=warn", 1, true), err)
  -- The total of the T1-like map against the cohort's median.
  T.truthy(err:find("against a cohort median of", 1, true), err)
  -- The study script stops before the nested CV: nothing is written.
  local ok, text = script("discovery", path, fast .. " out=" .. out)
  T.truthy(not ok, text)
  T.truthy(text:find("GM maps look implausible", 1, true), text)
  T.truthy(not T.exists(out .. "/discovery.model"), "no model written")
  -- Overridden: warnings, one row of checks per participant.
  local X, report = nl.study.regional_volumes(t, nl.atlas.load("aal"), { checks = "warn", quiet = true })
  T.eq(#X, 199)
  T.eq(report.status[5], "warning")
  T.eq(report.status[1], "ok")
  T.truthy(report.max[5] > 100 and report.max[1] <= 1.5, "max " .. report.max[5] .. ", " .. report.max[1])
  T.truthy(report.in_atlas[1] > 0.5, "share inside the atlas " .. report.in_atlas[1])
  local _, plain = nl.study.regional_volumes(nl.study.select(t, "cohort", "saline"), nl.atlas.load("aal"))
  for i = 1, #plain do T.eq(plain.status[i], "ok", plain.participant_id[i] .. ": " .. plain.note[i]) end
  -- A stated grid: the maps' own (passes), or another (every map is named).
  local saline = nl.study.select(t, "cohort", "saline")
  nl.study.regional_volumes(saline, nl.atlas.load("aal"), { grid = saline.gm_path[1] })
  local other = nl.atlas.load("aal"):volume()
  err = T.raises(function() nl.study.regional_volumes(saline, nl.atlas.load("aal"), { grid = other }) end,
    "49 of 49 GM maps look implausible")
  T.truthy(err:find("grid 61x73x61, 3 x 3 x 3 mm (or its affine) is not the stated grid 181x217x181, 1 x 1 x 1 mm",
    1, true), err)
end)

T.test("real images: a native-space T1 and the 0-255 MNI template are refused", function()
  local data = os.getenv("NL_SHARED_DATA")
  local t1 = data and data .. "/ixi_t1/IXI012-HH-1211_T1.nii.gz"
  local gm = data and data .. "/mni152/mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz"
  if not (t1 and T.exists(t1) and T.exists(gm)) then
    print("  skipped: ../shared/data (IXI T1, MNI152 template) is not present")
    return
  end
  local path = table_with(function(r)
    r[2][col.gm_path] = t1
    r[3][col.gm_path] = gm
  end)
  local t = nl.study.select(nl.study.participants(path), "cohort", "discovery")
  local err = T.raises(function() nl.study.regional_volumes(t, nl.atlas.load("aal")) end, "2 of 99 GM maps")
  T.truthy(err:find("values 0 to 3543: a tissue probability map holds 0-1", 1, true), err)
  T.truthy(err:find("is it in the atlas's (MNI) space?", 1, true), err)
  T.truthy(err:find("values 0 to 255", 1, true) and err:find("scaled to 0-255", 1, true), err)
end)

T.test("sex coded 1/2 is refused with the fix; an explicit coding is applied and reported", function()
  local path = table_with(function(r)
    for i = 2, #r do r[i][col.sex] = r[i][col.sex] == "F" and "2" or "1" end
  end)
  local err = T.raises(function() nl.study.participants(path) end, "column 'sex' has values other than F/M/female/male")
  T.truthy(err:find("'1' (", 1, true) and err:find("sex = { female = 2, male = 1 }", 1, true), err)
  T.truthy(err:find("sex=female:2,male:1", 1, true), err)
  local t = nl.study.participants(path, { sex = { female = 2, male = 1 }, quiet = true })
  local want = nl.study.participants(sim .. "/participants.tsv")
  for i = 1, #t do T.eq(t.sex[i], want.sex[i]) end
  -- Table 1 from it equals Table 1 of the original F/M table.
  T.eq(tostring(nl.study.demographics(t, { by = "cohort" })), tostring(nl.study.demographics(want, { by = "cohort" })))
  -- M/F in mixed spellings are one coding.
  local mixed = table_with(function(r)
    for i = 2, #r do r[i][col.sex] = ({ F = "female", M = "Male" })[r[i][col.sex]] end
  end)
  local tm = nl.study.participants(mixed)
  for i = 1, #tm do T.eq(tm.sex[i], want.sex[i]) end
end)

T.test("a missing or non-numeric age names the file line and participant, before any computation", function()
  local path = table_with(function(r) r[140][col.age] = "NA"; r[41][col.madrs_post] = "" end)
  local err = T.raises(function() nl.study.participants(path) end, "2 participants with missing values")
  T.truthy(err:find("line 140 (" .. id_at(140) .. "): age", 1, true), err)
  T.truthy(err:find("line 41 (" .. id_at(41) .. "): madrs_post", 1, true), err)
  T.truthy(err:find("na=drop", 1, true), err)
  -- In the study script: the message without a traceback or an internal position, and
  -- nothing computed.
  local ok, text = script("discovery", path, fast .. " out=" .. root .. "/na")
  T.truthy(not ok, text)
  T.truthy(text:find("line 140 (" .. id_at(140) .. "): age", 1, true), text)
  T.truthy(not text:find("stack traceback", 1, true), text)
  T.truthy(not text:find("common.lua:", 1, true) and not text:find("study.lua", 1, true), text)
  T.truthy(text:find("run with --traceback", 1, true), text)
  T.truthy(not T.exists(root .. "/na/discovery.model"))
  -- na = "drop": the participants are left out and listed. The script run also has
  -- sex coded 1/2 with its script option (one nested CV for both).
  local t = nl.study.participants(path, { na = "drop", quiet = true })
  T.eq(#t, 197)
  local coded = table_with(function(r)
    r[140][col.age] = "NA"; r[41][col.madrs_post] = ""
    for i = 2, #r do r[i][col.sex] = r[i][col.sex] == "F" and "2" or "1" end
  end)
  ok, text = script("discovery", coded, fast .. " out=" .. root .. "/na na=drop sex=female:2,male:1")
  T.truthy(ok, text)
  T.truthy(text:find("dropped 2 of 199 participants with missing values", 1, true), text)
  T.truthy(text:find(": sex coded 2 = female %(%d+%), 1 = male %(%d+%)"), text)
  T.truthy(text:find("Discovery: 98 subjects", 1, true), text)
  -- '.' for a missing age: named, with the na_values fix, which then works.
  local dot = table_with(function(r) r[12][col.age] = "." end)
  err = T.raises(function() nl.study.participants(dot) end, "column 'age' must hold numbers")
  T.truthy(err:find("line 12 (" .. id_at(12) .. ") has \".\"", 1, true), err)
  T.truthy(err:find("na_values = { \".\" }", 1, true), err)
  T.eq(#nl.study.participants(dot, { na_values = { "." }, na = "drop", quiet = true }), 198)
end)

T.test("column and cohort names get a did-you-mean and the fix", function()
  local path = table_with(function(r) r[1][col.age] = "Age" end)
  local err = T.raises(function() nl.study.participants(path) end, "missing column 'age'")
  T.truthy(err:find("did you mean 'Age' for 'age'?", 1, true), err)
  T.truthy(err:find('rename = { ["Age"] = "age" }', 1, true), err)
  T.raises(function() nl.study.participants(path, { renmae = { Age = "age" } }) end,
    "unknown option 'renmae' for participants; expected one of: na, na_values, sex, rename, required, quiet; did you mean 'rename'?")
  T.raises(function() nl.study.regional_volumes(nl.table.new{}, nl.atlas.load("aal"), { check = "warn" }) end,
    "did you mean 'checks'?")
  local t = nl.study.participants(path, { rename = { Age = "age" } })
  T.eq(t.age[1], nl.study.participants(sim .. "/participants.tsv").age[1])
  local cap = table_with(function(r)
    for i = 2, #r do r[i][col.cohort] = r[i][col.cohort]:gsub("^%l", string.upper) end
  end)
  err = T.raises(function() nl.study.select(nl.study.participants(cap), "cohort", "discovery", cap) end,
    "has no rows with cohort 'discovery'; did you mean 'Discovery'?")
  T.truthy(err:find("'Discovery' (99)", 1, true), err)
  err = T.raises(function() nl.study.select(nl.study.participants(cap), "Cohort", "discovery") end,
    "no column 'Cohort'")
  T.truthy(err:find("did you mean 'cohort'?", 1, true), err)
end)

T.test("duplicate participants and missing map files are named with their lines", function()
  local dup = table_with(function(r) r[30][col.participant_id] = r[10][col.participant_id] end)
  T.raises(function() nl.study.participants(dup) end, ":30: participant_id '" .. id_at(10) .. "' is also on line 10")
  local gone = table_with(function(r) r[8][col.gm_path] = "gm/none.nii.gz" end)
  local err = T.raises(function() nl.study.participants(gone) end, "1 GM map cannot be opened")
  T.truthy(err:find("line 8 (" .. id_at(8) .. "): " .. sim .. "/gm/none.nii.gz (No such file or directory)", 1, true), err)
end)

T.test("a saved model is reused only for the same inputs by content, and the script says why", function()
  local path = table_with(function() end)
  local out = root .. "/cache"
  local ok, text = script("discovery", path, fast .. " out=" .. out)
  T.truthy(ok, text)
  -- Without permutations the top regions come with the caveat, their marks as "(*)".
  T.truthy(text:find("caveat: no permutation test", 1, true), text)
  T.truthy(text:find("(*)  ", 1, true) and not text:find("%d%*  "), text)
  local model = T.read_file(out .. "/discovery.model")
  ok, text = script("saline_control", path, fast .. " out=" .. out)
  T.truthy(ok and text:find("reusing " .. out .. "/discovery.model", 1, true), text)
  -- Edit the table in place (same path): a discovery participant's MADRS.
  local edited = base:gsub("\n(" .. id_at(2):gsub("%-", "%%-") .. "\t[^\n]*)", function(line)
    local cells = {}
    for c in (line .. "\t"):gmatch("([^\t]*)\t") do cells[#cells + 1] = c end
    -- a responder becomes a non-responder and the other way round
    local pre, post = tonumber(cells[col.madrs_pre]), tonumber(cells[col.madrs_post])
    cells[col.madrs_post] = (post - pre) / pre <= -0.5 and cells[col.madrs_pre] or "0"
    return "\n" .. table.concat(cells, "\t")
  end, 1)
  T.truthy(edited ~= base)
  T.write_file(path, edited)
  ok, text = script("saline_control", path, fast .. " out=" .. out)
  T.truthy(ok and text:find("retraining " .. out .. "/discovery.model: the participants table changed", 1, true), text)
  T.truthy(T.read_file(out .. "/discovery.model") ~= model, "the model was retrained")
  -- A GM map replaced by another file under the same name ...
  local map = sim .. "/" .. rows_of(base)[3][col.gm_path]
  local v = nl.volume.load(map)
  ;(v * 0.9):save(map)
  -- and an option (one retraining for both)
  ok, text = script("saline_control", path, fast .. " out=" .. out .. " seed=2")
  T.truthy(ok and text:find("1 GM map new or changed (" .. id_at(3) .. ")", 1, true), text)
  T.truthy(text:find("option seed 1 -> 2", 1, true), text)
end)

os.execute("rm -rf '" .. root .. "'")
T.done()
