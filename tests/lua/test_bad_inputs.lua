-- test_bad_inputs.lua: the bad-input catalogue (docs/reliability.md).
--
-- One test per bad input, each through the public Lua API, on small files generated in
-- a temporary folder, each checking the exact important part of the message: the file,
-- argument or column named, and what is wrong. Inputs that are odd but valid (a UTF-8
-- byte order mark, CRLF line ends, NaN voxels) are checked to be read correctly.
local T = require "testing"
local nl = require "neurolua"

-- ---------------------------------------------------------------- helpers

local dir = T.tmpname("-bad-inputs")
assert(os.execute("mkdir -p '" .. dir .. "'"))
local made = {}
-- Writes text to dir/name and returns the path.
local function file(name, text)
  local p = dir .. "/" .. name
  T.write_file(p, text)
  made[#made + 1] = p
  return p
end

-- Replaces the bytes of s from 0-based offset off on with b.
local function splice(s, off, b) return s:sub(1, off) .. b .. s:sub(off + #b + 1) end

-- A single-file NIfTI-1 image (little-endian, no qform/sform). o.dims: {nx, ny, nz [, nt]};
-- o.datatype: NIfTI code (default 16, float32); o.values: voxel values for float32 (else
-- o.data: the raw voxel bytes); o.magic: 4 bytes (default "n+1\0").
local function nifti(o)
  local dims = o.dims
  local datatype = o.datatype or 16
  local bitpix = ({ [2] = 8, [4] = 16, [8] = 32, [16] = 32, [32] = 64, [64] = 64, [128] = 24 })[datatype] or 8
  local h = string.rep("\0", 348)
  h = splice(h, 0, string.pack("<i4", 348))
  h = splice(h, 40, string.pack("<i2i2i2i2i2i2i2i2", #dims, dims[1], dims[2], dims[3], dims[4] or 1, 1, 1, 1))
  h = splice(h, 70, string.pack("<i2i2", datatype, bitpix))
  h = splice(h, 76, string.pack("<ffffffff", 1, 2, 2, 2, 1, 1, 1, 1))
  h = splice(h, 108, string.pack("<fff", 352, 1, 0))
  h = splice(h, 344, o.magic or "n+1\0")
  local data = o.data
  if not data then
    local parts = {}
    for i, v in ipairs(o.values) do parts[i] = string.pack("<f", v) end
    data = table.concat(parts)
  end
  return h .. "\0\0\0\0" .. data
end

-- n float32 voxel values 1, 2, ..., n.
local function ramp(n)
  local v = {}
  for i = 1, n do v[i] = i end
  return v
end

-- A small two-class data set: X (n x p Matrix), y (list of booleans), covariates Table.
local function dataset(n, p)
  local X = nl.matrix.randn(n, p, 11)
  local y, age = {}, {}
  for i = 1, n do
    y[i] = X:get(i, 1) > 0
    age[i] = 30 + i % 7
  end
  return X, y, nl.table.new { { "age", age } }
end

local pipe = nl.ml.pipeline { nl.ml.scale {}, nl.ml.svc { C = { 1 } } }
local cv = { outer = { 3, 1 }, inner = { 3, 1 } }

-- ---------------------------------------------------------------- CSV / TSV

T.test("csv: ragged row names the file, line and field counts", function()
  local p = file("ragged.csv", "id,age,sex\n1,30,f\n2,31\n")
  T.raises(function() nl.table.read(p) end, p .. ":3: row has 2 fields, header has 3")
end)

T.test("csv: unterminated quote names the line and column", function()
  local p = file("quote.csv", 'id,name\n1,"Smith\n2,Jones\n')
  T.raises(function() nl.table.read(p) end, p .. ":2: unterminated quoted field starting in column 'name'")
end)

T.test("csv: non-numeric cell in a column forced to numbers names line, column and cell", function()
  local p = file("nonnum.csv", "id,age\n1,30\n2,thirty\n")
  T.raises(function() nl.table.read(p, { types = { age = "number" } }) end,
    p .. ":3: column 'age': 'thirty' is not a number")
end)

T.test("csv: non-numeric cell in an inferred column: a string column, refused as numbers by name", function()
  local p = file("nonnum2.csv", "id,age\n1,30\n2,thirty\n")
  local t = nl.table.read(p)
  T.eq(t.age:type(), "string")
  T.raises(function() t:matrix { "id", "age" } end, "column 'age' holds strings")
  T.raises(function() nl.cv.nested(pipe, t, { true, false }) end, "column 'age' holds strings")
end)

T.test("csv: duplicate header names both columns", function()
  local p = file("dup.tsv", "id\tage\tsex\tage\n1\t2\tf\t3\n")
  T.raises(function() nl.table.read(p) end, p .. ": duplicate column name 'age' (columns 2 and 4)")
end)

T.test("csv: empty file and a file of blank lines", function()
  local p = file("empty.csv", "")
  T.raises(function() nl.table.read(p) end, p .. ": empty file")
  local q = file("blank.csv", "\n\n")
  T.raises(function() nl.table.read(q) end, q .. ": empty header")
end)

T.test("csv: a UTF-8 byte order mark is read, not kept in the first name", function()
  local t = nl.table.read(file("bom.csv", "\239\187\191id,age\n1,30\n"))
  T.eq(t:columns()[1], "id")
  T.eq(t.id[1], 1)
  T.eq(t.age[1], 30)
end)

T.test("csv: CRLF line ends are read, no carriage return in names or cells", function()
  local t = nl.table.read(file("crlf.tsv", "id\tsex\r\n1\tf\r\n2\tm\r\n"))
  T.eq(table.concat(t:columns(), ","), "id,sex")
  T.eq(#t, 2)
  T.eq(t.sex[2], "m")
end)

T.test("csv: a missing file names it", function()
  T.raises(function() nl.table.read(dir .. "/none.csv") end, dir .. "/none.csv: cannot open file (No such file or directory)")
end)

T.test("csv: a table larger than the memory budget is refused before it is parsed", function()
  local before = nl.memory_budget()
  T.eq(nl.volume.memory_budget, nl.memory_budget, "one budget for images and tables")
  local big = file("big.csv", "a,b\n" .. string.rep("1,2\n", 500))  -- 2004 bytes
  local cells = file("cells.csv", "a,b\n" .. string.rep("1,2\n", 100))  -- 404 bytes: 1 + 101 commas + 101 line ends = 203 fields at most
  nl.memory_budget(1000)
  local ok1, e1 = pcall(nl.table.read, big)
  local ok2, e2 = pcall(nl.table.read, cells)
  local ok3, e3 = pcall(nl.table.parse, T.read_file(cells))
  nl.memory_budget(0)
  T.eq(nl.memory_budget(), before)
  T.truthy(not ok1 and e1:find(big .. ": the file has 2004 bytes (2.0 KB), more than the memory budget of 1000 bytes (see nl.memory_budget)", 1, true), e1)
  T.truthy(not ok2 and e2:find(cells .. ": reading this table (404 bytes, up to 203 cells) would need about", 1, true), e2)
  T.truthy(e2:find("more than the budget of 1000 bytes (see nl.memory_budget)", 1, true), e2)
  T.truthy(not ok3 and e3:find("<text>: reading this table (404 bytes", 1, true), e3)
  T.eq(#nl.table.read(big), 500, "read under the default budget")
end)

T.test("nifti: an image larger than the memory budget is refused before allocation", function()
  local p = file("budget.nii", nifti { dims = { 4, 4, 4 }, values = ramp(64) })
  nl.memory_budget(100)
  local ok, err = pcall(nl.volume.load, p)
  nl.memory_budget(0)
  T.truthy(not ok and err:find("'" .. p .. "': header dimensions 4x4x4x1 would need 256 bytes of memory, more than the budget of 100 bytes (see nl.memory_budget)", 1, true), err)
  T.eq(nl.volume.load(p):get(4, 4, 4), 64)
end)

-- ---------------------------------------------------------------- NIfTI

T.test("nifti: truncated voxel data names the bytes needed and present", function()
  local good = nifti { dims = { 2, 2, 2 }, values = ramp(8) }
  local p = file("trunc.nii", good:sub(1, 352 + 10))
  T.raises(function() nl.volume.load(p) end,
    "'" .. p .. "': truncated: the header needs 32 bytes of voxel data from byte 352, the file has 362 bytes")
end)

T.test("nifti: truncated header", function()
  local p = file("short.nii", nifti { dims = { 2, 2, 2 }, values = ramp(8) }:sub(1, 100))
  T.raises(function() nl.volume.load(p) end, "'" .. p .. "': too short to be a NIfTI file (100 bytes")
end)

T.test("nifti: wrong magic", function()
  local p = file("magic.nii", nifti { dims = { 2, 2, 2 }, values = ramp(8), magic = "abc\0" })
  T.raises(function() nl.volume.load(p) end, "'" .. p .. "': wrong magic number 'abc\\x00' at byte 344 (expected 'n+1')")
end)

T.test("nifti: not a NIfTI file at all", function()
  local p = file("text.nii", string.rep("hello world\n", 40))
  T.raises(function() nl.volume.load(p) end, "'" .. p .. "': not a NIfTI file: the header size field is")
end)

T.test("nifti: negative dimension", function()
  local p = file("neg.nii", nifti { dims = { 2, -3, 2 }, data = "" })
  T.raises(function() nl.volume.load(p) end, "'" .. p .. "': dimension 2 is -3 in the header (dimensions must be positive)")
end)

T.test("nifti: huge dimensions are refused before any allocation", function()
  local p = file("huge.nii", nifti { dims = { 30000, 30000, 30000 }, data = "" })
  T.raises(function() nl.volume.load(p) end,
    "'" .. p .. "': header dimensions 30000x30000x30000x1 would need 98.2 TB of memory, more than the budget of")
end)

T.test("nifti: unsupported datatype names the code", function()
  local p = file("rgb.nii", nifti { dims = { 2, 2, 2 }, datatype = 128, data = string.rep("\0", 24) })
  T.raises(function() nl.volume.load(p) end, "'" .. p .. "': datatype 128 (rgb24) is not supported")
end)

T.test("nifti: NaN and Inf voxels are data: read as such, refused by the analysis that cannot use them", function()
  local v = nl.volume.load(file("nan.nii", nifti { dims = { 2, 2, 2 }, values = { 1, 0 / 0, 1 / 0, -1 / 0, 5, 6, 7, 8 } }))
  T.truthy(v:get(2, 1, 1) ~= v:get(2, 1, 1), "NaN kept")
  T.eq(v:get(1, 2, 1), math.huge)
  T.eq(v:get(2, 2, 1), -math.huge)
  -- A region summary over them is not a number; the learner names the feature.
  local atlas = nl.atlas.load(file("labels.nii", nifti { dims = { 2, 2, 2 }, values = { 1, 1, 1, 1, 2, 2, 2, 2 } }),
    file("labels.txt", "1 Alpha\n2 Beta\n"))
  local rows = {}
  for i = 1, 6 do rows[i] = i == 3 and v or nl.volume.load(file("ok" .. i .. ".nii", nifti { dims = { 2, 2, 2 }, values = ramp(8) })) end
  local X = atlas:summarize(rows, "mean")
  T.truthy(X.Alpha[3] ~= X.Alpha[3], "the mean over a NaN voxel is NaN")
  T.raises(function() nl.cv.nested(pipe, X, { true, false, true, false, true, false }, cv) end,
    "nested CV: feature column 'Alpha' has a missing value (NaN) in row 3; add nl.ml.impute{}")
end)

T.test("nifti: a 4-D image where a 3-D one is expected", function()
  local v4 = nl.volume.load(file("v4.nii", nifti { dims = { 2, 2, 2, 2 }, values = ramp(16) }))
  local atlas = nl.atlas.load(file("labels4.nii", nifti { dims = { 2, 2, 2 }, values = { 1, 1, 1, 1, 2, 2, 2, 2 } }),
    file("labels4.txt", "1 Alpha\n2 Beta\n"))
  T.raises(function() atlas:summarize(v4) end, "is 4-D (2 frames)")
  local p = file("labels4d.nii", nifti { dims = { 2, 2, 2, 2 }, values = ramp(16) })
  T.raises(function() nl.atlas.load(p, file("labels4d.txt", "1 A\n")) end, "'" .. p .. "': the label image is 4-D (2 frames); probabilistic atlases are not supported")
end)

-- ---------------------------------------------------------------- label tables

local label_image
local function labels_nii()
  label_image = label_image or file("atlas.nii", nifti { dims = { 2, 2, 2 }, values = { 1, 1, 2, 2, 3, 3, 0, 0 } })
  return label_image
end

T.test("labels: a duplicate index names both lines", function()
  local p = file("dup_labels.txt", "1 Alpha\n2 Beta\n3 Gamma\n2 Delta\n")
  T.raises(function() nl.atlas.load(labels_nii(), p) end, "'" .. p .. "' line 4: duplicate index 2 (already given on line 2)")
end)

T.test("labels: a label in the image that the table does not name", function()
  local p = file("missing_labels.txt", "1 Alpha\n2 Beta\n")
  T.raises(function() nl.atlas.load(labels_nii(), p) end, "label 3 occurs in the image")
end)

T.test("labels: a table region without voxels", function()
  local p = file("extra_labels.txt", "1 Alpha\n2 Beta\n3 Gamma\n4 Delta\n")
  local err = T.raises(function() nl.atlas.load(labels_nii(), p) end, "region of the label table has no voxel in the image")
  T.truthy(err:find(p, 1, true), err)
end)

T.test("labels: a non-integer index and an empty table", function()
  local p = file("badindex.txt", "1 Alpha\nx Beta\n")
  T.raises(function() nl.atlas.read_labels(p) end, "'" .. p .. "' line 2: index 'x' is not an integer")
  local q = file("nolabels.txt", "# nothing here\n")
  T.raises(function() nl.atlas.read_labels(q) end, "'" .. q .. "': no labels found")
  local j = file("bad.json", "{\"1\": {\"label\": \"A\"}")
  T.raises(function() nl.atlas.read_labels(j) end, "'" .. j .. "': invalid JSON")
end)

-- ---------------------------------------------------------------- model files

local saved
local function model_bytes()
  if not saved then
    local X, y = dataset(30, 3)
    local r = nl.cv.nested(pipe, X, y, cv)
    local p = dir .. "/good.model"
    r:save(p)
    saved = T.read_file(p)
  end
  return saved
end

T.test("model: a foreign file", function()
  local p = file("foreign.model", "PK\3\4 not a model at all")
  T.raises(function() nl.cv.load(p) end, p .. ": not a neurolua model file (it does not start with 'NEUROLUA')")
end)

T.test("model: truncated", function()
  local b = model_bytes()
  local p = file("trunc.model", b:sub(1, #b - 100))
  T.raises(function() nl.cv.load(p) end, p .. ": truncated model file (" .. (#b - 100 - 32) .. " of " .. (#b - 32) .. " payload bytes)")
  local q = file("trunc_header.model", b:sub(1, 20))
  T.raises(function() nl.cv.load(q) end, q .. ": truncated model file (header incomplete)")
end)

T.test("model: a damaged byte fails the checksum", function()
  local b = model_bytes()
  local at = #b - 50
  local p = file("corrupt.model", splice(b, at, string.char((b:byte(at + 1) + 1) % 256)))
  T.raises(function() nl.cv.load(p) end, p .. ": corrupt model file (checksum mismatch)")
end)

T.test("model: another format version", function()
  local b = model_bytes()
  local p = file("v5.model", splice(b, 16, string.pack("<I4", 5)))
  T.raises(function() nl.cv.load(p) end,
    p .. ": model format version 5 is not supported by this neurolua (it reads 1 to 4); a newer neurolua wrote it")
  local q = file("v0.model", splice(b, 16, string.pack("<I4", 0)))
  T.raises(function() nl.cv.load(q) end, q .. ": corrupt model file (format version 0)")
end)

T.test("model: another kind of neurolua file", function()
  local p = file("kind.model", splice(model_bytes(), 8, "glmfit\0\0"))
  T.raises(function() nl.cv.load(p) end, p .. ": holds a 'glmfit', not a 'cvresult'")
end)

-- ---------------------------------------------------------------- analysis inputs

T.test("analysis: NaN in a feature names the row and column", function()
  local X, y = dataset(30, 3)
  X:set(4, 2, 0 / 0)
  T.raises(function() nl.cv.nested(pipe, X, y, cv) end,
    "nested CV: feature column 2 has a missing value (NaN) in row 4; add nl.ml.impute{}")
end)

T.test("analysis: NaN in a covariate names the covariate and row", function()
  local X, y, cov = dataset(30, 3)
  local age = {}
  for i = 1, 30 do age[i] = cov.age[i] end
  age[7] = 0 / 0
  cov.age = age
  local p = nl.ml.pipeline { nl.ml.regress_out { "age" }, nl.ml.svc { C = { 1 } } }
  T.raises(function() nl.cv.nested(p, X, y, { covariates = cov, outer = { 3, 1 }, inner = { 3, 1 } }) end,
    "nested CV: covariate 'age' is not finite (NaN) in row 7")
  -- With participant ids among the covariates, the message names the participant (an
  -- NA age used to be "row 32" of a filtered subset, with no id).
  local ids = {}
  for i = 1, 30 do ids[i] = ("sub-%03d"):format(100 + i) end
  cov.participant_id = ids
  age[7] = nl.table.NA
  cov.age = age
  T.raises(function() nl.cv.nested(p, X, y, { covariates = cov, outer = { 3, 1 }, inner = { 3, 1 } }) end,
    "nested CV: covariate 'age' is missing in row 7 (sub-107)")
end)

T.test("analysis: a class with fewer subjects than folds", function()
  local X = nl.matrix.randn(12, 2, 3)
  local y = {}
  for i = 1, 12 do y[i] = i <= 2 end
  T.raises(function() nl.cv.nested(pipe, X, y, cv) end, "stratified folds: the positive class has 2 subjects, fewer than the 3 folds")
end)

T.test("analysis: one class only", function()
  local X = nl.matrix.randn(12, 2, 3)
  local y = {}
  for i = 1, 12 do y[i] = true end
  T.raises(function() nl.cv.nested(pipe, X, y, cv) end, "labels hold only one class (+1)")
end)

T.test("analysis: row counts of X, y and covariates disagree", function()
  local X, y, cov = dataset(30, 3)
  y[31] = true
  T.raises(function() nl.cv.nested(pipe, X, y, cv) end, "31 labels for 30 rows")
  y[31] = nil
  T.raises(function() nl.cv.nested(pipe, X, y, { covariates = cov:head(20), outer = { 3, 1 }, inner = { 3, 1 } }) end,
    "covariates have 20 rows, the data have 30")
  T.raises(function() nl.stats.glm(X, nl.stats.design_one_sample(29)) end,
    "bad argument #2 to 'glm' (design has 29 rows but the data have 30)")
end)

T.test("analysis: constant features", function()
  local X, y = dataset(30, 3)
  for i = 1, 30 do X:set(i, 2, 5) end
  -- prune drops a constant feature; the result is the same as without it.
  local pr = nl.ml.pipeline { nl.ml.prune {}, nl.ml.scale {}, nl.ml.svc { C = { 1 } } }
  local a = nl.cv.nested(pr, X, y, cv)
  local b = nl.cv.nested(pr, X:cols_at { 1, 3 }, y, cv)
  T.truthy(a.median_ == b.median_, "a constant feature changes nothing")
  -- Only constant features: nothing to learn from, with or without prune.
  local C = nl.matrix.full(30, 2, 1)
  T.raises(function() nl.cv.nested(pr, C, y, cv) end, "nested CV: every feature is constant over the 30 subjects")
  T.raises(function() nl.cv.nested(pipe, C, y, cv) end, "nested CV: every feature is constant over the 30 subjects")
end)

T.test("analysis: more components than subjects", function()
  local X = nl.matrix.randn(8, 20, 4)
  T.raises(function() nl.ml.pca { k = 12 }:fit(X) end,
    "pca: k = 12 is out of range; it must be between 1 and min(n - 1, p) = 7")
  T.raises(function() nl.ml.robpca { k = 12 }:fit(X) end,
    "robpca: k = 12 must be smaller than the number of observations n = 8")
end)

T.test("analysis: NaN in a GLM response names the column and row", function()
  local Y = nl.matrix.randn(10, 3, 5)
  Y:set(6, 3, 0 / 0)
  T.raises(function() nl.stats.glm(Y, nl.stats.design_one_sample(10)) end,
    "bad argument #1 to 'glm' (data: entry (row 6, column 3) is NaN)")
end)

for i = #made, 1, -1 do os.remove(made[i]) end
os.remove(dir .. "/good.model")
os.remove(dir)
T.done()
