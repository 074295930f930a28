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

-- A site so small that a fold's training rows miss it: the error names the fold, the
-- step, the level, the participant and the choices; unseen = "drop" runs.
T.test("an unseen site inside the nested CV names the fold and the participant", function()
  local n = 40
  local X = nl.matrix.randn(n, 5, 1)
  local y, site, ids = {}, {}, {}
  for i = 1, n do
    y[i] = X:get(i, 1) > 0 and 1 or -1
    site[i] = i <= 2 and "C" or (i % 2 == 0 and "A" or "B")
    ids[i] = ("sub-%02d"):format(i)
  end
  local t = nl.table.new{ { "participant_id", ids }, { "site", site } }
  local pipe = nl.ml.pipeline{ nl.ml.regress_out{ "site" }, nl.ml.svc{ C = 1 } }
  T.raises(function() return nl.cv.nested(pipe, X, y, { covariates = t }) end,
    "nested CV, CV2 fold 1 (repeat 1, fold 1), preprocessing fitted on CV1-train: regress_out: covariate 'site' has "
    .. "a level not seen in the training rows: 'C' (1 row), participant_id sub-0")
  T.raises(function() return nl.cv.nested(pipe, X, y, { covariates = t }) end, "Choose unseen = \"drop\"")
  local ok = nl.ml.pipeline{ nl.ml.regress_out{ "site", unseen = "drop" }, nl.ml.svc{ C = 1 } }
  T.truthy(nl.cv.nested(ok, X, y, { covariates = t }).metrics_.bac > 0.7)
end)

T.done()
