-- bench/mpi/bench_mpi.lua KIND [SIZE]: one timed computation whose units nl/core/mpi.hpp
-- spreads over ranks, for bench/mpi/run.sh. KIND:
--   ncv   the ketamine pipeline's nested CV (scale, prune, regress_out, PCA(13), scale,
--         SVC over 11 C; 3x5 / 3x5, as bench/cv) with SIZE (default 200) NeuroMiner-mode
--         permutations, on a synthetic cohort from bench/cv/make_data.py (arg[3])
--   glm   a two-group voxelwise GLM, 120 subjects x 20,000 voxels, SIZE (default 2000)
--         rearrangements with the max-statistic FWE
-- Prints (rank 0) `wall SECONDS` and `digest HEX`: a digest of the result's numbers, the
-- same on any number of ranks and threads.
local nl = require "neurolua"
local kind, size = arg[1], tonumber(arg[2] or "")

local function now()
  local p = io.popen("date +%s.%N")
  local t = tonumber(p:read("l"))
  p:close()
  return t
end

local function digest(m)  -- FNV-1a over the %a text of every number
  local h = 2166136261
  for i = 1, m:rows() do
    for j = 1, m:cols() do
      for c in string.format("%a", m:get(i, j)):gmatch(".") do h = ((h ~ c:byte()) * 16777619) & 0xffffffff end
    end
  end
  return string.format("%08x", h)
end

local t0, result
if kind == "ncv" then
  local t = nl.table.read((assert(arg[3], "ncv needs the data file")))
  local regions = {}
  for _, c in ipairs(t:columns()) do
    if c:match("^r%d+$") then regions[#regions + 1] = c end
  end
  local X, y = t:matrix(regions), t:matrix{ "response" }
  local covariates = { "age", "sex", "site", "tiv" }
  local pipe = nl.ml.pipeline{ nl.ml.scale{ range = { -1, 1 } }, nl.ml.prune{}, nl.ml.regress_out(covariates),
                               nl.ml.pca{ k = 13 }, nl.ml.scale{ range = { -1, 1 } }, nl.ml.svc{ C = nl.ml.pow2(-6, 4) } }
  t0 = now()
  local r = nl.cv.nested(pipe, X, y, { covariates = t:select{ "subject", "response", "age", "sex", "site", "tiv" },
                                       outer = { 3, 5 }, inner = { 3, 5 }, seed = 1, permutations = size or 200 })
  result = r.permutation_bac_
else
  local n, m = 120, 20000
  local Y = nl.matrix.randn(n, m, 7)
  local X = nl.matrix.ones(n, 2)
  for i = n // 2 + 1, n do X:set(i, 2, 0) end
  t0 = now()
  local r = nl.stats.glm(Y, X, { 0, 1 }, { permutations = size or 2000, seed = 1, progress = false })
  result = r.max_stat
end
local wall = now() - t0
if nl.mpi.root() then
  print(string.format("wall %.3f", wall))
  print("digest " .. digest(result))
end
