-- test_geometry.lua: NIfTI headers that lie (issue 17, items 4 and 5).
--
-- Each case writes a small NIfTI-1 file whose header has one bad field, built byte by
-- byte here (no fixture, no nibabel at run time), and checks that loading it either
-- reads what nibabel reads or raises an error naming the file and the field; and that
-- no engine entry point reached from Lua can abort the process (a NaN geometry used to
-- reach ITK's VNL, which calls abort(), past every pcall). The expected affines of the
-- repaired headers are nibabel 5.0's (tests/data/nifti/make_bad_headers.py prints them).
local T = require "testing"
local nl = require "neurolua"

local nan, inf = 0 / 0, 1 / 0
local dir = T.tmpname("-geometry")
assert(os.execute("mkdir -p '" .. dir .. "'"))

-- ---------------------------------------------------------------- a header writer

local function splice(s, off, b) return s:sub(1, off) .. b .. s:sub(off + #b + 1) end

-- A little-endian single-file NIfTI-1 image. Fields (NIfTI-1 byte offsets in comments):
-- dims {nx, ny, nz [, nt]}; datatype (2 uint8, 4 int16, 8 int32, 16 float32, 64
-- float64); pixdim (8 numbers, default {1, 2, 2, 2, 1, 1, 1, 1}); vox_offset (352);
-- slope, inter (1, 0); qform_code, sform_code (0, 0); quatern {b, c, d, x, y, z};
-- srow (12 numbers); values (voxel values, default 1, 2, 3, ...).
local function nifti(o)
  local dims = o.dims or { 4, 4, 4 }
  local datatype = o.datatype or 16
  local bitpix = ({ [2] = 8, [4] = 16, [8] = 32, [16] = 32, [64] = 64 })[datatype]
  local h = string.rep("\0", 348)
  h = splice(h, 0, string.pack("<i4", 348))                                    -- sizeof_hdr
  h = splice(h, 40, string.pack("<i2i2i2i2i2i2i2i2", #dims, dims[1], dims[2], dims[3], dims[4] or 1, 1, 1, 1))
  h = splice(h, 70, string.pack("<i2i2", datatype, bitpix))                    -- datatype, bitpix
  h = splice(h, 76, string.pack("<ffffffff", table.unpack(o.pixdim or { 1, 2, 2, 2, 1, 1, 1, 1 })))
  h = splice(h, 108, string.pack("<fff", o.vox_offset or 352, o.slope or 1, o.inter or 0))
  h = splice(h, 252, string.pack("<i2i2", o.qform_code or 0, o.sform_code or 0))
  h = splice(h, 256, string.pack("<ffffff", table.unpack(o.quatern or { 0, 0, 0, 0, 0, 0 })))
  h = splice(h, 280, string.pack("<ffffffffffff", table.unpack(o.srow or { 2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0 })))
  h = splice(h, 344, "n+1\0")
  local n = dims[1] * dims[2] * dims[3] * (dims[4] or 1)
  local fmt = ({ [2] = "<B", [4] = "<i2", [8] = "<i4", [16] = "<f", [64] = "<d" })[datatype]
  local parts = {}
  for i = 1, n do parts[i] = string.pack(fmt, o.values and o.values[i] or i) end
  return h .. "\0\0\0\0" .. table.concat(parts)
end

local count = 0
local function file(o, name)
  count = count + 1
  local p = dir .. "/" .. (name or ("h" .. count .. ".nii"))
  T.write_file(p, nifti(o))
  return p
end

local function same_affine(v, want)
  local A = v:affine()
  for r = 1, 4 do
    for c = 1, 4 do T.near(A:get(r, c), want[r][c], 1e-6, "affine (" .. r .. ", " .. c .. ")") end
  end
end

-- Runs f; returns the warnings it issued.
local function warnings_of(f)
  local before = #nl.warnings()
  f()
  local all, out = nl.warnings(), {}
  for i = before + 1, #all do out[#out + 1] = all[i] end
  return out
end

local good = nl.volume.load(file({}, "good.nii"))

-- ---------------------------------------------------------------- item 4: aborts

T.test("NaN voxel sizes without qform/sform: an error naming the file, not SIGABRT in resample_to", function()
  local p = file { pixdim = { 1, nan, nan, nan, 1, 1, 1, 1 } }
  T.raises(function() nl.volume.load(p) end,
    "'" .. p .. "': the voxel size pixdim[1] is NaN and no sform gives the voxel sizes")
  local q = file { pixdim = { 1, 2, inf, 2, 1, 1, 1, 1 }, qform_code = 1 }
  T.raises(function() nl.volume.load(q) end, "'" .. q .. "': the voxel size pixdim[2] is inf")
end)

T.test("a NaN in the sform is an error naming the field, not zeros after resampling", function()
  local p = file { sform_code = 1, srow = { nan, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0 } }
  T.raises(function() nl.volume.load(p) end,
    "'" .. p .. "': the sform (used because sform_code is 1) holds a non-finite value, srow_x[0] = NaN")
  local q = file { sform_code = 2, srow = { 2, 0, 0, 0, 0, 2, 0, inf, 0, 0, 2, 0 } }
  T.raises(function() nl.volume.load(q) end, "srow_y[3] = inf")
end)

T.test("a NaN in the quaternion or its offset is an error naming the field", function()
  local p = file { qform_code = 1, quatern = { nan, 0, 0, 0, 0, 0 } }
  T.raises(function() nl.volume.load(p) end,
    "'" .. p .. "': the qform (used because qform_code is 1 and sform_code 0) holds a non-finite value, quatern_b = NaN")
  local q = file { qform_code = 1, quatern = { 0, 0, 0, 0, nan, 0 } }
  T.raises(function() nl.volume.load(q) end, "qoffset_y = NaN")
end)

T.test("NaN fields that the best affine does not use are harmless, as in nibabel", function()
  -- sform_code 1 decides the affine: a NaN voxel size or quaternion is never used.
  local v = nl.volume.load(file { sform_code = 1, qform_code = 1, pixdim = { 1, nan, 2, 2, 1, 1, 1, 1 },
    quatern = { nan, 0, 0, 0, 0, 0 }, srow = { 3, 0, 0, 1, 0, 3, 0, 2, 0, 0, 3, 3 } })
  same_affine(v, { { 3, 0, 0, 1 }, { 0, 3, 0, 2 }, { 0, 0, 3, 3 }, { 0, 0, 0, 1 } })
end)

T.test("a singular sform (a zero or parallel voxel axis) is refused on load", function()
  local p = file { sform_code = 1, srow = { 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0 } }
  T.raises(function() nl.volume.load(p) end, "'" .. p .. "': unusable geometry in the header: voxel axis j has length 0")
  local q = file { sform_code = 1, srow = { 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 2, 0 } }
  T.raises(function() nl.volume.load(q) end, "the affine's voxel axes are (nearly) parallel")
end)

-- Found by UBSan in the sweep below: ITK's region arithmetic overflowed int64 for a
-- target grid 1e30 mm (1e29 voxels) away; resample_to now refuses such a pair up front.
T.test("resampling onto a grid absurdly far away is refused, not undefined behaviour", function()
  local far = nl.volume.load(file { sform_code = 1, srow = { 1e30, 0, 0, 1e30, 0, 1e30, 0, 0, 0, 0, 1e30, -1e30 } })
  T.raises(function() return good:resample_to(far) end, "lies more than 1e12 voxels from the image's grid")
  -- The other way is well defined: good's grid lies within a voxel of far's origin.
  T.eq(far:resample_to(good):dims()[1], good:dims()[1])
end)

-- Every Volume method that takes geometry, driven with the worst grids a file can give
-- (each refused on load, so they cannot reach these methods) and with a legal but
-- extreme one: each call returns or raises a Lua error, never aborts.
T.test("every geometry-using Volume method returns or raises; nothing aborts", function()
  local extremes = {
    file { sform_code = 1, srow = { 1e-30, 0, 0, 0, 0, 1e-30, 0, 0, 0, 0, 1e-30, 0 } },  -- tiny voxels
    file { sform_code = 1, srow = { 1e30, 0, 0, 1e30, 0, 1e30, 0, 0, 0, 0, 1e30, -1e30 } },  -- huge voxels
    file { sform_code = 1, srow = { 2, 1e-3, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0 } },  -- oblique
  }
  for _, p in ipairs(extremes) do
    local v = nl.volume.load(p)
    local calls = {
      function() return v:resample_to(good) end,
      function() return good:resample_to(v) end,
      function() return v:resample_to(good, "nearest") end,
      function() return v:smooth(6) end,
      function() return v:smooth { fwhm = { 0, 1e300, 0 } } end,
      function() return v:world(1, 1, 1) end,
      function() return v:voxel(0, 0, 0) end,
      function() return v:at(0, 0, 0) end,
      function() return v:orientation() end,
      function() return tostring(v) end,
      function() return v:spacing() end,
      function() return v:voxel_volume() end,
      function() return v + good end,
    }
    for i, f in ipairs(calls) do
      local ok, err = pcall(f)
      T.truthy(ok or type(err) == "string", "call " .. i .. " on " .. p .. " raised a string error or returned")
    end
  end
  -- An absurd kernel is refused with its reason (the binding caps fwhm at 10 m; the
  -- engine also refuses a kernel wider than a million voxels, tests/engine/image).
  T.raises(function() good:smooth { fwhm = { 1e300, 0, 0 } } end, "fwhm must be between 0 and 10000 mm")
end)

-- Every Volume method (but save and plot, which write files) and the geometry-using
-- Atlas methods, called with hostile arguments: NaN, infinities, huge and negative
-- numbers, wrong types, and volumes on extreme grids. Each call must return or raise a
-- Lua error (a string); a C++ exception escaping a binding, or an abort inside ITK,
-- would end the process and fail this test.
T.test("Volume and Atlas methods turn every engine failure into a Lua error", function()
  local tiny = nl.volume.load(file { sform_code = 1, srow = { 1e-30, 0, 0, 0, 0, 1e-30, 0, 0, 0, 0, 1e-30, 0 } })
  local huge = nl.volume.load(file { sform_code = 1, srow = { 1e30, 0, 0, 0, 0, 1e30, 0, 0, 0, 0, 1e30, 0 } })
  local four = nl.volume.load(file { dims = { 4, 4, 4, 2 } })
  local mask = good:gt(10)
  local args = { {}, { nan }, { inf, -inf, nan }, { 1e308, 1e308, 1e308 }, { -1, -1, -1, -1 }, { 0, 0, 0 },
    { "x" }, { {} }, { { fwhm = nan } }, { { fwhm = { nan, 1, 1 } } }, { good }, { tiny }, { huge }, { four },
    { mask }, { good, "linear" }, { huge, "nearest" }, { 2, 2, 2, 1e18 }, { 1.5, 1, 1 } }
  local methods = { "dims", "spacing", "origin", "direction", "affine", "datatype", "frames", "ndim", "tr",
    "orientation", "path", "voxel_volume", "header", "get", "set", "world", "voxel", "at", "values", "timeseries",
    "frame", "clone", "stats", "smooth", "resample_to", "eq", "ne", "lt", "le", "gt", "ge" }
  local calls = 0
  for _, v in ipairs { good, tiny, huge, four } do
    for _, m in ipairs(methods) do
      for _, a in ipairs(args) do
        local ok, err = pcall(function() return v[m](v, table.unpack(a, 1, 4)) end)
        calls = calls + 1
        T.truthy(ok or type(err) == "string", m .. " raised a non-string error: " .. tostring(err))
      end
    end
    for _, op in ipairs { "__add", "__sub", "__mul", "__div" } do
      for _, other in ipairs { good, tiny, four, nan, inf, 0 } do
        local ok, err = pcall(function()
          if op == "__add" then return v + other elseif op == "__sub" then return v - other
          elseif op == "__mul" then return v * other else return v / other end
        end)
        T.truthy(ok or type(err) == "string", op .. " raised a non-string error: " .. tostring(err))
      end
    end
  end
  T.truthy(calls > 2000, "calls made")
  -- The module functions that make volumes (memory_budget is left alone: it is global).
  local paths = { dir .. "/missing.nii", dir, "", file { pixdim = { 1, nan, 2, 2, 1, 1, 1, 1 } } }
  for _, f in ipairs { nl.volume.load, nl.volume.load_all, nl.volume.new } do
    for _, a in ipairs(args) do
      local ok, err = pcall(f, table.unpack(a, 1, 4))
      T.truthy(ok or type(err) == "string", "module function raised a non-string error: " .. tostring(err))
    end
    for _, p in ipairs(paths) do
      local ok, err = pcall(f, p)
      T.truthy(not ok and type(err) == "string", "loading " .. p .. " must raise a string error")
      ok, err = pcall(f, { good:path(), p })
      T.truthy(not ok and type(err) == "string", "load_all with " .. p .. " must raise a string error")
    end
  end
  local vals = {}
  for i = 1, 64 do vals[i] = i <= 32 and 1 or 2 end
  local lp = file({ values = vals }, "fuzz_labels.nii")
  T.write_file(dir .. "/fuzz_labels.txt", "1 A\n2 B\n")
  local atlas = nl.atlas.load(lp, dir .. "/fuzz_labels.txt")
  for _, v in ipairs { good, tiny, huge, four } do
    for _, stat in ipairs { "mean", "median", "sum", "volume_ml", "bogus" } do
      local ok, err = pcall(function() return atlas:summarize({ v }, stat) end)
      T.truthy(ok or type(err) == "string", "summarize: " .. tostring(err))
    end
    local ok, err = pcall(function() return atlas:timeseries(v) end)
    T.truthy(ok or type(err) == "string", "timeseries: " .. tostring(err))
  end
end)

-- ---------------------------------------------------------------- item 5: wrong reads

T.test("vox_offset 0 (or below 352) is refused: reading from byte 348 shifted every voxel", function()
  local p = file { vox_offset = 0 }
  T.raises(function() nl.volume.load(p) end,
    "'" .. p .. "': vox_offset is 0 in the header (unset); a single-file NIfTI-1 stores its voxels from byte 352")
  local q = file { vox_offset = 348 }
  T.raises(function() nl.volume.load(q) end, "'" .. q .. "': vox_offset is 348 in the header;")
  -- 352 and beyond (with the extension bytes between) are read from there.
  local r = dir .. "/offset.nii"
  local bytes = nifti { dims = { 2, 1, 1 }, values = { 7, 8 }, vox_offset = 368 }
  T.write_file(r, bytes:sub(1, 352) .. string.rep("\0", 16) .. bytes:sub(353))
  local v = nl.volume.load(r)
  T.eq(v:get(1, 1, 1), 7)
  T.eq(v:get(2, 1, 1), 8)
end)

T.test("voxel size 0 is taken as 1 and a negative one as its absolute value, with a warning (nibabel)", function()
  local v
  local w = warnings_of(function() v = nl.volume.load(file({ pixdim = { 1, 0, 0, 0, 1, 1, 1, 1 } }, "zero.nii")) end)
  -- nibabel 5.0: affine diag(-1, 1, 1) centred: [[-1,0,0,1.5],[0,1,0,-1.5],[0,0,1,-1.5]]
  same_affine(v, { { -1, 0, 0, 1.5 }, { 0, 1, 0, -1.5 }, { 0, 0, 1, -1.5 }, { 0, 0, 0, 1 } })
  T.eq(#w, 1)
  T.truthy(w[1]:find("zero.nii': pixdim[1] is 0, taken as 1", 1, true), w[1])
  -- So smoothing smooths: a 6 mm kernel over 1 mm voxels changes the ramp.
  local s = v:smooth(6)
  T.truthy(math.abs(s:get(1, 1, 1) - v:get(1, 1, 1)) > 1, "smoothing with 0 voxel sizes changed nothing")
  -- qform with a negative voxel size: nibabel takes its absolute value (nifti_clib took 1).
  local q
  warnings_of(function()
    q = nl.volume.load(file { qform_code = 1, pixdim = { 1, -3, 2, 2, 1, 1, 1, 1 }, quatern = { 0, 0, 0, 5, 6, 7 } })
  end)
  same_affine(q, { { 3, 0, 0, 5 }, { 0, 2, 0, 6 }, { 0, 0, 2, 7 }, { 0, 0, 0, 1 } })
  -- When the sform decides the affine, the voxel sizes are not used: no warning.
  T.eq(#warnings_of(function() nl.volume.load(file { sform_code = 1, pixdim = { 0, 0, 0, 0, 1, 1, 1, 1 } }) end), 0)
end)

T.test("scl_slope (or a float64 file) taking values beyond float32 is an error naming the file and voxel", function()
  local p = file { datatype = 4, slope = 1e38 }
  T.raises(function() nl.volume.load(p) end,
    "'" .. p .. "': scl_slope 1e+38 and scl_inter 0 scale the value at voxel (4, 1, 1) (1-based) to inf, beyond the range of float32")
  -- In range: read scaled (nibabel: 2 * 1e30).
  local v = nl.volume.load(file { datatype = 4, slope = 1e30 })
  T.near(v:get(2, 1, 1), 2e30, 1e24)
  -- A valid slope with a non-finite intercept (nibabel: HeaderDataError).
  local q = file { datatype = 4, slope = 2, inter = nan }
  T.raises(function() nl.volume.load(q) end, "'" .. q .. "': scl_slope is 2 but scl_inter is NaN (not finite)")
  -- The same class unscaled: a float64 value float32 cannot hold (it became inf).
  local vals = {}
  for i = 1, 64 do vals[i] = i == 6 and 1e300 or i end
  local r = file { datatype = 64, values = vals }
  T.raises(function() nl.volume.load(r) end,
    "'" .. r .. "': the float64 value at voxel (2, 2, 1) (1-based) is beyond the range of float32")
  vals[6] = 1e300 * 1e300  -- inf in the file is data, read as inf
  T.eq(nl.volume.load(file { datatype = 64, values = vals }):get(2, 2, 1), inf)
end)

-- ---------------------------------------------------------------- labels stay exact

local function label_case(datatype, a, b, name)
  local vals = {}
  for i = 1, 64 do vals[i] = i <= 32 and a or b end
  local p = file({ datatype = datatype, values = vals }, name .. ".nii")
  local t = dir .. "/" .. name .. ".txt"
  T.write_file(t, string.format("%d A\n%d B\n", a, b))
  return p, t
end

T.test("int32 labels above 2^24 stay apart (float32 storage merged 16777217 into 16777216)", function()
  local p, t = label_case(8, 16777216, 16777217, "int32_labels")
  local a = nl.atlas.load(p, t)
  local r = a:regions()
  T.eq(r.voxels[1], 32)
  T.eq(r.voxels[2], 32)
  T.eq(r.index[2], 16777217)
  -- A Volume (float32) cannot hold those labels: atlas:volume() says so.
  T.raises(function() a:volume() end, "has the label 16777217, beyond 2^24, which a float32 Volume cannot hold")
  -- Summaries see two regions.
  local v = nl.volume.load(file({ values = (function() local x = {} for i = 1, 64 do x[i] = i <= 32 and 1 or 3 end return x end)() }))
  local s = a:summarize({ v }, "mean")
  T.eq(s.A[1], 1)
  T.eq(s.B[1], 3)
end)

T.test("float label images: non-integers and values beyond 2^24 are refused", function()
  local p, t = label_case(16, 1, 2, "float_ok")
  T.eq(#nl.atlas.load(p, t), 2)
  p, t = label_case(16, 16777216, 16777218, "float_big")
  T.raises(function() nl.atlas.load(p, t) end,
    "'" .. p .. "': the label image has the inexact value 16777218 at voxel (1, 1, 3) (1-based); a float32 label image")
  p, t = label_case(16, 1, 2, "float_frac")
  local vals = {}
  for i = 1, 64 do vals[i] = i == 5 and 1.5 or 1 end
  T.write_file(p, nifti { values = vals })
  T.raises(function() nl.atlas.load(p, t) end, "'" .. p .. "': the label image has the non-integer value 1.5 at voxel (1, 2, 1)")
  -- float64 holds integers exactly up to 2^53.
  p, t = label_case(64, 16777216, 16777217, "float64_labels")
  T.eq(nl.atlas.load(p, t):regions().voxels[2], 32)
end)

-- ---------------------------------------------------------------- models and matrices

T.test("SVC:decision and Pipeline:decision refuse NaN features, naming row and column", function()
  local X = nl.matrix.randn(20, 3, 7)
  local y = {}
  for i = 1, 20 do y[i] = i % 2 == 0 end
  local svc = nl.ml.svc { C = 1 }:fit(X, y)
  local Xt = X:clone()
  Xt:set(4, 2, nan)
  T.raises(function() svc:decision(Xt) end,
    "linear SVC decision: X has a missing value (NaN) at row 4, column 2")
  Xt:set(4, 2, inf)
  T.raises(function() svc:decision(Xt) end, "X has the value inf at row 4, column 2")
  local pipe = nl.ml.pipeline { nl.ml.scale {}, nl.ml.svc { C = 1 } }:fit(X, y)
  Xt:set(4, 2, nan)
  T.raises(function() pipe:decision(Xt) end, "decision: X has a missing value (NaN) at row 4, column 2")
  -- With nl.ml.impute first, NaN is a missing value the pipeline fills.
  local imp = nl.ml.pipeline { nl.ml.impute {}, nl.ml.svc { C = 1 } }:fit(X, y)
  T.eq(imp:decision(Xt):rows(), 20)
end)

T.test("Matrix:pinv refuses a NaN tolerance and a NaN matrix", function()
  local A = nl.matrix.eye(3)
  T.raises(function() A:pinv(nan) end, "rcond must be a finite number >= 0")
  T.raises(function() A:pinv(-1) end, "rcond must be a finite number >= 0")
  A:set(2, 1, nan)
  T.raises(function() A:pinv() end, "pinv: the matrix has NaN at row 2, column 1")
  T.near(nl.matrix.eye(2):pinv(0):get(1, 1), 1, 1e-12)
end)

os.execute("rm -rf '" .. dir .. "'")
T.done()
