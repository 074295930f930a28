-- Lesson 7: Permutation tests: what p means
--
-- neurolua scripts/course/07_permutations.lua runs the whole lesson; in the REPL,
-- neurolua --course and then lesson(7) runs it step by step. Page: docs/course/07_permutations.md.
local nl = require "neurolua"
local course = nl.course

-- %% model: A model and its null
-- The discovery cohort with the planted effect, and the pipeline of lesson 6. With
-- permutations = 500 the labels are shuffled 500 times and the models retrained on each
-- shuffle; keep_null = true keeps every shuffle's labels and scores for later.
local p, truth, vol = nl.sim.ketamine{ seed = 1, cohorts = { "discovery" }, dir = course.data("discovery"),
                                       overwrite = true }
local y = nl.study.response(p.madrs_pre, p.madrs_post)
local pipe = nl.ml.pipeline{ nl.ml.scale{}, nl.ml.regress_out{ "age", "sex", "site", "tiv" },
                             nl.ml.svc{ C = nl.ml.pow2(-6, 4) } }
local r = nl.cv.nested(pipe, vol, y, { covariates = p, seed = 1, permutations = 500, keep_null = true })
print(r)
r:plot_permutations(course.figure("07_null.png"), { title = "Discovery cohort: 500 permutations (NeuroMiner mode)" })

-- %% by_hand: p by hand
-- The count is the number of permutations whose BAC reached the observed one (ties
-- count). The observed labelling is one more arrangement that was equally likely under
-- the null, hence the + 1 above and below.
local null = r.permutation_bac_
local observed = r.metrics_.bac
local count = 0
for k = 1, null:rows() do
  if null:get(k, 1) >= observed then count = count + 1 end
end
local n = null:rows()
print(("observed BAC %s %%; %s of %s permutations reached it"):format(course.fact("bac", 100 * observed, "%.1f"),
  course.fact("count", count), course.fact("n", n)))
print(("p = (%d + 1) / (%d + 1) = %s   (r.p_ = %.4f; NeuroMiner's count / n, r.p_count_ = %.4f)"):format(
  count, n, course.fact("p", (count + 1) / (n + 1), "%.4f"), r.p_, r.p_count_))
print(("the smallest p that %d permutations can give: 1 / %d = %s"):format(n, n + 1,
  course.fact("p_min", 1 / (n + 1), "%.4f")))
print(("the null: mean %s %%, SD %s %%, largest %.1f %%"):format(course.fact("null_mean", 100 * null:mean(), "%.1f"),
  course.fact("null_sd", 100 * null:std(), "%.1f"), 100 * null:max()))

-- %% resolution: 100 or 1000 permutations
-- The same analysis, seed and folds with 100 and with 1000 permutations. p is itself an
-- estimate, from n random shuffles: its Monte Carlo standard error is about
-- sqrt(p (1 - p) / n).
for _, np in ipairs{ 100, 1000 } do
  local rn = nl.cv.nested(pipe, vol, y, { covariates = p, seed = 1, permutations = np })
  print(("%4d permutations: count %2d, p = %s (smallest possible %.4f), Monte Carlo SE %.4f"):format(np,
    rn.permutation_count_, course.fact("p_" .. np, rn.p_, "%.4f"), 1 / (np + 1),
    math.sqrt(rn.p_ * (1 - rn.p_) / np)))
end
print(("at p = 0.05 the SE is %s with 100 permutations, %s with 1000"):format(
  course.fact("se_100", math.sqrt(0.05 * 0.95 / 100), "%.3f"), course.fact("se_1000", math.sqrt(0.05 * 0.95 / 1000), "%.3f")))

-- %% big: A small p is not a good model
-- 5,000 subjects and 10 features, one of which differs between the classes by 0.3 SD:
-- a real effect, far too small to classify anyone. One C, one repeat: this is about p.
local nb = 5000
local Xb = nl.matrix.randn(nb, 10, 7)
local ub = nl.matrix.rand(nb, 1, 8)
local yb = {}
for i = 1, nb do
  yb[i] = ub:get(i, 1) < 0.5 and 1 or -1
  Xb:set(i, 1, Xb:get(i, 1) + 0.15 * yb[i])
end
local big = nl.cv.nested(nl.ml.pipeline{ nl.ml.scale{}, nl.ml.svc{ C = 1 } }, Xb, yb,
                         { seed = 1, outer = { 3, 1 }, inner = { 2, 1 }, permutations = 200 })
print(big)
print(("BAC %s %%, p = %s"):format(course.fact("big_bac", 100 * big.metrics_.bac, "%.1f"),
  course.fact("big_p", big.p_, "%.4f")))

-- %% scoring: Scored against the original or the permuted labels
-- A permuted model was trained on shuffled labels. NeuroMiner scores its predictions
-- against the original labels ("original", the default in NeuroMiner mode);
-- scikit-learn against the shuffled labels it was trained on ("permuted").
local rp = nl.cv.nested(pipe, vol, y, { covariates = p, seed = 1, permutations = 500,
                                        permutation_scoring = "permuted" })
print(("original labels: null SD %.1f %%, p = %.4f"):format(100 * null:std(), r.p_))
print(("permuted labels: null SD %s %%, p = %s"):format(course.fact("sd_permuted", 100 * rp.permutation_bac_:std(), "%.1f"),
  course.fact("p_permuted", rp.p_, "%.4f")))

-- %% type1: Which null is right? 300 data sets with nothing to find
-- The same brains with labels drawn at random, 300 times: any p <= 0.05 is a false
-- positive, and a valid test gives one in 5 % of the data sets. To keep this fast, C is
-- fixed (2^-4, nothing to choose) and one repeat of 3 folds is run. keep_null = true
-- keeps each permutation's median scores and labels, so one run gives both p values:
-- permutation_bac_ is scored against the original labels, and bac() below scores the
-- same models against their own, permuted labels.
local fixed = nl.ml.pipeline{ nl.ml.scale{}, nl.ml.regress_out{ "age", "sex", "site", "tiv" }, nl.ml.svc{ C = 2^-4 } }
local function bac(scores, labels, k)
  local tp, fn, tn, fp = 0, 0, 0, 0
  for i = 1, scores:cols() do
    local s, l = scores:get(k, i), labels:get(k, i)
    if l > 0 then
      if s > 0 then tp = tp + 1 elseif s < 0 then fn = fn + 1 end
    else
      if s < 0 then tn = tn + 1 elseif s > 0 then fp = fp + 1 end
    end
  end
  return (tp / (tp + fn) + tn / (tn + fp)) / 2
end
local sets, perms = 300, 100
local p_original, p_permuted = {}, {}
local fp_original, fp_permuted = 0, 0
for s = 1, sets do
  local u = nl.matrix.rand(#y, 1, 1000 + s)
  local ys = {}
  for i = 1, #y do ys[i] = u:get(i, 1) < 0.5 end
  local rs = nl.cv.nested(fixed, vol, ys, { covariates = p, seed = s, outer = { 3, 1 }, inner = { 2, 1 },
                                            permutations = perms, keep_null = true })
  local co, cp = 0, 0
  for k = 1, perms do
    if rs.permutation_bac_:get(k, 1) >= rs.metrics_.bac then co = co + 1 end
    if bac(rs.null_scores_, rs.null_labels_, k) >= rs.metrics_.bac then cp = cp + 1 end
  end
  p_original[s], p_permuted[s] = (co + 1) / (perms + 1), (cp + 1) / (perms + 1)
  if p_original[s] <= 0.05 then fp_original = fp_original + 1 end
  if p_permuted[s] <= 0.05 then fp_permuted = fp_permuted + 1 end
end
print(("p <= 0.05 in %s %% of the 300 data sets with original scoring, in %s %% with permuted scoring"):format(
  course.fact("h0_fp_original", 100 * fp_original / sets, "%.1f"),
  course.fact("h0_fp_permuted", 100 * fp_permuted / sets, "%.1f")))
nl.plot.figure{ path = course.figure("07_type1.png"), rows = 1, cols = 2, width = 10, height = 4,
  title = "p values of 300 data sets with nothing to find (a valid test: flat)",
  panels = {
    { kind = "histogram", values = p_original, bins = 20, title = "scored against the original labels",
      xlabel = "permutation p", xlim = { 0, 1 } },
    { kind = "histogram", values = p_permuted, bins = 20, title = "scored against the permuted labels",
      xlabel = "permutation p", xlim = { 0, 1 } },
  } }

-- %% modes: NeuroMiner mode against a full re-run
-- NeuroMiner mode keeps every base model's C and fitted preprocessing and retrains only
-- the SVM on the shuffled labels; mode = "full" reruns the whole nested CV, the choice of
-- C included, on each shuffle. Both modes, both scorings, on the lighter design.
local panels = {}
for _, mode in ipairs{ "neurominer", "full" } do
  for _, scoring in ipairs{ "original", "permuted" } do
    local rm = nl.cv.nested(pipe, vol, y, { covariates = p, seed = 1, outer = { 3, 1 }, inner = { 3, 1 },
                                            permutations = 200, mode = mode, permutation_scoring = scoring })
    local key = mode .. "_" .. scoring
    print(("%-10s mode, %-8s labels: BAC %.1f %%, null SD %s %%, p = %.4f"):format(mode, scoring,
      100 * rm.metrics_.bac, course.fact("sd_" .. key, 100 * rm.permutation_bac_:std(), "%.1f"),
      rm.p_))
    panels[#panels + 1] = { kind = "histogram", values = rm.permutation_bac_, observed = rm.metrics_.bac, p = rm.p_,
                            title = ("%s mode, %s labels"):format(mode, scoring), xlabel = "balanced accuracy",
                            xlim = { 0.25, 0.85 }, bins = 20 }
  end
end
nl.plot.figure{ path = course.figure("07_modes.png"), rows = 2, cols = 2, width = 10, height = 7.5,
  title = "Discovery cohort, 3 x 1 folds: the null by mode and scoring", panels = panels }

-- %% solution2: Exercise 2 — the permuted null by hand
-- Score each permutation's median scores against its own labels (null_labels_), and
-- compare with the run that asked for permutation_scoring = "permuted".
local largest = 0
for k = 1, n do
  local bac = nl.ml.metrics(r.null_scores_:row(k):t(), r.null_labels_:row(k):t()).bac
  largest = math.max(largest, math.abs(bac - rp.permutation_bac_:get(k, 1)))
end
print(("largest difference over the %d permutations: %g"):format(n, largest))
