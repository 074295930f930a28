-- nl.store (docs/reference/store.md): the out-of-core voxel store from Lua. Build from
-- map files and a mask, read back exactly, the GLM on the store equal to nl.stats.glm on
-- the same data read into memory, bad maps refused by name with no file left behind,
-- argument errors, printing.
local T = require "testing"
local nl = require "neurolua"

local data = os.getenv("NL_TEST_DATA") .. "/"
local ref = nl.volume.load(data .. "atlas/tiny.nii.gz")
local mask = ref:gt(0)
local nx, ny, nz = table.unpack(ref:dims())
local dir = T.tmpname("_store")
nl.mkdir(dir)

-- n maps on ref's grid: a subject effect, a group effect at every third voxel, noise.
local n = 24
local noise = nl.matrix.randn(n, nx * ny * nz, 7)
local group = {}
local paths = {}
for i = 1, n do
  group[i] = i % 2
  local v = nl.volume.new(ref)
  local q = 0
  for k = 1, nz do
    for j = 1, ny do
      for x = 1, nx do
        q = q + 1
        v:set(x, j, k, noise:get(i, q) + (q % 3 == 0 and 1.2 * group[i] or 0))
      end
    end
  end
  paths[i] = ("%s/sub-%02d.nii.gz"):format(dir, i)
  v:save(paths[i])
end

local function listing()
  local out = {}
  local p = io.popen("ls -A '" .. dir .. "'")
  for name in p:lines() do out[#out + 1] = name end
  p:close()
  table.sort(out)
  return table.concat(out, " ")
end

local store_path = dir .. "/gm.h5"
local s = nl.store.build(store_path, paths, mask, { chunk = 16, subjects = 8, compress = 1, progress = false })

T.test("a store keeps the maps' values, the mask and the grid", function()
  T.eq(s.n, n)
  T.eq(s.voxels, mask:values():sum())
  T.eq(s.chunk_subjects, 8)
  T.eq(s.chunk_voxels, 16)
  T.eq(s.compression, 1)
  T.eq(s.format_version, 1)
  T.eq(s.path, store_path)
  T.eq(table.concat(s.dims, "x"), table.concat(ref:dims(), "x"))
  T.truthy(s.stored_bytes > 0 and s.stored_bytes < 4 * n * s.voxels + 4096, "stored bytes " .. s.stored_bytes)
  T.truthy(s:affine() == ref:affine(), "affine kept")
  T.truthy(s:mask():values() == mask:values(), "mask kept")
  -- Every value: float32 maps, read back as doubles without rounding.
  local Y = s:read()
  T.eq(Y:rows(), n)
  T.eq(Y:cols(), s.voxels)
  for i = 1, n do
    local want = nl.volume.load(paths[i]):values(mask):t()
    T.truthy(Y:row(i) == want, "subject " .. i)
  end
  T.truthy(s:read(5, 20) == Y:cols_at(nl.range and nl.range(5, 20) or (function()
    local r = {}
    for q = 5, 20 do r[#r + 1] = q end
    return r
  end)()), "a voxel range")
  T.truthy(s:read(3, 3, { subjects = { 2, 4 } }) == Y:block(2, 3, 3, 1), "a block")
  T.truthy(s:map(5):values(mask) == nl.volume.load(paths[5]):values(mask), "a subject's map")
  T.eq(s:map(5):values():sum(), s:map(5):values(mask):sum(), "0 outside the mask")
  local src = s:sources()
  T.eq(src:nrows(), n)
  T.eq(src.path[3], paths[3])
  T.eq(src.sha256[3], nl.file_sha256(paths[3]))
end)

T.test("the GLM on a store equals nl.stats.glm on the data in memory", function()
  local X = nl.matrix.ones(n, 2)
  for i = 1, n do X:set(i, 2, group[i]) end
  local opts = { permutations = 200, seed = 3, progress = false }
  local r = s:glm(X, { 0, 1 }, opts)
  local m = nl.stats.glm(s:read(), X, { 0, 1 }, opts)
  T.truthy(r.stat == m.stat, "t")
  T.truthy(r.p_perm == m.p_perm, "uncorrected permutation p")
  T.truthy(r.p_fwe == m.p_fwe, "FWE p")
  T.truthy(r.max_stat == m.max_stat, "maxima")
  T.truthy(r.p_fwe_gamma == m.p_fwe_gamma, "gamma FWE p")
  T.truthy(r.p == m.p, "parametric p")
  T.eq(r.blocks_read, math.ceil(s.voxels / 16))
  -- The same through nl.store.glm and with a Design; maps on the grid.
  local r2 = nl.store.glm(s, nl.stats.design_two_sample(group), { permutations = 200, seed = 3, progress = false })
  T.truthy((r2.stat:abs() - r.stat:abs()):abs():max() < 1e-9, "design")
  -- maps hold float32
  T.truthy((r.p_fwe_map:values(mask) - r.p_fwe):abs():max() < 1e-7, "p_fwe_map")
  T.truthy((r.stat_map:values(mask) - r.stat):abs():max() < 1e-6 * r.stat:abs():max(), "stat_map")
  local text = tostring(r)
  T.truthy(text:find("GLM t contrast [0 1] on a voxel store: 24 subjects", 1, true), text)
  T.truthy(text:find("Freedman-Lane, 200 permutations", 1, true), text)
  -- Some voxels carry the effect and are found; most do not.
  local sig = 0
  for j = 1, s.voxels do sig = sig + (r.p_fwe:get(j, 1) < 0.05 and 1 or 0) end
  T.truthy(sig > 0 and sig < s.voxels, "FWE-significant voxels: " .. sig)
  -- F contrast; parametric only without permutations.
  local f = s:glm(X, { { 1, 0 }, { 0, 1 } }, { progress = false })
  T.eq(f.test, "F")
  T.eq(f.p_fwe, nil)
end)

-- Exact equality of two results' field (Matrices with NaN where both are NaN, Tables
-- cell by cell, Volumes voxel by voxel, numbers and strings as they are).
local function same(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) ~= "userdata" then return a == b end
  local kind = getmetatable(a).__name
  if kind ~= getmetatable(b).__name then return false end
  if kind == "neurolua.Volume" then a, b = a:values(), b:values() end
  if kind == "neurolua.Table" then a, b = a:matrix(), b:matrix() end
  if a:rows() ~= b:rows() or a:cols() ~= b:cols() then return false end
  for i = 1, a:rows() do
    for j = 1, a:cols() do
      local x, y = a:get(i, j), b:get(i, j)
      if not (x == y or (x ~= x and y ~= y)) then return false end
    end
  end
  return true
end

local tfce_fields = { "stat", "p", "p_perm", "p_fwe", "max_stat", "p_fwe_gamma", "tfce", "p_tfce", "p_tfce_fwe",
                      "max_tfce", "tfce_map", "p_tfce_fwe_map", "permutations", "exhaustive" }
local cluster_fields = { "stat", "p", "p_perm", "p_fwe", "max_stat", "clusters", "cluster_map", "max_cluster",
                         "cluster_threshold", "connectivity", "cluster_statistic", "stat_map" }

local function compare(r, m, fields, what)
  for _, f in ipairs(fields) do
    T.truthy(r[f] ~= nil, what .. ": field " .. f .. " missing")
    T.truthy(same(r[f], m[f]), what .. ": " .. f .. " differs from nl.stats.glm")
  end
end

T.test("TFCE and cluster inference on a store equal nl.stats.glm bit for bit", function()
  local X = nl.matrix.ones(n, 3)
  for i = 1, n do
    X:set(i, 2, group[i])
    X:set(i, 3, math.sin(i))
  end
  local Y = s:read()
  local blocks = {}
  for i = 1, n do blocks[i] = (i - 1) // 6 + 1 end
  local cases = {
    { "t two-sided", { 0, 1, 0 }, {} },
    { "t right, blocks", { 0, 1, 0 }, { tail = "right", blocks = blocks } },
    { "t sign flips", { 0, 1, 0 }, { scheme = "signflip", tail = "left" } },
    { "F", { { 0, 1, 0 }, { 0, 0, 1 } }, {} },
    { "F, blocks", { { 0, 1, 0 }, { 0, 0, 1 } }, { blocks = blocks } },
  }
  for _, c in ipairs(cases) do
    local name, C = c[1], c[2]
    local base = { permutations = 100, seed = 5, progress = false }
    for k, v in pairs(c[3]) do base[k] = v end
    local function with(extra)
      local o = {}
      for k, v in pairs(base) do o[k] = v end
      for k, v in pairs(extra) do o[k] = v end
      return o
    end
    -- TFCE, with memory for 2 batches (several passes) and with the default.
    local m = nl.stats.glm(Y, X, C, with { tfce = { mask = mask } })
    local r = s:glm(X, C, with { tfce = true, memory = 2 * 32 * 8 * s.voxels })
    compare(r, m, tfce_fields, name .. " TFCE")
    T.eq(r.passes, 1 + math.ceil(math.ceil(99 / 32) / 2), name .. ": passes")
    compare(s:glm(X, C, with { tfce = { H = 2, E = 0.5 }, block = 40 }), m, tfce_fields, name .. " TFCE, block 40")
    -- Clusters by extent (p) and by mass (threshold).
    m = nl.stats.glm(Y, X, C, with { cluster = { mask = mask, p = 0.05 } })
    r = s:glm(X, C, with { cluster = { p = 0.05 }, memory = 32 * s.voxels })
    compare(r, m, cluster_fields, name .. " clusters")
    m = nl.stats.glm(Y, X, C, with { cluster = { mask = mask, threshold = 1.5, statistic = "mass", connectivity = 6 } })
    r = s:glm(X, C, with { cluster = { threshold = 1.5, statistic = "mass", connectivity = 6 } })
    compare(r, m, cluster_fields, name .. " cluster mass")
    -- Both at once.
    m = nl.stats.glm(Y, X, C, with { cluster = { mask = mask, p = 0.01 }, tfce = { mask = mask } })
    r = s:glm(X, C, with { cluster = { p = 0.01 }, tfce = true, memory = 3 * 32 * 9 * s.voxels })
    compare(r, m, tfce_fields, name .. " both (TFCE)")
    compare(r, m, cluster_fields, name .. " both (clusters)")
  end
  -- Without permutations: the observed TFCE map and clusters, as nl.stats.glm gives them.
  local m = nl.stats.glm(Y, X, { 0, 1, 0 }, { tfce = { mask = mask }, cluster = { mask = mask, p = 0.05 } })
  local r = s:glm(X, { 0, 1, 0 }, { tfce = true, cluster = { p = 0.05 }, progress = false })
  compare(r, m, { "stat", "p", "tfce", "tfce_map", "clusters", "cluster_map" }, "no permutations")
  local text = tostring(s:glm(X, { 0, 1, 0 }, { permutations = 50, seed = 1, tfce = true, cluster = { p = 0.05 },
                                                progress = false }))
  T.truthy(text:find("TFCE: FWE p < 0.05:", 1, true) and text:find("clusters: ", 1, true), text)
end)

T.test("store TFCE and cluster options are checked", function()
  local X = nl.matrix.ones(n, 1)
  T.raises(function() return s:glm(X, { 1 }, { permutations = 10, tfce = true, memory = 1000 }) end,
           "memory: 1000 bytes hold fewer than one batch of 32 rearranged maps of " .. s.voxels .. " voxels")
  T.raises(function() return s:glm(X, { 1 }, { tfce = { mask = mask } }) end,
           "option 'tfce': the store's mask is the grid; leave out 'mask'")
  T.raises(function() return s:glm(X, { 1 }, { tfce = 3 }) end, "option 'tfce' must be true or a table")
  T.raises(function() return s:glm(X, { 1 }, { cluster = {} }) end, "option 'cluster' needs exactly one of 'p'")
  T.raises(function() return s:glm(X, { 1 }, { cluster = { mask = mask, p = 0.05 } }) end,
           "option 'cluster': the store's mask is the grid")
  T.raises(function() return s:glm(X, { 1 }, { memory = 0 }) end, "memory")
  T.raises(function() return s:glm(X, { 1 }, { checkpoint = dir .. "/c.ckpt" }) end, "it needs 'permutations'")
end)

T.test("bad maps are refused by name and leave no file behind", function()
  local before = listing()
  local out = dir .. "/bad.h5"
  local function fails(list, pattern)
    T.raises(function() return nl.store.build(out, list, mask, { progress = false }) end, pattern)
    T.eq(T.exists(out), false, "no store")
    T.eq(listing(), before, "no temporary file")
  end
  local list = { paths[1], dir .. "/missing.nii.gz", paths[3] }
  fails(list, "map 2 of 3: cannot open '" .. dir .. "/missing.nii.gz'")
  -- A map with NaN inside the mask: the offending voxel is named.
  local v = nl.volume.load(paths[1])
  local first
  for k = 1, nz do
    for j = 1, ny do
      for x = 1, nx do
        if not first and mask:get(x, j, k) ~= 0 then first = { x, j, k } end
      end
    end
  end
  v:set(first[1], first[2], first[3], 0 / 0)
  local nan_path = dir .. "/nan.nii.gz"
  v:save(nan_path)
  before = listing()
  fails({ paths[1], paths[2], nan_path }, "map 3 of 3 ('" .. nan_path .. "') has NaN inside the mask at voxel")
  -- A map on another grid, and a 4-D file.
  before = listing()
  fails({ paths[1], data .. "nifti/good_int16.nii" }, "map 2 of 2 ('" .. data .. "nifti/good_int16.nii') has the mask's dimensions but another affine")
  fails({ data .. "nifti/nifti2_4d.nii.gz", paths[1] }, "map 1 of 2 ('" .. data .. "nifti/nifti2_4d.nii.gz') is 4-D (")
  -- The store never overwrites an input.
  T.raises(function() return nl.store.build(paths[2], paths, mask, { progress = false }) end,
           "bad argument #1 to 'build' (path: '" .. paths[2] .. "' is map 2 of 24")
  T.eq(listing(), before)
end)

T.test("arguments are checked", function()
  T.raises(function() return nl.store.build(dir .. "/x.h5", {}, mask) end, "maps: the list is empty")
  T.raises(function() return nl.store.build(dir .. "/x.h5", { 1 }, mask) end, "entry 1 is a number")
  T.raises(function() return nl.store.build(dir .. "/x.h5", paths, 3) end, "mask: a Volume or a file name expected")
  T.raises(function() return nl.store.build(dir .. "/x.h5", paths, mask, { compress = 10 }) end, "compress")
  T.raises(function() return nl.store.build(dir .. "/x.h5", paths, mask, { chunks = 4 }) end,
           "did you mean 'chunk'?")
  T.raises(function() return nl.store.open(dir .. "/none.h5") end, "cannot open '" .. dir .. "/none.h5'")
  T.raises(function() return nl.store.open(paths[1]) end, "is not an HDF5 file")
  T.raises(function() return s:read(0) end, "voxel 0 out of range")
  T.raises(function() return s:map(n + 1) end, "subject 25 out of range [1, 24]")
  T.raises(function() return s:glm(nl.matrix.ones(n - 1, 1), { 1 }) end, "design has 23 rows but the store has 24")
  T.raises(function() return s.voxel end, "VoxelStore has no field 'voxel'; did you mean 'voxels'?")
end)

T.test("a store prints its shape, grid and chunks", function()
  local text = tostring(s)
  T.truthy(text:find("[VoxelStore 24 subjects x " .. s.voxels .. " voxels, ", 1, true), text)
  T.truthy(text:find("chunks 8 x 16, deflate 1]", 1, true), text)
  -- The mask from a file, uncompressed, reopened.
  local mpath = dir .. "/mask.nii.gz"
  mask:save(mpath)
  local u = nl.store.build(dir .. "/u.h5", paths, mpath, { compress = 0, progress = false })
  T.eq(u.mask_source, mpath)
  T.truthy(tostring(nl.store.open(dir .. "/u.h5")):find("uncompressed]", 1, true))
  T.truthy(u:read() == s:read(), "same values")
end)

-- A store of frames: one subject's 4-D series, frames as rows, read by voxel block by
-- nl.fc.seed_map; the map equals the one from the 4-D Volume bit for bit.
local series = data .. "fc/seed4d.nii.gz"
local smask_path = data .. "fc/seed_mask.nii.gz"
local bold = nl.volume.load(series)
local smask = nl.volume.load(smask_path)
local frames = bold:frames()
local fs = nl.store.build_series(dir .. "/bold.h5", series, smask_path, { chunk = 7, frames = 16, progress = false })
local seed = nl.matrix.randn(frames, 1, 11)

-- Whether two Volumes hold the same values bit for bit (NaN equal to NaN: a constant
-- voxel's correlation is NaN on every path).
local function same_bits(a, b)
  local x, y = a:values(), b:values()
  if x:rows() ~= y:rows() then return false end
  for i = 1, x:rows() do
    if string.format("%a", x:get(i, 1)) ~= string.format("%a", y:get(i, 1)) then return false end
  end
  return true
end

T.test("a store of frames keeps the series' frames as rows", function()
  T.eq(fs.rows, "frames")
  T.eq(s.rows, "subjects")
  T.eq(fs.n, frames)
  T.eq(fs.voxels, smask:values():sum())
  T.eq(fs.format_version, 2)
  T.eq(fs.chunk_subjects, 16)
  T.eq(fs.chunk_voxels, 7)
  T.eq(fs.mask_source, smask_path)
  T.truthy(fs:read() == bold:timeseries(smask), "every value, as float32")
  T.truthy(fs:map(3):values(smask) == bold:frame(3):values(smask), "frame 3")
  local src = fs:sources()
  T.eq(src:nrows(), 1)
  T.eq(src.path[1], series)
  T.eq(#src.sha256[1], 64)
  local text = tostring(fs)
  T.truthy(text:find("[VoxelStore " .. frames .. " frames of '" .. series .. "' x " .. fs.voxels .. " voxels, ", 1,
                     true), text)
  T.truthy(tostring(nl.store.open(dir .. "/bold.h5")) == text, "reopened")
  T.raises(function() return fs:glm(nl.matrix.ones(frames, 1), { 1 }) end,
           "calling 'glm' on bad self (the store '" .. dir .. "/bold.h5' holds the " .. frames .. " frames of one series")
  T.raises(function() return nl.store.glm(fs, nl.matrix.ones(frames, 1), { 1 }) end,
           "bad argument #1 to 'glm' (the store '" .. dir .. "/bold.h5' holds the " .. frames .. " frames")
end)

T.test("seed_map on a store of frames equals seed_map on the 4-D Volume bit for bit", function()
  local ref_map = nl.fc.seed_map(seed, bold, smask)
  for _, block in ipairs({ 0, 1, 7, 30, 100000 }) do
    local m = nl.fc.seed_map(seed, fs, smask, block > 0 and { block = block } or nil)
    T.truthy(same_bits(m, ref_map), "block " .. block)
  end
  local r = nl.fc.seed_map(seed, fs, smask, { z = false, outside = -2 })
  T.truthy(same_bits(r, nl.fc.seed_map(seed, bold, smask, { z = false, outside = -2 })), "r, outside")
  -- The frames x voxels Matrix path sums in another order: equal within float32 rounding.
  local mm = nl.fc.seed_map(seed, fs:read(), smask)
  local x, y, d = mm:values(smask), ref_map:values(smask), 0
  for i = 1, x:rows() do
    local a, b = x:get(i, 1), y:get(i, 1)
    T.eq(a ~= a, b ~= b, "NaN at the same voxels")
    if a == a then d = math.max(d, math.abs(a - b)) end
  end
  T.truthy(d < 1e-6, "matrix path within float32 rounding: " .. d)
  -- Compressed, with whole-series chunks: the same map.
  local c = nl.store.build_series(dir .. "/bold9.h5", series, smask, { compress = 1, progress = false })
  T.truthy(same_bits(nl.fc.seed_map(seed, c, smask), ref_map), "compressed store")
end)

T.test("seed_map on a store names the wrong argument", function()
  T.raises(function() return nl.fc.seed_map(nl.matrix.randn(frames - 1, 1, 1), fs, smask) end,
           "bad argument #1 to 'seed_map' (seed: has " .. (frames - 1) .. " frames, the store '" .. dir ..
           "/bold.h5' " .. frames .. ")")
  T.raises(function() return nl.fc.seed_map(nl.matrix.randn(n, 1, 1), s, mask) end,
           "bad argument #2 to 'seed_map' (data: the store '" .. store_path .. "' holds 24 subjects' maps, not the frames")
  T.raises(function() return nl.fc.seed_map(seed, fs, mask) end, "bad argument #3 to 'seed_map' (mask: on a different grid")
  local small = nl.volume.new(smask)
  local first = true
  local sx, sy, sz = table.unpack(smask:dims())
  for k = 1, sz do
    for j = 1, sy do
      for x = 1, sx do
        if smask:get(x, j, k) ~= 0 then
          if not first then small:set(x, j, k, 1) end
          first = false
        end
      end
    end
  end
  T.raises(function() return nl.fc.seed_map(seed, fs, small) end,
           "bad argument #3 to 'seed_map' (mask: its " .. (fs.voxels - 1) .. " voxels are not the store's " .. fs.voxels)
  T.raises(function() return nl.fc.seed_map(seed, bold, smask, { block = 10 }) end, "option 'block' applies to a VoxelStore only")
  T.raises(function() return nl.fc.seed_map(seed, fs, smask, { block = 0 }) end, "block")
end)

T.test("a bad series is refused by name and leaves no file behind", function()
  local before = listing()
  local out = dir .. "/badseries.h5"
  local function fails(path, m, pattern)
    T.raises(function() return nl.store.build_series(out, path, m, { progress = false }) end, pattern)
    T.eq(T.exists(out), false, "no store")
    T.eq(listing(), before, "no temporary file")
  end
  fails(dir .. "/none.nii.gz", smask, "series '" .. dir .. "/none.nii.gz': cannot open")
  fails(paths[1], mask, "series '" .. paths[1] .. "' is 3-D (one frame)")
  fails(series, mask, "series '" .. series .. "' is ")
  -- NaN in frame 5 inside the mask: the frame and the voxel are named.
  local v = nl.volume.load(series)
  local at
  local sx, sy, sz = table.unpack(smask:dims())
  for k = 1, sz do
    for j = 1, sy do
      for x = 1, sx do
        if not at and smask:get(x, j, k) ~= 0 then at = { x, j, k } end
      end
    end
  end
  v:set(at[1], at[2], at[3], 5, 0 / 0)
  local nan_path = dir .. "/nan4d.nii.gz"
  v:save(nan_path)
  before = listing()
  fails(nan_path, smask, "series '" .. nan_path .. "' has NaN inside the mask at voxel (" .. (at[1] - 1) .. ", " ..
        (at[2] - 1) .. ", " .. (at[3] - 1) .. ") (0-based; mask voxel 1 of " .. fs.voxels .. ") in frame 5 of " .. frames)
  T.raises(function() return nl.store.build_series(series, series, smask, { progress = false }) end,
           "bad argument #1 to 'build_series' (path: '" .. series .. "' is the series")
  T.raises(function() return nl.store.build_series(out, 3, smask) end, "bad argument #2 to 'build_series'")
  T.raises(function() return nl.store.build_series(out, series, smask, { subjects = 4 }) end, "subjects")
  T.eq(listing(), before)
end)

T.done()
