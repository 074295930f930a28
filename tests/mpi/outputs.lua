-- tests/mpi/outputs.lua OUTDIR: every parallel unit that nl/core/mpi.hpp spreads over
-- ranks, with its results written to OUTDIR (only rank 0 writes). tests/mpi/test_mpi.sh
-- runs it in one process and under `mpirun -n 1, 2, 4` and compares the files byte for
-- byte. Numbers are written as hexadecimal floats (%a): exact.
local out = assert(arg[1], "usage: outputs.lua OUTDIR")
local nl = require "neurolua"
nl.mkdir(out)

local f = assert(io.open(out .. "/numbers.txt", "w"))
local function put(name, m)
  if type(m) == "number" then f:write(name, " ", string.format("%a", m), "\n") return end
  if type(m) == "table" and getmetatable(m) == nil then  -- a Lua list of numbers
    local row = {}
    for i, v in ipairs(m) do row[i] = string.format("%a", v) end
    f:write(name, " list ", #m, "\n", table.concat(row, " "), "\n")
    return
  end
  f:write(name, " ", m:rows(), "x", m:cols(), "\n")
  for i = 1, m:rows() do
    local row = {}
    for j = 1, m:cols() do row[j] = string.format("%a", m:get(i, j)) end
    f:write(table.concat(row, " "), "\n")
  end
end

-- Each rank says who it is: only rank 0's file may exist afterwards.
local who = assert(io.open(string.format("%s/rank_%d.txt", out, nl.mpi.rank()), "w"))
who:write(nl.mpi.rank(), " of ", nl.mpi.size(), "\n")
who:close()

-- Nested CV: outer folds (5 x 2 = 10 units: uneven blocks on 4 ranks), NeuroMiner-mode
-- permutations with the null kept, then a full-mode permutation test.
local X = nl.matrix.randn(48, 8, 11)
local y = {}
for i = 1, 48 do y[i] = X:get(i, 1) + X:get(i, 2) + 0.7 * nl.matrix.randn(1, 1, 200 + i):get(1, 1) > 0 end
local pipe = nl.ml.pipeline{ nl.ml.scale{}, nl.ml.pca{ k = 4 }, nl.ml.svc{ C = { 0.25, 1, 4 } } }
local r = nl.cv.nested(pipe, X, y, { outer = { 5, 2 }, inner = { 3, 1 }, seed = 7, permutations = 23,
                                     keep_null = true })
put("median", r.median_)
put("chosen_C", r.chosen_C_)
put("inner_bac", r.inner_bac_)
put("permutation_bac", r.permutation_bac_)
put("p", r.p_)
put("null_scores", r.null_scores_)
put("null_labels", r.null_labels_)
for i = 1, r.models_, 7 do put("weights_" .. i, r:model(i).w) end
r:save(out .. "/cv.nlm")
local full = nl.cv.nested(pipe, X, y, { outer = { 3, 1 }, inner = { 3, 1 }, seed = 8, permutations = 5, mode = "full" })
put("full_permutation_bac", full.permutation_bac_)
-- External validation's permutation test.
local Xn = nl.matrix.randn(20, 8, 12)
local yn = {}
for i = 1, 20 do yn[i] = Xn:get(i, 1) + Xn:get(i, 2) > 0 end
local ext = r:apply(Xn, yn, { permutations = 9 })
put("external_permutation_bac", ext.permutation_bac_)

-- GLM permutations: a t contrast with clusters and TFCE on a small grid (batches of 32
-- rearrangements: 300 make 10 uneven units).
local here = arg[0]:match("^(.*)/") or "."
local mask = nl.volume.new(nl.volume.load(here .. "/../data/cluster/mask.nii.gz"), 1)  -- 10 x 9 x 6, all in
local n = 16
local Y = nl.matrix.randn(n, 540, 5)
for i = 1, n // 2 do for j = 1, 40 do Y:set(i, j, Y:get(i, j) + 1.2) end end
local G = nl.matrix.ones(n, 2)
for i = n // 2 + 1, n do G:set(i, 2, 0) end
local g = nl.stats.glm(Y, G, { 0, 1 }, { permutations = 300, seed = 3, tfce = { mask = mask } })
put("max_stat", g.max_stat)
put("p_fwe", g.p_fwe)
put("p_perm", g.p_perm)
put("max_tfce", g.max_tfce)
put("p_tfce_fwe", g.p_tfce_fwe)
local c = nl.stats.glm(Y, G, { 0, 1 }, { permutations = 300, seed = 3, cluster = { mask = mask, threshold = 2.5 } })
put("max_cluster", c.max_cluster)
local cl = c.clusters
for i = 1, #cl do put("cluster_" .. i, { cl.size[i], cl.p_fwe[i], cl.p_unc[i] }) end

-- The GLM on a voxel store: its blocks spread over the ranks (each rank reads its own),
-- equal to the in-memory GLM. Rank 0 writes the maps and builds the store; the others
-- wait for it.
local maps = {}
local noise = nl.matrix.randn(n, 540, 13)
for i = 1, n do
  local v = nl.volume.new(mask)
  local q = 0
  for k = 1, 6 do for j = 1, 9 do for x = 1, 10 do
    q = q + 1
    v:set(x, j, k, noise:get(i, q) + (i <= n // 2 and q <= 40 and 1.2 or 0))
  end end end
  maps[i] = string.format("%s/map%02d.nii.gz", out, i)
  v:save(maps[i])
end
local store = nl.store.build(out .. "/maps.h5", maps, mask, { chunk = 64, progress = false })
local sg = store:glm(G, { 0, 1 }, { permutations = 300, seed = 3, progress = false })
put("store_stat", sg.stat)
put("store_p_perm", sg.p_perm)
put("store_max_stat", sg.max_stat)
put("store_p_fwe", sg.p_fwe)
local mg = nl.stats.glm(store:read(), G, { 0, 1 }, { permutations = 300, seed = 3, progress = false })
assert(sg.max_stat == mg.max_stat and sg.p_fwe == mg.p_fwe and sg.p_perm == mg.p_perm, "store GLM = in-memory GLM")
-- TFCE and clusters on the store: each pass's batches spread over the ranks (memory for
-- 2 batches per rank: several passes, uneven on 4 ranks), equal to the in-memory GLM.
local st = store:glm(G, { 0, 1 }, { permutations = 300, seed = 3, tfce = true, cluster = { threshold = 2.5 },
                                    memory = 2 * 32 * 9 * 540, progress = false })
put("store_max_tfce", st.max_tfce)
put("store_p_tfce", st.p_tfce)
put("store_p_tfce_fwe", st.p_tfce_fwe)
put("store_max_cluster", st.max_cluster)
put("store_tfce_max_stat", st.max_stat)
local scl = st.clusters
for i = 1, #scl do put("store_cluster_" .. i, { scl.size[i], scl.p_fwe[i], scl.p_unc[i] }) end
local mt = nl.stats.glm(store:read(), G, { 0, 1 }, { permutations = 300, seed = 3, tfce = { mask = mask },
                                                     cluster = { mask = mask, threshold = 2.5 }, progress = false })
assert(st.max_tfce == mt.max_tfce and st.p_tfce == mt.p_tfce and st.p_tfce_fwe == mt.p_tfce_fwe and
       st.max_cluster == mt.max_cluster and st.max_stat == mt.max_stat, "store TFCE and clusters = in-memory GLM")

-- A seed map from a store of frames (one subject's 4-D series): its blocks of voxels
-- spread over the ranks (each rank reads its own), equal to the map from the Volume.
local fcdata = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/../data/fc/"
local bold = nl.volume.load(fcdata .. "seed4d.nii.gz")
local smask = nl.volume.load(fcdata .. "seed_mask.nii.gz")
local fs = nl.store.build_series(out .. "/bold.h5", fcdata .. "seed4d.nii.gz", smask, { chunk = 5, progress = false })
local sseed = nl.matrix.randn(bold:frames(), 1, 17)
local smap = nl.fc.seed_map(sseed, fs, smask, { block = 5 })
put("store_seed_map", smap:values(smask))
local vmap = nl.fc.seed_map(sseed, bold, smask)
for i = 1, smap:values():rows() do
  assert(string.format("%a", smap:values():get(i, 1)) == string.format("%a", vmap:values():get(i, 1)),
         "store seed map = Volume seed map")
end

-- ROC band: bootstrap replicates.
local roc = nl.stats.roc(r.median_, r.y_, { band = true, boot = 101, seed = 4 })
put("band_lower", roc.band.lower)
put("band_upper", roc.band.upper)
f:close()
-- The units were shared out: with several ranks this one ran only its block.
local c = nl.mpi.counts()
assert(c.loops >= 8, "distributed loops run: " .. c.loops)
if nl.mpi.size() == 1 then
  assert(c.units_here == c.units_total, "one rank runs every unit")
else
  assert(c.units_here < c.units_total, string.format("rank %d ran %d of %d units", nl.mpi.rank(), c.units_here, c.units_total))
end
print(string.format("rank %d of %d: done", nl.mpi.rank(), nl.mpi.size()))
