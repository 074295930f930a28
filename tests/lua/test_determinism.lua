-- test_determinism.lua: reproducibility promises not held elsewhere (docs/reliability.md,
-- "Reproducible results"): the same seed gives bit-identical results on 1 and 2
-- threads, and another seed gives another result, for the fMRI simulator, the
-- permutations of a nested CV and of an external validation, and permutation GLMs.
-- (The ketamine simulator: test_sim.lua; nested-CV scores: test_cv.lua; the engine
-- versions: tests/engine/sim/test_sim_fmri.cpp, tests/engine/ml/test_nested_cv.cpp, tests/engine/ml/test_oocv.cpp, tests/engine/stats/test_permutation.cpp,
-- tests/engine/stats/test_cluster.cpp.)
local T = require "testing"
local nl = require "neurolua"

local threads = nl.threads()
-- fn() run on 1 thread and on 2; returns both results.
local function on_1_and_2(fn)
  nl.threads(1)
  local a = fn()
  nl.threads(2)
  local b = fn()
  nl.threads(threads)
  return a, b
end

-- A fresh directory name under /tmp (not created), removed by T.done().
local function tmpdir() return T.tmpname("_det") end

T.test("nl.sim.fmri: the same seed writes the same bytes on 1 and 2 threads; another seed differs", function()
  if not T.atlas_installed("aal") then print("skip: AAL not installed") return end
  local aal = nl.atlas.load("aal")
  local function sim(seed)
    local dir = tmpdir()
    nl.sim.fmri { seed = seed, atlas = aal, dir = dir, resolution = 8, frames = 60,
                  subjects = { patients = 2, controls = 1 } }
    return T.read_file(dir .. "/func/sub-001_ses-post_run-1_bold.nii.gz") .. T.read_file(dir .. "/participants.tsv")
  end
  local a, b = on_1_and_2(function() return sim(7) end)
  T.truthy(a == b, "identical files on 1 and 2 threads")
  T.truthy(sim(8) ~= a, "another seed, other files")
end)

local X = nl.matrix.randn(48, 5, 21)
local y = {}
for i = 1, 48 do y[i] = X:get(i, 1) + 0.8 * nl.matrix.randn(1, 1, 300 + i):get(1, 1) > 0 end
local pipe = nl.ml.pipeline { nl.ml.scale {}, nl.ml.svc { C = { 0.5, 2 } } }
local small = { outer = { 3, 1 }, inner = { 3, 1 } }
local function cv(seed, permutations)
  return nl.cv.nested(pipe, X, y, { outer = small.outer, inner = small.inner, seed = seed, permutations = permutations })
end

T.test("nested-CV permutation test: identical on 1 and 2 threads; another seed, other permutations", function()
  local a, b = on_1_and_2(function() return cv(3, 30) end)
  T.truthy(a.permutation_bac_ == b.permutation_bac_, "permutation BACs identical")
  T.eq(a.p_, b.p_)
  T.truthy(cv(4, 30).permutation_bac_ ~= a.permutation_bac_, "another seed, other permutation BACs")
end)

T.test("external validation permutations: identical on 1 and 2 threads; another seed differs", function()
  local Xn = nl.matrix.randn(30, 5, 22)
  local yn = {}
  for i = 1, 30 do yn[i] = Xn:get(i, 1) > 0 end
  local r3, r4 = cv(3), cv(4)
  local a, b = on_1_and_2(function() return r3:apply(Xn, yn, { permutations = 40 }) end)
  T.truthy(a.permutation_bac_ == b.permutation_bac_, "permutation BACs identical")
  T.eq(a.p_, b.p_)
  T.truthy(r4:apply(Xn, yn, { permutations = 40 }).permutation_bac_ ~= a.permutation_bac_,
    "another seed (the result's seed_), other permutations")
end)

T.test("permutation GLM: identical on 1 and 2 threads; another seed, other rearrangements", function()
  local Y = nl.matrix.randn(16, 30, 5)
  local d = nl.stats.design_one_sample(16)
  local function glm(seed) return nl.stats.glm(Y, d, { permutations = 200, seed = seed, progress = false }) end
  local a, b = on_1_and_2(function() return glm(9) end)
  T.truthy(a.max_stat == b.max_stat, "max-statistic distributions identical")
  T.truthy(a.p_fwe == b.p_fwe, "FWE p identical")
  T.truthy(glm(10).max_stat ~= a.max_stat, "another seed, another distribution")
end)

T.done()
