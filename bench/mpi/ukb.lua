-- bench/mpi/ukb.lua PARTICIPANTS MAPS_LIST MASK OUT: a UK-Biobank-size analysis as one
-- script, run on any number of MPI ranks (bench/mpi/ukb.sbatch; docs/scaling.md).
--   PARTICIPANTS  a table with columns subject, age, sex, site, tiv, a label `group`
--                 (1 / -1) and the regional volumes r001..r136
--   MAPS_LIST     a text file with one gray-matter map per line, in PARTICIPANTS' order
--   MASK          the analysis mask (a NIfTI file on the maps' grid)
--   OUT           the output folder (written by rank 0 only)
-- 1. The voxel store, built once (reused when OUT/gm.h5 exists).
-- 2. The voxelwise GLM of group adjusted for age, sex, site and TIV on the store, 1000
--    rearrangements, FWE by the maximum statistic: each rank reads its own voxel blocks.
-- 3. The ROI nested CV of the ketamine pipeline on the regional volumes with 1000
--    NeuroMiner-mode permutations, checkpointed (a job killed at its time limit is
--    resubmitted and resumes).
local nl = require "neurolua"
local participants, list, mask, out = arg[1], arg[2], arg[3], arg[4]
assert(out, "usage: ukb.lua PARTICIPANTS MAPS_LIST MASK OUT")
nl.mkdir(out)
print(nl.mpi.info())

local t = nl.table.read(participants)
local maps = {}
for line in io.lines(list) do maps[#maps + 1] = line end

local store_path = out .. "/gm.h5"
local exists = io.open(store_path, "r")
local store = exists and nl.store.open(store_path) or nl.store.build(store_path, maps, mask)
if exists then exists:close() end

local X = nl.matrix.ones(#t, 1):hcat(t:matrix{ "group", "age", "sex", "site", "tiv" })
local g = store:glm(X, { 0, 1, 0, 0, 0, 0 }, { permutations = 1000, seed = 1 })
print(g)
g.stat_map:save(out .. "/group_t.nii.gz")
g.p_fwe_map:save(out .. "/group_p_fwe.nii.gz")

local regions = {}
for _, c in ipairs(t:columns()) do
  if c:match("^r%d+$") then regions[#regions + 1] = c end
end
local covariates = { "age", "sex", "site", "tiv" }
local pipe = nl.ml.pipeline{ nl.ml.scale{ range = { -1, 1 } }, nl.ml.prune{}, nl.ml.regress_out(covariates),
                             nl.ml.pca{ k = 13 }, nl.ml.scale{ range = { -1, 1 } }, nl.ml.svc{ C = nl.ml.pow2(-6, 4) } }
local r = nl.cv.nested(pipe, t:matrix(regions), t:matrix{ "group" },
                       { covariates = t:select{ "subject", "group", "age", "sex", "site", "tiv" },
                         outer = { 3, 5 }, inner = { 3, 5 }, seed = 1, permutations = 1000,
                         checkpoint = out .. "/ncv_permutations.ckpt", checkpoint_every = 300 })
print(r)
r:save(out .. "/roi_ncv.nlm")
