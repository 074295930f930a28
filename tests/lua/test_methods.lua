-- Tests of the methods choices of issue 18 (docs/methods-notes.md) that need a whole
-- experiment: the covariate leak of NeuroMiner's retraining, and chance level with
-- refit_preprocessing (scripts/examples/covariate_leak.lua).
local T = require "testing"

local Leak = dofile("../../scripts/examples/covariate_leak.lua")

-- Features that carry only site and age, labels from site + age + noise, regress_out
-- {site, age} in the pipeline: chance is the right answer.
T.test("covariate leak: NeuroMiner's retraining learns the covariates, refit_preprocessing does not", function()
  local leaky, strict = {}, {}
  for s = 1, 6 do
    leaky[s] = Leak.bac(s, { 2, 5 }, false)
    strict[s] = Leak.bac(s, { 2, 5 }, true)
  end
  local lm, lt = Leak.summary(leaky)
  local sm, st = Leak.summary(strict)
  -- The finding reproduced (the CV1-test rows keep part of the covariate effect):
  T.truthy(lm > 0.58 and lt > 3, ("NeuroMiner retraining: mean BAC %.3f, t %.1f"):format(lm, lt))
  -- The default is at chance over the seeds.
  T.truthy(math.abs(sm - 0.5) < 0.03 and math.abs(st) < 2.5, ("refit_preprocessing: mean BAC %.3f, t %.1f"):format(sm, st))
  -- The default is refit_preprocessing = true.
  local X, y, t = Leak.data(1)
  local r = nl.cv.nested(Leak.pipeline, X, y, { covariates = t, inner = { 2, 5 }, seed = 1 })
  T.eq(r.refit_preprocessing_, true)
  T.near(r.metrics_.bac, strict[1], 0)
  T.truthy(tostring(r):find("methods: retrained base models with preprocessing refitted on CV1-train + CV1-test", 1, true),
    tostring(r))
end)

T.test("refit_preprocessing survives save and load, with its permutations", function()
  local X, y, t = Leak.data(2, 60)
  for _, refit in ipairs{ true, false } do
    local r = nl.cv.nested(Leak.pipeline, X, y, { covariates = t, outer = { 3, 2 }, inner = { 3, 1 }, seed = 3,
                                                  refit_preprocessing = refit, permutations = 5 })
    local path = T.tmpname(".model")
    r:save(path)
    local back = nl.cv.load(path)
    T.eq(back.refit_preprocessing_, refit)
    T.eq(back.solver_start_, "cold")
    T.eq(back.permutation_scoring_, "original")
    T.truthy(back.permutation_bac_ == r.permutation_bac_)
    T.truthy(back:apply(X, { covariates = t }).median_ == r:apply(X, { covariates = t }).median_)
    T.eq(tostring(back), tostring(r))
  end
end)

T.done()
