-- Lesson 9: Interpreting weights
--
-- neurolua scripts/course/09_weights.lua runs the whole lesson; in the REPL,
-- neurolua --course and then lesson(9) runs it step by step. Page: docs/course/09_weights.md.
local nl = require "neurolua"
local course = nl.course

-- %% data: A cohort whose answer is known
-- The simulated discovery cohort of the ketamine study: 99 patients, regional GM volumes
-- of the 116 AAL regions, and 13 regions where the simulator planted a difference
-- between responders and non-responders (ground_truth.tsv, returned as `truth`).
local people, truth, X = nl.sim.ketamine{ seed = 1, dir = course.data("real"), cohorts = { "discovery" },
                                          overwrite = true }
people.response = nl.study.response(people.madrs_pre, people.madrs_post)
print(("%d subjects, %d regions, %d planted regions"):format(X:nrows(), X:ncols(), truth:nrows()))
for i = 1, truth:nrows() do
  print(("  %-22s larger in %-15s effect size %.2f"):format(truth.name[i],
    truth.sign[i] > 0 and "responders" or "non-responders", truth.effect_size[i]))
end

-- %% model: The model: the ketamine pipeline in nested CV
-- The paper's pipeline (scripts/ketamine/common.lua): scale each region to [-1, 1], prune,
-- regress out age, sex, site and TIV, ROBPCA to 13 components, scale the components, a
-- forward wrapper, and a linear SVC. 200 permutations keep the lesson fast.
local function pipeline()
  return nl.ml.pipeline{
    nl.ml.scale{ range = { -1, 1 } }, nl.ml.prune{}, nl.ml.regress_out{ "age", "sex", "site", "tiv" },
    nl.ml.robpca{ k = 13 }, nl.ml.scale{ range = { -1, 1 } }, nl.ml.forward_select{ step = 0.10, stop = 0.80 },
    nl.ml.svc{ C = nl.ml.pow2(-6, 4), weighting = "balanced" } }
end
local r = nl.cv.nested(pipeline(), X, people.response, { covariates = people, seed = 1, permutations = 200 })
print(r)
print(("BAC %s %%, AUC %s, p = %s"):format(course.fact("bac", 100 * r.metrics_.bac, "%.1f"),
  course.fact("auc", r.metrics_.auc, "%.2f"), course.fact("p", r.p_, "%.3f")))

-- %% by_hand: Back-projection of one base model, by hand
-- Base model 1 has an SVC weight for each ROBPCA component its wrapper kept. Going back
-- through the preprocessing, last step first: the component scaling multiplies each
-- weight by its factor 2 / (max - min), the ROBPCA loadings map components to regions,
-- regress_out leaves the weights as they are (its linear part in the features is the
-- identity), and prune puts 0 at the regions it removed.
local m = r:model(1)
print(m)
local pca_scale = m.steps[5]:state()
local loadings = m.steps[4]:state().loadings_            -- regions kept x 13 components
local kept = m.steps[2]:state().kept_
local v = nl.matrix.zeros(loadings:cols(), 1)
for j, comp in ipairs(m.features) do
  v:set(comp, 1, m.w:get(j, 1) * 2 / (pca_scale.max_:get(1, comp) - pca_scale.min_:get(1, comp)))
end
local w_kept = loadings * v
local w_regions = nl.matrix.zeros(1, X:ncols())
for j = 1, kept:cols() do w_regions:set(1, kept:get(1, j), w_kept:get(j, 1)) end
local W = r:weight_matrix()                              -- one row per distinct base model
print(("components used: %d of %d; region weights: %d"):format(#m.features, loadings:cols(), w_regions:cols()))
print(("row 1 of weight_matrix() equals the hand computation: %s"):format(
  tostring((W:row(1) - w_regions):abs():max() < 1e-12)))
print(("weight_matrix(): %s distinct base models of %d, %d regions"):format(course.fact("distinct", W:rows(), "%d"),
  r.models_, W:cols()))

-- %% weights: Mean weight, CV ratio and sign consistency
-- r:weights() summarizes the rows of weight_matrix() region by region, ordered by the
-- absolute mean weight.
local w = r:weights()
print(w:head(15):select{ "name", "mean", "sd", "cvr", "frac_pos", "frac_neg", "consistency", "q", "significant" }
      :format{ width = 130, rows = 15 })
local nsig = 0
for i = 1, #w do if w.significant[i] then nsig = nsig + 1 end end
print(("sign-consistent at FDR 5 %%: %s of %d regions"):format(course.fact("nsig", nsig, "%d"), #w))

-- %% truth: Against the planted truth
-- Where does each planted region rank, and is the sign of its mean weight the planted one?
local rank = {}
for i = 1, #w do rank[w.name[i]] = i end
local in_top, right_sign = 0, 0
for i = 1, truth:nrows() do
  local k = rank[truth.name[i]]
  local ok = (w.mean[k] > 0) == (truth.sign[i] > 0)
  if k <= truth:nrows() then in_top = in_top + 1 end
  if ok then right_sign = right_sign + 1 end
  print(("  %-22s rank %3d  mean %+.3f  CVR %+.2f  %s%s"):format(truth.name[i], k, w.mean[k], w.cvr[k],
    ok and "sign right" or "SIGN WRONG", w.significant[k] and ", sign-consistent" or ""))
end
print(("planted regions in the top %d: %s; with the planted sign: %s of %d"):format(truth:nrows(),
  course.fact("in_top", in_top, "%d"), course.fact("right_sign", right_sign, "%d"), truth:nrows()))
local unplanted_sig = 0
local planted = {}
for i = 1, truth:nrows() do planted[truth.name[i]] = true end
for i = 1, #w do if w.significant[i] and not planted[w.name[i]] then unplanted_sig = unplanted_sig + 1 end end
print(("sign-consistent regions that were not planted: %s"):format(course.fact("unplanted_sig", unplanted_sig, "%d")))

-- %% figures: Figure 2 and Figure 3 of the paper
-- The top 25 regions as bars (* = sign-consistent at FDR 5 %), and their mean weights
-- painted on the AAL atlas, drawn over the MNI template.
r:plot_weights(course.figure("09_weights.png"), { top = 25, sign_labels = { "response", "non-response" },
  legend = "lower left", title = "Simulated discovery cohort: top 25 regions" })
local aal = nl.atlas.load("aal")
local map = r:weight_map(aal, { top = 25 })
nl.plot.brain(course.figure("09_weight_map.png"), map, { coords = { -2, -60, -24 },
              title = "Mean back-projected weight, top 25 regions" })
print(("weight map: %d x %d x %d voxels, %d regions painted"):format(map:dims()[1], map:dims()[2], map:dims()[3], 25))

-- %% null: A chance-level model on a null cohort
-- effect = 0: the same 99 subjects, the same labels and the same anatomy, without the
-- planted difference. Nothing in these volumes predicts response.
local people0, _, X0 = nl.sim.ketamine{ seed = 1, dir = course.data("null"), cohorts = { "discovery" }, effect = 0,
                                        overwrite = true }
people0.response = nl.study.response(people0.madrs_pre, people0.madrs_post)
local r0 = nl.cv.nested(pipeline(), X0, people0.response, { covariates = people0, seed = 1, permutations = 200 })
print(r0)
local w0 = r0:weights()
print(w0:head(10):select{ "name", "mean", "sd", "cvr", "consistency", "q", "significant" }
      :format{ width = 110, rows = 10 })
local nsig0 = 0
for i = 1, #w0 do if w0.significant[i] then nsig0 = nsig0 + 1 end end
print(("null cohort: BAC %s %%, p = %s; sign-consistent at FDR 5 %%: %s of %d regions"):format(
  course.fact("null_bac", 100 * r0.metrics_.bac, "%.1f"), course.fact("null_p", r0.p_, "%.2f"),
  course.fact("null_nsig", nsig0, "%d"), #w0))
print(("largest consistency: null %s, planted model %s"):format(course.fact("null_maxI", w0.consistency:max(), "%.2f"),
  course.fact("maxI", w.consistency:max(), "%.2f")))

-- %% caveat: weights_caveat() and the null's Figure 2
-- The result knows whether its model beat chance; plot_weights drops the * marks and
-- says why in the title when it did not.
print("real model: " .. tostring(r:weights_caveat()))
print("null model: " .. tostring(r0:weights_caveat()))
r0:plot_weights(course.figure("09_null_weights.png"), { top = 25, sign_labels = { "response", "non-response" },
                                                        legend = "upper left", width = 8, height = 6 })

-- %% overlap: The null's favourites in the real model
-- The null model's top regions are patterns of chance in these 99 subjects. The real
-- cohort holds the same subjects with the same anatomy, so its model finds them too.
local shared = 0
for i = 1, 5 do
  local k = rank[w0.name[i]]
  if w.significant[k] then shared = shared + 1 end
  print(("  null rank %d  %-20s real model: rank %3d, mean %+.3f%s"):format(i, w0.name[i], k, w.mean[k],
    w.significant[k] and ", sign-consistent" or ""))
end
print(("of the null model's top 5, sign-consistent in the real model: %s"):format(course.fact("shared", shared, "%d")))

-- %% solution1: Exercise 1 — the CV ratio with a "standard error"
local function n_cvr2(res, how)
  local t = res:weights{ cvr = how }
  local c = 0
  for i = 1, #t do if math.abs(t.cvr[i]) >= 2 then c = c + 1 end end
  return c
end
print(("|CVR| >= 2 with mean / SD:         real model %3d, null model %3d of 116 regions"):format(
  n_cvr2(r, "sd"), n_cvr2(r0, "sd")))
print(("|CVR| >= 2 with mean / (1.96 SE):  real model %3d, null model %3d of 116 regions"):format(
  n_cvr2(r, "se"), n_cvr2(r0, "se")))

-- %% solution2: Exercise 2 — the activation pattern (Haufe et al. 2014)
-- Correlate each region's volume with the model's out-of-fold median score.
local pattern = {}
for _, name in ipairs(r.feature_names_) do
  pattern[#pattern + 1] = { name = name, r = nl.stats.pearson(X[name], r.median_).r }
end
table.sort(pattern, function(a, b) return math.abs(a.r) > math.abs(b.r) end)
local hits = 0
for k = 1, truth:nrows() do if planted[pattern[k].name] then hits = hits + 1 end end
print(("planted regions in the top 13: by |r| with the score %d, by |mean weight| %d"):format(hits, in_top))
for k = 1, 5 do
  print(("  %-20s r = %+.2f%s"):format(pattern[k].name, pattern[k].r, planted[pattern[k].name] and "  (planted)" or ""))
end
