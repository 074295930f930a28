-- Tests of nl.volume: loading, header fields, voxel and world access, arithmetic,
-- masks, extraction, smoothing, resampling, 4-D, saving, bad input.
-- References: tests/data/nifti/{small,fixture}.txt (nibabel/NumPy/SciPy, made by
-- tests/data/nifti/make_fixtures.py).
local T = require "testing"
local nl = require "neurolua"

local data = os.getenv("NL_TEST_DATA") .. "/nifti/"
local shared = os.getenv("NL_SHARED_DATA") or "../../../shared/data"
local nibabel = "/usr/lib/python3/dist-packages/nibabel/tests/data/"

local small = T.fixture(data .. "small.txt")
local real = T.fixture(data .. "fixture.txt")

local function sum(v) return v:stats().sum end

local function check_affine(v, ref, tol)
  local A = v:affine()
  for r = 1, 4 do
    for c = 1, 4 do T.near(A:get(r, c), ref[(r - 1) * 4 + c], tol or 1e-9, ("affine(%d,%d)"):format(r, c)) end
  end
end

T.test("small images load like nibabel", function()
  for _, name in ipairs{"scaled_int16.nii.gz", "sform_only.nii", "qform_only.nii.gz", "no_xform.nii",
                        "float64.nii.gz", "nifti2_4d.nii.gz"} do
    local v = nl.volume.load(data .. name)
    local dims = v:dims()
    for d = 1, #small[name .. ".dims"] do T.eq(dims[d], small[name .. ".dims"][d], name .. " dim " .. d) end
    check_affine(v, small[name .. ".affine"], 1e-6)
    T.near(sum(v), small[name .. ".sum"][1], 1e-12, name .. " sum")
    T.eq(v:get(1, 1, 1, v:ndim() == 4 and 1 or nil), small[name .. ".first"][1], name .. " first voxel")
  end
end)

T.test("header fields and printing", function()
  local v = nl.volume.load(data .. "sform_only.nii")
  T.eq(tostring(v), "[Volume 7x6x5, 2 mm, uint8, LAS]")
  T.eq(v:datatype(), "uint8")
  T.eq(v:orientation(), "LAS")
  T.eq(v:ndim(), 3); T.eq(v:frames(), 1)
  T.eq(v:tr(), nil)
  local sp, o = v:spacing(), v:origin()
  T.eq(sp[1], 2); T.eq(sp[3], 2)
  T.eq(o[1], 90); T.eq(o[2], -126); T.eq(o[3], -72)
  local D = v:direction()
  T.eq(D:get(1, 1), -1); T.eq(D:get(2, 2), 1)
  T.eq(v:voxel_volume(), 8)
  T.eq(v:path(), data .. "sform_only.nii")
  local h = v:header()
  T.eq(h.sform_code, 4); T.eq(h.qform_code, 0); T.eq(h.nifti_version, 1); T.eq(h.scaled, false)
  local s = nl.volume.load(data .. "scaled_int16.nii.gz")
  T.eq(s:header().scaled, true)
  T.truthy(tostring(s):find("int16 (scaled)", 1, true), tostring(s))
  T.eq(math.type(v:dims()[1]), "integer")
end)

T.test("1-based voxel indices and RAS world coordinates", function()
  local v = nl.volume.load(data .. "sform_only.nii")   -- x flipped: i -> x = 90 - 2 (i - 1)
  local x, y, z = v:world(1, 1, 1)
  T.eq(x, 90); T.eq(y, -126); T.eq(z, -72)
  x, y, z = v:world(2, 3, 4)
  T.eq(x, 88); T.eq(y, -122); T.eq(z, -66)
  local i, j, k = v:voxel(88, -122, -66)
  T.near(i, 2); T.near(j, 3); T.near(k, 4)
  T.eq(v:at(88, -122, -66), v:get(2, 3, 4))
  T.eq(v:at(88.9, -121.1, -66.5), v:get(2, 3, 4), "nearest voxel")
  T.eq(v:at(1000, 0, 0), nil, "outside the image")
  v:set(2, 3, 4, 250)
  T.eq(v:get(2, 3, 4), 250)
  T.raises(function() v:get(8, 1, 1) end, "index i 8 out of range [1, 7]")
  T.raises(function() v:get(0, 1, 1) end, "out of range")
  T.raises(function() v.x = 1 end, "cannot assign")
end)

T.test("arithmetic, comparisons and mask logic", function()
  local v = nl.volume.load(data .. "sform_only.nii")
  local w = (v * 2 + 1) / 2 - v
  T.near(w:get(3, 3, 3), 0.5)
  T.eq((-v):get(1, 1, 1), -v:get(1, 1, 1))
  T.eq((2 - v):get(1, 1, 1), 2 - v:get(1, 1, 1))
  T.eq((v + v):get(2, 2, 2), 2 * v:get(2, 2, 2))
  local m = v:gt(100)
  T.eq(m:datatype(), "uint8")
  local st = m:stats()
  local n = 0
  for _, x in ipairs(v:values():t():to_table()[1]) do if x > 100 then n = n + 1 end end
  T.eq(st.nonzero, n)
  T.eq(v:values(m):rows(), n)
  T.eq((m & ~m):stats().nonzero, 0)
  T.eq((m | ~m):stats().nonzero, st.n)
  T.eq((m ~ m):stats().nonzero, 0)
  T.eq(v:ge(v):stats().nonzero, st.n, "compare with a volume")
  T.eq(v:eq(v:get(1, 1, 1)):get(1, 1, 1), 1)
  local other = nl.volume.load(data .. "good_int16.nii")
  T.raises(function() return v + other end, "volumes are on different grids, 7x6x5, 2 mm (LAS) and 10x10x10")
  T.raises(function() return v:gt(other) end, "different grids")
  T.raises(function() return v:values(other) end, "mask is on a different grid")
  T.raises(function() return v + "a" end, "neurolua.Volume or number expected")
  T.raises(function() return m & 1 end, "needs two neurolua.Volume masks")
end)

T.test("stats, values, new and clone", function()
  local v = nl.volume.load(data .. "float64.nii.gz")
  local s = v:stats()
  T.near(s.sum, small["float64.nii.gz.sum"][1], 1e-12)
  T.eq(s.n, 24); T.eq(s.nan, 0)
  T.near(s.mean, s.sum / 24)
  local z = nl.volume.new(v, 3)
  T.eq(z:stats().sum, 72)
  T.eq(z:datatype(), "float32")
  local c = v:clone()
  c:set(1, 1, 1, 99)
  T.truthy(v:get(1, 1, 1) ~= 99, "clone is a copy")
  local vals = v:values()
  T.eq(vals:rows(), 24); T.eq(vals:cols(), 1)
end)

T.test("4-D: frames, frame, timeseries, values", function()
  local v = nl.volume.load(data .. "nifti2_4d.nii.gz")
  T.eq(v:ndim(), 4); T.eq(v:frames(), 2)
  T.eq(#v:dims(), 4)
  local f2 = v:frame(2)
  T.eq(f2:ndim(), 3)
  T.eq(f2:get(1, 2, 3), v:get(1, 2, 3, 2))
  local mask = nl.volume.new(f2)
  mask:set(1, 2, 3, 1); mask:set(5, 4, 3, 1)
  local ts = v:timeseries(mask)
  T.eq(ts:rows(), 2); T.eq(ts:cols(), 2)
  T.eq(ts:get(2, 1), v:get(1, 2, 3, 2))
  T.eq(ts:get(1, 2), v:get(5, 4, 3, 1))
  T.eq(v:values(mask):cols(), 2)
  T.eq((v - f2):frame(2):stats().nonzero, 0, "a 3-D volume broadcasts over frames")
  T.raises(function() v:frame(3) end, "frame t 3 out of range [1, 2]")
  T.eq(v:header().nifti_version, 2)
end)

T.test("nibabel's 4-D example", function()
  if not T.exists(nibabel .. "example4d.nii.gz") then print("skip: python3-nibabel test data absent") return end
  local v = nl.volume.load(nibabel .. "example4d.nii.gz")
  T.eq(tostring(v), "[Volume 128x96x24x2, 2x2x2.2 mm, TR 2000 s, int16, LAS]")
  T.eq(v:tr(), 2000)
  check_affine(v, real["example4d.affine"])
  T.eq(sum(v), real["example4d.sum"][1])
  T.eq(v:get(65, 49, 13, 2), real["example4d.value.64_48_12_1"][1])
  local x, y, z = v:world(65, 49, 13)
  local w = real["example4d.world.64_48_12"]
  T.near(x, w[1], 1e-9); T.near(y, w[2], 1e-9); T.near(z, w[3], 1e-9)
  T.eq(v:frame(2):stats().sum, real["example4d.frame_sums"][2])
end)

T.test("save: round trip, datatype rules, options, atomic", function()
  for _, name in ipairs{"scaled_int16.nii.gz", "sform_only.nii", "qform_only.nii.gz", "nifti2_4d.nii.gz"} do
    for _, ext in ipairs{".nii", ".nii.gz"} do
      local v = nl.volume.load(data .. name)
      local out = T.tmpname(ext)
      T.truthy(v:save(out) == v, "save returns the volume")
      local w = nl.volume.load(out)
      T.truthy(v:affine() == w:affine(), name .. " affine kept exactly")
      T.eq((v - w):stats().nonzero, 0, name .. " data kept exactly")
      T.eq(w:header().sform_code, v:header().sform_code)
    end
  end
  local u = nl.volume.load(data .. "sform_only.nii")
  local out = T.tmpname(".nii.gz")
  u:save(out)
  T.eq(nl.volume.load(out):datatype(), "uint8", "integers stay in their type")
  ;(u / 3):save(out)
  T.eq(nl.volume.load(out):datatype(), "float32", "fractions become float32")
  u:save(out, { datatype = "int16", compression = 1 })
  T.eq(nl.volume.load(out):datatype(), "int16")
  u:save(out, { version = 2 })
  T.eq(nl.volume.load(out):header().nifti_version, 2)
  T.raises(function() (u / 3):save(out, { datatype = "uint8" }) end, "cannot be stored exactly as uint8")
  T.raises(function() u:save(out, { datatype = "int12" }) end, "bad argument #2 to 'save' (option 'datatype' must be one of uint8, int8, int16, uint16, int32, uint32, int64, uint64, float32, float64, got int12; did you mean 'int16'?)")
  T.raises(function() u:save(out, { dtype = "int16" }) end, "unknown option 'dtype'")
  T.raises(function() u:save("/tmp/x.img") end, "must end in .nii or .nii.gz")
  T.raises(function() u:save("/no/such/dir/x.nii") end, "cannot write '/no/such/dir/x.nii'")
end)

T.test("load_all: order, Column of paths, failing file named", function()
  local paths = { data .. "sform_only.nii", data .. "good_int16.nii", data .. "float64.nii.gz" }
  local vs = nl.volume.load_all(paths)
  T.eq(#vs, 3)
  T.eq(vs[1]:dims()[1], 7); T.eq(vs[2]:dims()[1], 10); T.eq(vs[3]:dims()[1], 4)
  if nl.table.new then
    local t = nl.table.new{ { "path", paths } }
    T.eq(#nl.volume.load_all(t.path), 3)
  end
  paths[2] = data .. "truncated.nii.gz"
  local err = T.raises(function() nl.volume.load_all(paths) end, "file 2 of 3")
  T.truthy(err:find("truncated.nii.gz", 1, true), err)
  T.raises(function() nl.volume.load_all{ 1, 2 } end, "entry 1 is a number, not a file name")
end)

T.test("bad files: clear errors naming the file, no crash, no giant allocation", function()
  local cases = {
    { "truncated.nii.gz", "truncated: read" },
    { "truncated.nii", "truncated: the header needs 2000 bytes" },
    { "wrong_magic.nii", "wrong magic number" },
    { "huge_dims.nii.gz", "more than the budget" },
    { "zero_dim.nii", "dimension 2 is 0" },
    { "negative_dim.nii", "dimension 3 is -5" },
    { "complex.nii", "datatype 32 (complex64) is not supported" },
    { "not_nifti.nii.gz", "not a NIfTI file" },
    { "missing.nii", "cannot open" },
  }
  for _, c in ipairs(cases) do
    local err = T.raises(function() nl.volume.load(data .. c[1]) end, c[2])
    T.truthy(err:find(c[1], 1, true), "message names the file: " .. err)
  end
  local budget = nl.volume.memory_budget()
  nl.volume.memory_budget(100)
  T.raises(function() nl.volume.load(data .. "good_int16.nii") end, "more than the budget of 100 bytes")
  nl.volume.memory_budget(0)
  T.eq(nl.volume.memory_budget(), budget)
end)

T.test("smoothing", function()
  local v = nl.volume.load(data .. "good_int16.nii")
  local s = v:smooth{ fwhm = 6 }
  T.near(s:stats().sum, v:stats().sum, 1e-5, "mass kept")
  T.eq(s:datatype(), "float32")
  T.eq(v:smooth{ fwhm = 0 }:stats().sum, v:stats().sum)
  T.truthy(v:smooth(4) ~= nil)
  T.eq(v:smooth{ fwhm = { 0, 0, 8 } }:get(5, 5, 1) ~= v:get(5, 5, 1), true)
  T.raises(function() v:smooth{ fwhm = -1 } end, "fwhm must be between 0 and 10000 mm")
  T.raises(function() v:smooth{} end, "fwhm (mm) is required")
  T.raises(function() v:smooth{ sigma = 2 } end, "unknown option 'sigma'")
end)

T.test("real images: IXI T1 and MNI GM round trip, smoothing and resampling vs SciPy", function()
  local ixi_path = shared .. "/ixi_t1/IXI012-HH-1211_T1.nii.gz"
  if not T.exists(ixi_path) then print("skip: ../shared/data not found") return end
  local ixi = nl.volume.load(ixi_path)
  check_affine(ixi, real["ixi012.affine"])
  T.eq(ixi:orientation(), "PSR")
  T.eq(sum(ixi), real["ixi012.sum"][1])
  local out = T.tmpname(".nii.gz")
  ixi:save(out)
  local back = nl.volume.load(out)
  T.truthy(back:affine() == ixi:affine(), "affine exact")
  T.eq((back - ixi):stats().nonzero, 0, "data exact")
  local s = ixi:smooth{ fwhm = 8 }
  T.near(s:get(61, 61, 46), real["ixi012.smooth8.60_60_45"][1], 1e-5)
  local ta, td = real["resample.target_affine"], real["resample.target_dims"]
  -- a reference grid: a 3 mm RAS volume made by resampling the GM template
  local gm = nl.volume.load(shared .. "/mni152/mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz")
  check_affine(gm, real["mni_gm.affine"])
  local r = ixi:resample_to(gm, "linear")
  T.eq(tostring(r):match("^%[Volume (%S+),"), "197x233x189")
  T.eq(r:orientation(), "RAS")
  local rn = ixi:resample_to(gm, "nearest")
  T.eq(rn:datatype(), "uint8")
  T.raises(function() ixi:resample_to(gm, "cubic") end, "bad argument #2 to 'resample_to' (option 'method' must be one of linear, nearest, got cubic)")
  T.truthy(ta and td, "fixture has the resampling target")
end)

T.test("fields: none; an unknown name raises with a did-you-mean", function()
  local v = nl.volume.load(data .. "sform_only.nii")
  T.methods_only(v, "Volume", "dims", "dim", "dims")
  T.raises(function() return v[1] end, "Volume has no field '1'")
  T.raises(function() v:save(data .. "x.nii", { compression = 10 }) end,
           "bad argument #2 to 'save' (option 'compression' must be between 1 and 9, got 10)")
  T.raises(function() v:save(data .. "x.nii", { version = 3 }) end, "option 'version' must be between 1 and 2, got 3")
  T.raises(function() v:smooth{ fwmh = 8 } end, "unknown option 'fwmh' for smooth; expected one of: fwhm; did you mean 'fwhm'?")
  T.raises(function() v:resample_to(v, "neareast") end, "got neareast; did you mean 'nearest'?")
end)

T.done()
