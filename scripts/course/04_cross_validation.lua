-- Lesson 4: Cross-validation and its variance
--
-- neurolua scripts/course/04_cross_validation.lua runs the whole lesson; in the REPL,
-- neurolua --course and then lesson(4) runs it step by step. Page: docs/course/04_cross_validation.md.
local nl = require "neurolua"
local course = nl.course

-- %% data: The discovery cohort
local p, _, X = nl.sim.ketamine{ seed = 1, dir = course.data("discovery"), cohorts = { "discovery" }, overwrite = true }
local y = nl.study.response(p.madrs_pre, p.madrs_post)
print(("%s subjects, %d regional volumes"):format(course.fact("n_subjects", X:nrows()), X:ncols()))

-- %% folds: A partition into k folds
-- nl.cv.folds deals the subjects into k folds: each class is shuffled (from the seed)
-- and dealt in turn, so every fold has about the same share of responders (stratified).
local folds = nl.cv.folds(y, { folds = 3, seed = 1 })
local by_fold = nl.table.new{ { "fold", folds.repeat_1 }, { "response", y } }
print(by_fold:group_by("fold"):agg{ { "subjects", "response", "count" }, { "responders", "response", "sum" } }
  :format{ width = 100 })

-- %% cv: 3-fold cross-validation
-- Each fold in turn is the test set of a model trained on the other two; every subject
-- is predicted once, by a model that did not see it. The pipeline has a single C, so the
-- inner loop of nl.cv.nested has nothing to choose (lesson 6 gives it a grid): this is
-- plain k-fold cross-validation.
local model = nl.ml.pipeline{ nl.ml.scale{}, nl.ml.svc{ C = 1 } }
local function cv(features, labels, k, repeats, seed)
  return nl.cv.nested(model, features, labels, { outer = { k, repeats }, inner = { 2, 1 }, seed = seed })
end
local r = cv(X, y, 3, 1, 1)
print(r)
print(("3-fold CV, seed 1: BAC %s %%"):format(course.fact("bac_seed1", 100 * r.metrics_.bac, "%.1f")))

-- %% by_hand: The same by hand
-- Cross-validation is nothing more than this loop: fit on k - 1 folds, score the fold
-- left out, and compute the metrics once every subject has a score.
local Xm = X:matrix()
local scores = nl.matrix.zeros(#y, 1)
for k = 1, 3 do
  local train, test, y_train = {}, {}, {}
  for i = 1, #y do
    if folds.repeat_1[i] == k then test[#test + 1] = i else train[#train + 1] = i; y_train[#y_train + 1] = y[i] end
  end
  local m = nl.ml.pipeline{ nl.ml.scale{}, nl.ml.svc{ C = 1 } }:fit(Xm:rows_at(train), y_train)
  local s = m:decision(Xm:rows_at(test))
  for j, i in ipairs(test) do scores:set(i, 1, s:get(j, 1)) end
end
print(nl.ml.metrics(scores, y))

-- %% seeds: Another seed, another partition
-- The same data, the same model, 20 random partitions.
local function spread(values)
  local m = nl.matrix(values, #values, 1)
  return { mean = m:mean(), sd = m:std(), min = m:min(), max = m:max() }
end
local bac = {}
local function run_seeds(k, repeats)
  local out = {}
  for seed = 1, 20 do out[seed] = 100 * cv(X, y, k, repeats, seed).metrics_.bac end
  return out
end
bac["3 folds"] = run_seeds(3, 1)
local s3 = spread(bac["3 folds"])
print(("3-fold CV over 20 seeds: BAC from %s %% to %s %% (mean %s %%, SD %s points)"):format(
  course.fact("k3_min", s3.min, "%.1f"), course.fact("k3_max", s3.max, "%.1f"), course.fact("k3_mean", s3.mean, "%.1f"),
  course.fact("k3_sd", s3.sd, "%.1f")))

-- %% k: The number of folds
-- More folds: larger training sets (k - 1 of k folds), smaller test folds.
local designs = { "2 folds", "3 folds", "5 folds", "10 folds" }
bac["2 folds"] = run_seeds(2, 1)
bac["5 folds"] = run_seeds(5, 1)
bac["10 folds"] = run_seeds(10, 1)
local rows = { design = {}, mean = {}, sd = {}, min = {}, max = {} }
local function add_row(design)
  local st = spread(bac[design])
  local i = #rows.design + 1
  rows.design[i] = design
  for _, f in ipairs{ "mean", "sd", "min", "max" } do rows[f][i] = math.floor(10 * st[f] + 0.5) / 10 end
end
for _, d in ipairs(designs) do add_row(d) end
local function summary()
  return nl.table.new{ { "design", rows.design }, { "mean", rows.mean }, { "sd", rows.sd }, { "min", rows.min },
    { "max", rows.max } }
end
print(summary():format{ width = 100 })
print(("mean BAC: 2 folds %s %%, 10 folds %s %%"):format(course.fact("k2_mean", spread(bac["2 folds"]).mean, "%.1f"),
  course.fact("k10_mean", spread(bac["10 folds"]).mean, "%.1f")))

-- %% repeats: Repeats
-- outer = {3, R} runs R partitions; each subject's prediction is the median of its R
-- scores, and the BAC is computed once, from the medians.
bac["3 folds x 5"] = run_seeds(3, 5)
bac["3 folds x 20"] = run_seeds(3, 20)
designs[#designs + 1] = "3 folds x 5"
designs[#designs + 1] = "3 folds x 20"
add_row("3 folds x 5")
add_row("3 folds x 20")
print(summary():format{ width = 100 })
print(("SD over seeds: 3 folds %s, 3 folds x 5 %s, 3 folds x 20 %s points"):format(course.fact("k3_sd", s3.sd, "%.1f"),
  course.fact("rep5_sd", spread(bac["3 folds x 5"]).sd, "%.1f"),
  course.fact("rep20_sd", spread(bac["3 folds x 20"]).sd, "%.1f")))

-- %% figure: The spread
local boxes = {}
for i, d in ipairs(designs) do boxes[i] = { label = d, values = bac[d] } end
nl.plot.box(course.figure("04_cv_spread.png"), boxes, { ylabel = "BAC (%)", width = 7.5,
  title = "BAC of the same data over 20 random partitions" })

-- %% cohorts: What repeats do not buy
-- Five more simulated discovery cohorts (seeds 2 to 6): new subjects and new noise, the
-- same design and the same planted effect. Each gets 3-fold CV with 20 repeats.
local per_cohort = { 100 * cv(X, y, 3, 20, 1).metrics_.bac }
for seed = 2, 6 do
  local pc, _, Xc = nl.sim.ketamine{ seed = seed, dir = course.data("cohort"), cohorts = { "discovery" },
    overwrite = true }
  per_cohort[#per_cohort + 1] = 100 * cv(Xc, nl.study.response(pc.madrs_pre, pc.madrs_post), 3, 20, 1).metrics_.bac
end
local line = {}
for i, b in ipairs(per_cohort) do line[i] = ("%.1f"):format(b) end
print(("BAC of cohorts 1 to %d: %s"):format(#per_cohort, table.concat(line, ", ")))
local sc = spread(per_cohort)
print(("from %s %% to %s %% (SD %s points)"):format(course.fact("cohort_min", sc.min, "%.1f"),
  course.fact("cohort_max", sc.max, "%.1f"), course.fact("cohort_sd", sc.sd, "%.1f")))
nl.plot.box(course.figure("04_partitions_vs_cohorts.png"), {
  { label = "cohort 1, 20 partitions", values = bac["3 folds x 20"] },
  { label = #per_cohort .. " cohorts, one partition seed", values = per_cohort } },
  { ylabel = "BAC (%), 3 folds x 20 repeats", width = 5.5, title = "Partition noise and sampling noise" })

-- %% solution1: Exercise 1 - the null cohort
local p0, _, X0 = nl.sim.ketamine{ seed = 1, dir = course.data("null"), cohorts = { "discovery" }, effect = 0,
  overwrite = true }
local null = {}
for seed = 1, 20 do null[seed] = 100 * cv(X0, y, 3, 1, seed).metrics_.bac end
local sn = spread(null)
print(("null cohort, 3-fold CV over 20 seeds: BAC from %s %% to %s %%"):format(
  course.fact("null_min", sn.min, "%.1f"), course.fact("null_max", sn.max, "%.1f")))

-- %% solution2: Exercise 2 - leave-one-out
-- One subject per fold: 99 folds, not stratified (a fold of one subject holds one class).
for seed = 1, 2 do
  local loo = nl.cv.nested(model, X, y, { outer = { #y, 1, stratify = false }, inner = { 2, 1 }, seed = seed })
  print(("leave-one-out, seed %d: BAC %s %%"):format(seed, course.fact("loo_bac", 100 * loo.metrics_.bac, "%.1f")))
end
