-- scripts/ketamine/change.lua: the regression variant of the discovery model
-- (target=change): predict the percentage MADRS change, 100 (post - pre) / pre (negative
-- values are improvement), from the same regional GM volumes through the same
-- preprocessing (scale, prune, covariate regression, ROBPCA, scale, wrapper) with a
-- regressor instead of the SVC: ridge (model=ridge, the default; alpha 10^-2 .. 10^3,
-- an unpenalized intercept) or the L2-loss linear SVR (model=svr; C 2^-6 .. 2^4, an
-- intercept as LIBLINEAR's bias feature of value 1, scikit-learn's LinearSVR default;
-- it is regularized like the weights, so at small C it shrinks a mean change near -50 %
-- toward 0, one reason ridge is the default; a larger bias value makes LIBLINEAR's dual
-- solver converge very slowly). The CV1 criterion and the permutation statistic
-- are the MAE. Both sets of methods run (common.lua, M.methods).
--
-- Used by discovery.lua with target=change. Returns a function(K, o) that runs it,
-- prints the table and saves <out>/discovery_change[_strict].model.
local nl = require "neurolua"

-- The targets of the rows of t: the percentage change; a zero baseline score is an
-- error naming the participant.
local function percent_change(t)
  local y = {}
  for i = 1, #t do
    local pre, post = t.madrs_pre[i], t.madrs_post[i]
    if pre == 0 then
      error(("participant %s: madrs_pre is 0, so the percentage change is undefined"):format(t.participant_id[i]), 0)
    end
    y[i] = 100 * (post - pre) / pre
  end
  return y
end

-- The paper's preprocessing (common.lua, M.pipeline) with the regressor of o.model.
local function pipeline(K, o)
  if (o.model or "ridge") == "svr" then return K.pipeline(o, nl.ml.svr{ C = nl.ml.pow2(-6, 4), bias = 1 }) end
  local alphas = {}
  for e = -2, 3 do alphas[#alphas + 1] = 10 ^ e end
  return K.pipeline(o, nl.ml.ridge{ alpha = alphas })
end

return function(K, o)
  local t0 = K.participants(o)
  local cohorts = K.has_column(t0, "cohort") and { "discovery" } or nil
  local t, X = K.load(o, cohorts)
  local y = percent_change(t)
  local lines = { ("Percentage MADRS change predicted by %s (%d subjects, %d regions, %d permutations, MAE criterion)")
    :format((o.model or "ridge"), #t, X:ncols(), o.permutations),
    ("%-48s %6s %6s %8s %8s  %s"):format("methods", "r", "R^2", "MAE", "RMSE", "p (count/n)") }
  local results = {}
  for _, method in ipairs{ K.methods.neurominer, K.methods.strict } do
    local r = nl.cv.nested(pipeline(K, o), X, y, { covariates = t, outer = { 3, 5 }, inner = { 3, 5 },
                                                permutations = o.permutations, seed = o.seed,
                                                refit_preprocessing = method.refit })
    local m = r.metrics_
    local p = r.p_ and ("%.4f (%d/%d)"):format(r.p_, r.permutation_count_, r.n_permutations_) or "n/a"
    local label = method == K.methods.strict and "leak-free (preprocessing refitted)" or "NeuroMiner 1.3"
    lines[#lines + 1] = ("%-48s %6.3f %6.3f %8.2f %8.2f  %s"):format(label, m.r, m.r2, m.mae,
      m.rmse, p)
    K.mkdir(o.out)
    r:save(("%s/%s_change.model"):format(o.out, method.model))
    results[method.name] = r
  end
  print(table.concat(lines, "\n"))
  print(("\nSaved %s/discovery_change.model and %s/discovery_strict_change.model"):format(o.out, o.out))
  return results
end
