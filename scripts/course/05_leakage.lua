-- Lesson 5: Leakage — selection, scaling and covariates outside the folds
--
-- neurolua scripts/course/05_leakage.lua runs the whole lesson; in the REPL,
-- neurolua --course and then lesson(5) runs it step by step. Page: docs/course/05_leakage.md.
local nl = require "neurolua"
local course = nl.course

-- %% noise: A data set with nothing in it
-- 100 subjects, 2,000 features of Gaussian noise, and labels drawn independently of
-- the features: no method can predict these labels better than chance (BAC 50 %).
local n, p = 100, 2000
local X = nl.matrix.randn(n, p, 5)
local u = nl.matrix.rand(n, 1, 6)
local y = {}
for i = 1, n do y[i] = u:get(i, 1) < 0.5 and 1 or -1 end
local npos = 0
for i = 1, n do if y[i] == 1 then npos = npos + 1 end end
print(("%d subjects (%d of class +1), %d features"):format(n, npos, p))

-- %% leaky: Select the 20 best features on all subjects, then cross-validate
-- The filter ranks every feature by its F statistic against the labels, using every
-- subject, the future test subjects included. The nested CV then only sees the 20 winners.
local top = nl.ml.filter{ k = 20 }:fit(X, y)
local X20 = top:transform(X)
local model = function() return nl.ml.pipeline{ nl.ml.scale{}, nl.ml.svc{ C = nl.ml.pow2(-6, 4) } } end
local leaky = nl.cv.nested(model(), X20, y, { seed = 1, permutations = 200 })
print(leaky)
print(("BAC %s %%, AUC %s, p = %s"):format(course.fact("leaky_bac", 100 * leaky.metrics_.bac, "%.1f"),
  course.fact("leaky_auc", leaky.metrics_.auc, "%.2f"), course.fact("leaky_p", leaky.p_, "%.3f")))

-- %% honest: Select inside the folds
-- The same filter as a pipeline step: it is fitted on each training fold only, so the
-- test subjects never vote on which features are kept.
local honest = nl.cv.nested(nl.ml.pipeline{ nl.ml.scale{}, nl.ml.filter{ k = 20 }, nl.ml.svc{ C = nl.ml.pow2(-6, 4) } },
                            X, y, { seed = 1, permutations = 200 })
print(honest)
print(("BAC %s %%, AUC %s, p = %s"):format(course.fact("honest_bac", 100 * honest.metrics_.bac, "%.1f"),
  course.fact("honest_auc", honest.metrics_.auc, "%.2f"), course.fact("honest_p", honest.p_, "%.2f")))

-- %% null: The permutation test does not catch it
-- Each permutation shuffles the labels and reruns the CV on the same 20 features, which
-- were chosen with the true labels: the null is centred on chance while the leaky BAC
-- sits far to its right.
leaky:plot_permutations(course.figure("05_leaky_null.png"), { title = "Selection outside the folds: the null" })
honest:plot_permutations(course.figure("05_honest_null.png"), { title = "Selection inside the folds: the null" })
local null = leaky.permutation_bac_
print(("null BAC: mean %.1f %%, largest %.1f %%; leaky BAC %.1f %%"):format(100 * null:mean(), 100 * null:max(),
  100 * leaky.metrics_.bac))

-- %% scaling: Scaling outside the folds
-- Scaling does not look at the labels, so fitting it on all subjects leaks little: the
-- test subjects only move the mean and SD a bit. It is still a leak in principle.
local Xz = nl.ml.scale{}:fit(X):transform(X)   -- fitted on all 100 subjects
local outside = nl.cv.nested(nl.ml.pipeline{ nl.ml.filter{ k = 20 }, nl.ml.svc{ C = nl.ml.pow2(-6, 4) } },
                             Xz, y, { seed = 1 })
print(("scaled on all subjects, selected inside: BAC %s %%"):format(
  course.fact("scaled_outside_bac", 100 * outside.metrics_.bac, "%.1f")))

-- %% covariates: Covariate regression and NeuroMiner's retraining
-- Features that carry nothing but site and age, labels that depend on site and age
-- (scripts/examples/covariate_leak.lua). Regressing out site and age inside the folds is
-- right, and leaves chance. NeuroMiner's retraining (refit_preprocessing = false) keeps
-- a covariate fit that never saw part of its training rows, and the SVC learns the rest.
local leak = dofile(course.dir .. "/../examples/covariate_leak.lua")
local refit, nm = {}, {}
for seed = 1, 4 do
  refit[seed] = leak.bac(seed, { 2, 5 }, true, 120)
  nm[seed] = leak.bac(seed, { 2, 5 }, false, 120)
end
local mean_refit = leak.summary(refit)
local mean_nm = leak.summary(nm)
print(("mean BAC over 4 data sets: refitted %s %%, NeuroMiner's retraining %s %%"):format(
  course.fact("cov_refit_bac", 100 * mean_refit, "%.1f"), course.fact("cov_nm_bac", 100 * mean_nm, "%.1f")))

-- %% solution1: Exercise 1 — how the leak grows with the number of candidate features
local function leaky_bac(pp)
  local Xp = nl.matrix.randn(n, pp, 5)
  local Xk = nl.ml.filter{ k = 20 }:fit(Xp, y):transform(Xp)
  return nl.cv.nested(model(), Xk, y, { seed = 1 }).metrics_.bac
end
for _, pp in ipairs{ 20, 200, 2000 } do
  print(("%5d candidate features: BAC %.1f %%"):format(pp, 100 * leaky_bac(pp)))
end

-- %% solution2: Exercise 2 — the leak needs the labels
-- Select the 20 features with the largest variance (no labels involved) on all subjects.
local var = X:std(1)
local order = {}
for j = 1, p do order[j] = j end
table.sort(order, function(a, b) return var:get(1, a) > var:get(1, b) end)
local cols = {}
for k = 1, 20 do cols[k] = order[k] end
local by_variance = nl.cv.nested(model(), X:cols_at(cols), y, { seed = 1 })
print(("20 highest-variance features, chosen on all subjects: BAC %.1f %%"):format(100 * by_variance.metrics_.bac))
