-- Lesson 3: A first classifier, and why training accuracy lies
--
-- neurolua scripts/course/03_first_classifier.lua runs the whole lesson; in the REPL,
-- neurolua --course and then lesson(3) runs it step by step. Page: docs/course/03_first_classifier.md.
local nl = require "neurolua"
local course = nl.course

-- %% data: Regional volumes and labels
-- The discovery cohort, with the simulator's regional volumes (the ones lesson 2 computed
-- from the maps). The labels: responder (true) or non-responder (false).
local p, _, X = nl.sim.ketamine{ seed = 1, dir = course.data("effect"), cohorts = { "discovery" }, overwrite = true }
local y = nl.study.response(p.madrs_pre, p.madrs_post)
-- Estimators take a Matrix: one row per subject, one column per region.
local Xm = X:matrix()
print(("%s subjects, %d features (regional volumes in ml)"):format(course.fact("n_subjects", Xm:rows()), Xm:cols()))

-- %% train_all: Train and score on the same subjects
-- A pipeline: nl.ml.scale maps each region to [-1, 1], then a linear SVM with C = 1.
-- Fitted on all 99 subjects, then asked to classify the same 99.
local model = nl.ml.pipeline{ nl.ml.scale{}, nl.ml.svc{ C = 1 } }
model:fit(Xm, y)
local train_all = nl.ml.metrics(model:decision(Xm), y)
print(train_all)
print(("training BAC %s %%"):format(course.fact("train_all_bac", 100 * train_all.bac, "%.1f")))

-- %% split: Hold subjects out
-- Keep a third of the subjects aside: nl.cv.folds deals the subjects into 3 folds with
-- the same share of responders in each (stratified); fold 1 is the test set.
local folds = nl.cv.folds(y, { folds = 3, seed = 1 })
local train, test = {}, {}
for i = 1, #folds do
  if folds.repeat_1[i] == 1 then test[#test + 1] = i else train[#train + 1] = i end
end
local function labels(rows)
  local out = {}
  for k, i in ipairs(rows) do out[k] = y[i] end
  return out
end
local y_train, y_test = labels(train), labels(test)
local function responders(list)
  local n = 0
  for _, v in ipairs(list) do if v then n = n + 1 end end
  return n
end
print(("training set %d subjects (%d responders), test set %s subjects (%d responders)"):format(#train,
  responders(y_train), course.fact("n_test", #test), responders(y_test)))

-- %% heldout: Training against held-out accuracy
-- Fit on the training set only; score the training set and the test set.
local function train_and_test(features, C)
  local m = nl.ml.pipeline{ nl.ml.scale{}, nl.ml.svc{ C = C or 1 } }
  m:fit(features:rows_at(train), y_train)
  return nl.ml.metrics(m:decision(features:rows_at(train)), y_train),
         nl.ml.metrics(m:decision(features:rows_at(test)), y_test)
end
local tr, te = train_and_test(Xm)
print("training: " .. tostring(tr))
print("held out: " .. tostring(te))
print(("training BAC %s %%, held-out BAC %s %% (AUC %s)"):format(course.fact("split_train_bac", 100 * tr.bac, "%.1f"),
  course.fact("split_test_bac", 100 * te.bac, "%.1f"), course.fact("split_test_auc", te.auc, "%.2f")))

-- %% null: A cohort with no effect
-- effect = 0: the same subjects, labels and regional volumes, except that the 13 planted
-- regions carry no difference between responders and non-responders. Nothing can be
-- learned here.
local _, _, X0 = nl.sim.ketamine{ seed = 1, dir = course.data("null"), cohorts = { "discovery" }, effect = 0,
  overwrite = true }
local X0m = X0:matrix()
local tr0, te0 = train_and_test(X0m)
print("training: " .. tostring(tr0))
print("held out: " .. tostring(te0))
print(("null cohort: training BAC %s %%, held-out BAC %s %% (AUC %s)"):format(
  course.fact("null_train_bac", 100 * tr0.bac, "%.1f"), course.fact("null_test_bac", 100 * te0.bac, "%.1f"),
  course.fact("null_test_auc", te0.auc, "%.2f")))

-- %% features: More features than subjects
-- Train on the first k regions of a fixed random order, for k from 1 to 116, and score
-- the training and the test set, in both cohorts.
local u = nl.matrix.rand(Xm:cols(), 1, 3)
local order = {}
for j = 1, Xm:cols() do order[j] = j end
table.sort(order, function(a, b) return u:get(a, 1) < u:get(b, 1) end)
local ks = { 1, 2, 5, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90, 100, 116 }
local curve = { k = {}, null_train = {}, null_test = {}, effect_train = {}, effect_test = {} }
local first_perfect = nil
for i, k in ipairs(ks) do
  local cols = { table.unpack(order, 1, k) }
  local a, b = train_and_test(X0m:cols_at(cols))
  local c, d = train_and_test(Xm:cols_at(cols))
  local function pct(m) return math.floor(1000 * m.bac + 0.5) / 10 end   -- BAC in %, to 0.1
  curve.k[i], curve.null_train[i], curve.null_test[i] = k, pct(a), pct(b)
  curve.effect_train[i], curve.effect_test[i] = pct(c), pct(d)
  if not first_perfect and a.bac == 1 then first_perfect = k end
end
local sweep = nl.table.new{ { "features", curve.k }, { "null_train", curve.null_train },
  { "null_test", curve.null_test }, { "effect_train", curve.effect_train }, { "effect_test", curve.effect_test } }
print(sweep:format{ width = 100, rows = 20 })
print(("null cohort: training BAC 100 %% from %s features on (%s training subjects)"):format(
  course.fact("null_perfect_k", first_perfect), course.fact("n_train", #train)))

-- %% figure: The figure
nl.plot.lines(course.figure("03_train_vs_test.png"), {
  { x = curve.k, y = curve.null_train, label = "null cohort, training", colour = "C0" },
  { x = curve.k, y = curve.null_test, label = "null cohort, held out", colour = "C1" },
  { x = curve.k, y = curve.effect_train, label = "planted effect, training", colour = "C0", style = "dashed" },
  { x = curve.k, y = curve.effect_test, label = "planted effect, held out", colour = "C1", style = "dashed" },
  { x = { #train, #train }, y = { 0, 100 }, label = "number of training subjects", colour = "gray",
    style = "dotted" },
  { x = { 1, 116 }, y = { 50, 50 }, label = "chance", colour = "black", style = "dotted", width = 1 },
}, { xlabel = "number of features (regions)", ylabel = "balanced accuracy (%)", ylim = { 0, 102 },
     title = "Training accuracy rises with the features; held-out accuracy does not", legend = "lower right" })

-- %% solution1: Exercise 1 - the regularization C
for _, C in ipairs{ 2^-6, 2^-3, 1, 8 } do
  local a, b = train_and_test(Xm, C)
  print(("C = %-8g training BAC %5.1f %%, held-out BAC %5.1f %%"):format(C, 100 * a.bac, 100 * b.bac))
end

-- %% solution2: Exercise 2 - other splits
local low, high = 100, 0
for seed = 1, 6 do
  local f = nl.cv.folds(y, { folds = 3, seed = seed })
  train, test = {}, {}
  for i = 1, #f do
    if f.repeat_1[i] == 1 then test[#test + 1] = i else train[#train + 1] = i end
  end
  y_train, y_test = labels(train), labels(test)
  local _, b = train_and_test(Xm)
  local _, b0 = train_and_test(X0m)
  print(("split seed %d: held-out BAC %5.1f %% (planted effect), %5.1f %% (null)"):format(seed, 100 * b.bac,
    100 * b0.bac))
  low, high = math.min(low, 100 * b.bac), math.max(high, 100 * b.bac)
end
print(("planted effect: from %s %% to %s %%"):format(course.fact("splits_low", low, "%.1f"),
  course.fact("splits_high", high, "%.1f")))
