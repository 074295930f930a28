-- Tests of nl.fc: cleaning, head motion, band-pass, node signals, netmats, the
-- hierarchical node order and seed maps, through the Lua surface.
-- References: tests/data/fc/fc.txt and the images next to it (NumPy/SciPy/nibabel,
-- made by tests/data/fc/make_fixtures.py).
local T = require "testing"
local nl = require "neurolua"

local data = os.getenv("NL_TEST_DATA") .. "/fc/"

-- "name rows cols v11 v12 ..." lines as Matrices.
local function matrices(path)
  local out = {}
  for line in io.lines(path) do
    if not line:match("^#") then
      local name, r, c, rest = line:match("^(%S+) (%d+) (%d+) ?(.*)$")
      local values = {}
      for x in rest:gmatch("%S+") do values[#values + 1] = x == "nan" and 0 / 0 or tonumber(x) end
      out[name] = nl.matrix(values, tonumber(r), tonumber(c))
    end
  end
  return out
end

local R = matrices(data .. "fc.txt")
local I = matrices(data .. "inputs.txt")

-- max |a - b| / max(1, max |b|), NaN matching NaN.
local function rel(a, b)
  T.eq(a:rows(), b:rows(), "rows"); T.eq(a:cols(), b:cols(), "cols")
  local scale, d = 1, 0
  for i = 1, b:rows() do
    for j = 1, b:cols() do
      local y = b:get(i, j)
      if y == y then scale = math.max(scale, math.abs(y)) end
    end
  end
  for i = 1, b:rows() do
    for j = 1, b:cols() do
      local x, y = a:get(i, j), b:get(i, j)
      if (x ~= x) ~= (y ~= y) then return math.huge end
      if y == y then d = math.max(d, math.abs(x - y)) end
    end
  end
  return d / scale
end

local function bools_equal(list, m, what)
  T.eq(#list, m:cols(), what .. " length")
  for i = 1, #list do T.eq(list[i], m:get(1, i) == 1, what .. " frame " .. i) end
end

T.test("head motion: FD, Friston 24, scrubbing, summary, file formats", function()
  local motion = I.motion
  T.truthy(rel(nl.fc.fd(motion), R.fd:t()) < 1e-14, "fd")
  local f24, names = nl.fc.friston24(motion)
  T.truthy(rel(f24, R.friston24) < 1e-15, "friston24")
  T.eq(#names, 24); T.eq(names[13], "trans_x_derivative1")
  local kept, n = nl.fc.scrub(nl.fc.fd(motion), 0.5)
  bools_equal(kept, R.scrub_1_1, "scrub 1/1"); T.eq(n, 114)
  kept = nl.fc.scrub(nl.fc.fd(motion), 0.5, { before = 1, after = 2 })
  bools_equal(kept, R.scrub_1_2, "scrub 1/2")
  local s = nl.fc.motion(motion)
  T.near(s.mean_fd, R.motion_summary:get(1, 1), 1e-14)
  T.near(s.max_translation, R.motion_summary:get(1, 3), 1e-14)
  T.near(s.max_rotation, R.motion_summary:get(1, 4), 1e-14)
  T.eq(s.exclude, false); T.eq(s.n_scrubbed, 6); T.eq(s.n_kept, 114)
  T.truthy(tostring(s):find("6 frames scrubbed", 1, true), tostring(s))
  T.eq(nl.fc.motion(motion, { max_translation = 1 }).exclude, true)
  T.truthy(tostring(nl.fc.motion(motion, { max_translation = 1 })):find("EXCLUDE", 1, true))
  -- FSL and AFNI parameter orders give the same FD.
  T.truthy(rel(nl.fc.fd(I.motion_fsl, { format = "fsl" }), R.fd:t()) < 1e-14, "fsl")
  T.truthy(rel(nl.fc.fd(I.motion_afni, { format = "afni" }), R.fd:t()) < 1e-13, "afni")
  -- A realignment file: SPM's rp_*.txt layout.
  local path = T.tmpname(".txt")
  local lines = {}
  for i = 1, motion:rows() do
    local row = {}
    for j = 1, 6 do row[j] = string.format("%.17g", motion:get(i, j)) end
    lines[i] = "  " .. table.concat(row, "  ")
  end
  T.write_file(path, table.concat(lines, "\n") .. "\n")
  T.eq(rel(nl.fc.read_motion(path), motion), 0)
  T.write_file(path, "1 2 3 4 5 6\n1 2 3\n")
  T.raises(function() nl.fc.read_motion(path) end, "line 2: 3 values, expected 6 realignment parameters")
  T.raises(function() nl.fc.fd(motion, { format = "spm12" }) end, "option 'format' must be one of spm, fsl, afni")
  T.raises(function() nl.fc.fd(nl.matrix.zeros(5, 3)) end, "6 columns, got 3")
end)

T.test("detrending and band-pass filters equal NumPy/SciPy (nilearn's Butterworth)", function()
  T.truthy(rel(nl.fc.detrend(I.Y, 2), R.detrend_2) < 1e-12, "detrend 2")
  local Yd = nl.fc.detrend(I.Y)
  T.truthy(rel(Yd, R.detrend_1) < 1e-12, "detrend default order 1")
  T.truthy(rel(nl.fc.bandpass(Yd, { tr = 2 }), R.butter_band) < 1e-10, "butterworth")
  T.truthy(rel(nl.fc.bandpass(Yd, { tr = 2, low = 0 }), R.butter_low) < 1e-10, "low-pass only")
  T.truthy(rel(nl.fc.bandpass(Yd, { tr = 2, order = 3 }), R.butter_band_order3) < 1e-10, "order 3")
  T.truthy(rel(nl.fc.bandpass(Yd, { tr = 2, filter = "fft" }), R.fft_band) < 1e-12, "fft")
  T.raises(function() nl.fc.bandpass(Yd, {}) end, "option 'tr' (the repetition time in seconds) is required")
  T.raises(function() nl.fc.bandpass(Yd, { tr = 6 }) end, "is at or above the Nyquist frequency")
  T.raises(function() nl.fc.bandpass(Yd, { tr = 2, filter = "ideal" }) end, "must be one of butterworth, fft")
  T.raises(function() nl.fc.bandpass(Yd, { tr = 2, lowpass = 0.1 }) end, "unknown option 'lowpass'")
  local D = nl.matrix.hcat(nl.matrix.ones(I.Y:rows(), 1), I.confounds)
  local res = nl.fc.residualize(I.Y, D)
  T.truthy((D:t() * res):abs():max() < 1e-8, "residuals orthogonal to the design")
end)

T.test("the cleaning pipeline equals the documented NumPy steps", function()
  local clean, info = nl.fc.clean(I.Y, {
    discard = 5, detrend = 2, motion = I.motion, confounds = I.confounds,
    tr = 2, bandpass = { 0.01, 0.1 }, scrub = true, fd_threshold = 0.5,
  })
  T.truthy(rel(clean, R.clean_signals) < 1e-10, "signals")
  bools_equal(info.kept, R.clean_kept, "kept")
  T.eq(info.n_kept, 109); T.eq(info.frames, 115); T.eq(info.regressors, 30)
  T.eq(info.design:cols(), 30)
  T.eq(info.fd:get(1, 1), 0)
  T.truthy(tostring(info):find("clean: 109 of 115 frames kept, 30 regressors", 1, true), tostring(info))
  T.raises(function() nl.fc.clean(I.Y, { scrub = true }) end, "option 'scrub' needs option 'motion'")
  T.raises(function() nl.fc.clean(I.Y, { bandpass = { 0.01, 0.1 } }) end, "needs option 'tr'")
  T.raises(function() nl.fc.clean(I.Y, { motion = I.motion, motion_model = 12 }) end,
    "option 'motion_model' must be 24, 6 or \"none\"")
  T.raises(function() nl.fc.clean(I.Y, { motion = I.motion:rows_at(1, 50) }) end, "motion has 50 rows")
  T.raises(function() nl.fc.clean(I.Y, { discrad = 5 }) end, "unknown option 'discrad' for clean")
  local six = nl.fc.clean(I.Y, { motion = I.motion, motion_model = 6, detrend = 0 })
  T.eq(select(2, nl.fc.clean(I.Y, { motion = I.motion, motion_model = 6, detrend = 0 })).regressors, 7)
  T.eq(six:rows(), 120)
end)

T.test("node signals: mask means and atlas time series of a 4-D image", function()
  local v = nl.volume.load(data .. "seed4d.nii.gz")
  local mask = nl.volume.load(data .. "seed_mask.nii.gz")
  local two = nl.volume.load(data .. "two_voxels.nii.gz")
  local m = nl.fc.mask_means(v, { mask, two })
  T.truthy(rel(m, R.mask_means) < 1e-12, "mask means")
  T.truthy(rel(nl.fc.mask_means(v, two), R.mask_means:cols_at{2}) < 1e-12, "one mask")
  T.raises(function() nl.fc.mask_means(v, { mask, 3 }) end, "masks: entry 2 is not a neurolua.Volume")
  T.raises(function() nl.fc.mask_means(v, nl.volume.new(two, 0)) end, "mask 1 has no non-zero voxel")
end)

T.test("netmats, Fisher z, subjects x edges and labels equal FSLNets' formulas", function()
  local ts = I.ts_1_1
  T.truthy(rel(nl.fc.netmat(ts), R.netmat_corr) < 1e-12, "corr")
  T.truthy(rel(nl.fc.netmat(ts, { method = "ridgep" }), R.netmat_ridgep) < 1e-12, "ridgep")
  T.truthy(rel(nl.fc.netmat(ts, { method = "ridgep", rho = 1 }), R.netmat_ridgep_rho1) < 1e-12, "rho 1")
  T.truthy(rel(nl.fc.fisher_z(R.fisher_z_in), R.fisher_z_out) < 1e-13, "fisher z")
  T.near(nl.fc.max_abs_r, 1 - 1e-7, 0)
  local subjects = { { I.ts_1_1, I.ts_1_2 }, I.ts_2_1, { I.ts_3_1, I.ts_3_2, I.ts_3_3 } }
  T.truthy(rel(nl.fc.netmats(subjects), R.netmats_corr_z) < 1e-12, "netmats corr z")
  T.truthy(rel(nl.fc.netmats(subjects, { method = "ridgep", z = false }), R.netmats_ridgep_r) < 1e-12, "ridgep r")
  local E = nl.fc.edges(nl.fc.netmat(ts))
  T.eq(E:cols(), 28)
  T.truthy(rel(nl.fc.from_edges(E, 8), R.netmat_corr) < 1e-15, "from_edges")
  local labels = nl.fc.edge_labels{ "A", "B", "C", "D" }
  T.eq(#labels, 6); T.eq(labels[1], "A--B"); T.eq(labels[3], "A--D"); T.eq(labels[6], "C--D")
  T.raises(function() nl.fc.netmats{ I.ts_1_1, { I.ts_2_1, 5 } } end, "subject 2 run 2 is not a Matrix")
  T.raises(function() nl.fc.netmats{ I.ts_1_1, I.Y } end, "subject 2 run 1 has 5 nodes, subject 1 run 1 has 8")
  T.raises(function() nl.fc.netmat(ts, { method = "partial" }) end, "option 'method' must be one of corr, ridgep")
end)

T.test("the hierarchical node order equals FSLNets/SciPy", function()
  for i = 1, 20 do
    local order, linkage = nl.fc.hierarchy(I["hier_" .. i])
    local want = R["hier_order_" .. i]
    T.eq(#order, want:cols())
    for k = 1, #order do T.eq(order[k], want:get(1, k) + 1, "netmat " .. i .. " position " .. k) end
    T.eq(linkage:rows(), want:cols() - 1)
    local scipy = R["hier_linkage_" .. i]
    T.eq(linkage:get(1, 1), scipy:get(1, 1) + 1, "1-based cluster ids")
    T.near(linkage:get(linkage:rows(), 3), scipy:get(scipy:rows(), 3), 1e-12)
  end
end)

T.test("seed maps: Matrix and 4-D Volume paths equal numpy.corrcoef", function()
  local seed = I.seed:t()
  local z = nl.fc.seed_corr(seed, I.seed_data)
  T.truthy(rel(z, R.seed_z) < 1e-12, "z")
  T.truthy(rel(nl.fc.seed_corr(seed, I.seed_data, { z = false }), R.seed_r) < 1e-12, "r")
  local v = nl.volume.load(data .. "seed4d.nii.gz")
  local mask = nl.volume.load(data .. "seed_mask.nii.gz")
  local map = nl.fc.seed_map(seed, v, mask)
  T.eq(map:frames(), 1)
  local inside = map:values(mask):t()
  T.truthy(rel(inside, R.seedmap_z) < 1e-6, "map inside the mask (float32)")
  T.eq(map:get(3, 1, 1), 0, "outside the mask")
  -- The Matrix path (v:timeseries) painted into the mask gives the same map.
  local map2 = nl.fc.seed_map(seed, v:timeseries(mask), mask, { outside = -1 })
  T.truthy(rel(map2:values(mask):t(), R.seedmap_z) < 1e-6, "matrix path")
  T.eq(map2:get(3, 1, 1), -1)
  T.raises(function() nl.fc.seed_map(seed, I.Y, mask) end, "the seed has 60 frames, the data 120")
  T.raises(function() nl.fc.seed_map(seed, 5, mask) end, "a 4-D neurolua.Volume, a frames x voxels neurolua.Matrix or a neurolua.VoxelStore of frames expected")
  T.raises(function() nl.fc.seed_corr(I.Y, I.Y) end, "seed must be a Matrix with one column")
end)

T.test("FCInfo: optional fields read nil, unknown names raise, every field documented", function()
  local help = require "neurolua.help"
  local s = nl.fc.motion(I.motion)
  local _, info = nl.fc.clean(I.Y, { motion = I.motion, tr = 2, bandpass = { 0.01, 0.1 } })
  local _, bare = nl.fc.clean(I.Y, {})
  local mt = getmetatable(s)
  T.eq(mt.__name, "neurolua.FCInfo")
  T.truthy(getmetatable(info) == mt and getmetatable(bare) == mt)
  T.eq(table.concat(mt.__fields(s), ","),
       "kept,n_kept,fd,mean_fd,max_fd,max_translation,max_rotation,exclude,n_scrubbed,fd_threshold")
  T.eq(table.concat(mt.__fields(bare), ","), "frames,kept,n_kept,design,regressors")
  T.eq(#mt.__fields(info), 12)
  -- Optional fields a record lacks read as nil.
  T.eq(s.design, nil); T.eq(s.frames, nil); T.eq(s.regressors, nil)
  T.eq(info.fd_threshold, nil)
  T.eq(bare.mean_fd, nil); T.eq(bare.fd, nil); T.eq(bare.exclude, nil)
  T.eq(tostring(bare), "[clean: 120 of 120 frames kept, 2 regressors]")
  -- Other names raise, with a did-you-mean over the fields the record may have.
  T.raises(function() return s.mean_fdd end,
           "FCInfo has no field 'mean_fdd'; did you mean 'mean_fd'? (fields: frames, kept, n_kept, design, regressors, fd, mean_fd, ")
  T.raises(function() return info.n_scrubed end, "did you mean 'n_scrubbed'?")
  T.raises(function() return bare.regresors end, "FCInfo has no field 'regresors'; did you mean 'regressors'?")
  T.eq(next(mt.__methods), nil)
  for _, r in ipairs{ s, info } do
    for _, k in ipairs(mt.__fields(r)) do T.truthy(help.text("FCInfo." .. k), "FCInfo." .. k .. " has a reference entry") end
  end
  T.truthy(help.text(s):find("FCInfo.mean_fd", 1, true), "help(info) lists the FCInfo entries")
  -- The motion format, a positional argument of friston24, is checked like an option.
  T.raises(function() nl.fc.friston24(I.motion, "fls") end,
           "bad argument #2 to 'friston24' (option 'format' must be one of spm, fsl, afni, got fls; did you mean 'fsl'?)")
end)

T.done()
