-- Tests of nl.ml.filter from Lua (the numerics are in tests/engine/ml/test_filter.cpp):
-- construction errors, fit with labels or targets, learned state, transform, and the
-- label-independent steps' fit unchanged. Data: tests/data/ml/estimators/data.csv
-- (ABIDE: age, sex, 20 standardized volumes), references from
-- tests/data/ml/make_filter_fixture.py (scikit-learn 1.2.1, training rows 1-100).
local T = require "testing"
local nl = require "neurolua"
local data = os.getenv("NL_TEST_DATA")

local t = nl.table.read(data .. "/ml/estimators/data.csv")
local cols = t:columns()
table.remove(cols, 1)  -- age
table.remove(cols, 1)  -- sex
local train = t:head(100)
local X = train:matrix(cols)
local ref = T.fixture(data .. "/ml/filter/reference.txt")

local function row(m)
  local out = {}
  for j = 1, m:cols() do out[j] = m:get(1, j) end
  return out
end

T.test("construction checks its options", function()
  T.raises(function() return nl.ml.filter() end, "table expected")
  T.raises(function() return nl.ml.filter{} end, "give exactly one of options 'k'")
  T.raises(function() return nl.ml.filter{ k = 3, fraction = 0.5 } end, "give exactly one of options 'k'")
  T.raises(function() return nl.ml.filter{ k = 0 } end, "option 'k' must be an integer >= 1, got 0")
  T.raises(function() return nl.ml.filter{ k = 2.5 } end, "option 'k' must be an integer")
  T.raises(function() return nl.ml.filter{ fraction = 0 } end, "option 'fraction' must be in (0, 1], got 0")
  T.raises(function() return nl.ml.filter{ fraction = 1.5 } end, "option 'fraction' must be in (0, 1]")
  T.raises(function() return nl.ml.filter{ fraction = "half" } end, "option 'fraction' must be a number")
  T.raises(function() return nl.ml.filter{ k = 2, score = "anova" } end,
    "option 'score' must be one of f_classif, t, f_regression, correlation")
  T.raises(function() return nl.ml.filter{ k = 2, scroe = "t" } end, "did you mean 'score'?")
  local f = nl.ml.filter{ k = 10 }
  T.eq(f:name(), "filter")
  T.eq(f:fitted(), false)
  T.truthy(tostring(f):find('filter{score = "f_classif", k = 10}  -- not fitted', 1, true), tostring(f))
  T.truthy(tostring(nl.ml.filter{ score = "correlation", fraction = 0.2 }):find(
    'filter{score = "correlation", fraction = 0.2}', 1, true))
  T.raises(function() return f.scores_ end, "filter is not fitted: call fit first (scores_ is learned by fit)")
  T.raises(function() return f:transform(X) end, "filter: not fitted")
end)

T.test("fit needs the labels", function()
  local f = nl.ml.filter{ k = 5 }
  T.raises(function() return f:fit(X) end, "filter learns from the labels: give them after X, t:fit(X, y [, options])")
  T.raises(function() return f:fit(X, { covariates = train }) end, "filter learns from the labels")
  T.raises(function() return f:fit_transform(X) end, "t:fit_transform(X, y [, options])")
  T.raises(function() return f:fit(X, { 1, -1 }) end, "filter: 2 labels for 100 rows of data")
  T.raises(function() return f:fit(X, train.age) end, "a classifier needs exactly two classes")
  T.raises(function() return f:fit(X, train.sex, { covarites = train }) end, "did you mean 'covariates'?")
  T.raises(function() return nl.ml.filter{ k = 21 }:fit(X, train.sex) end,
    "filter: k = 21 is more than the 20 features of the data")
  T.raises(function() return nl.ml.filter{ k = 2, score = "correlation" }:fit(X, train.age, { positive = 1 }) end,
    "option 'positive' names a class, but filter{score = \"correlation\", k = 2} scores continuous targets")
  T.eq(f:fitted(), false)
end)

T.test("f_classif on sex keeps scikit-learn's columns", function()
  local f = nl.ml.filter{ score = "f_classif", k = 5 }
  T.eq(f:fit(X, train.sex), f, "fit returns the step")
  T.eq(f:fitted(), true)
  local kept, want = row(f.kept_), ref["f_classif.k5.kept"]
  T.eq(#kept, #want)
  for j = 1, #want do T.eq(kept[j], want[j], "kept " .. j) end
  local scores, F = row(f.scores_), ref["f_classif.scores"]
  T.eq(#scores, 20)
  for j = 1, 20 do T.near(scores[j], F[j], 1e-12, "F " .. j) end
  T.truthy(f.scores_ == f:state().scores_ and f.kept_ == f:state().kept_, "fields read as in state()")
  T.truthy(tostring(f):find("fitted on 20 features: scores_ 1x20, kept_ 1x5", 1, true), tostring(f))
  -- transform selects the kept columns, in ascending order, for any rows
  local Xall = t:matrix(cols)
  local out = f:transform(Xall)
  T.eq(out:rows(), 132)
  T.eq(out:cols(), 5)
  for k = 1, 5 do T.eq(out:get(132, k), Xall:get(132, want[k])) end
  T.raises(function() return f:transform(Xall:block(1, 1, 132, 19)) end, "fitted on 20 features, got 19")
  -- labels as booleans or text (with `positive`) select the same columns
  local male = {}
  for i = 1, 100 do male[i] = train.sex[i] > 0 end
  T.eq(row(nl.ml.filter{ k = 5 }:fit(X, male).kept_)[5], want[5])
  local words = {}
  for i = 1, 100 do words[i] = male[i] and "M" or "F" end
  T.eq(row(nl.ml.filter{ score = "t", k = 5 }:fit(X, words, { positive = "F" }).kept_)[1], want[1])
  T.raises(function() return nl.ml.filter{ k = 5 }:fit(X, words) end, "positive")
end)

T.test("fraction, the regression scores and fit_transform", function()
  local f = nl.ml.filter{ score = "f_classif", fraction = 0.33 }:fit(X, train.sex)
  local want = ref["f_classif.pct33.kept"]
  local kept = row(f.kept_)
  T.eq(#kept, #want)
  for j = 1, #want do T.eq(kept[j], want[j]) end
  local r = nl.ml.filter{ score = "f_regression", fraction = 0.25 }:fit(X, train.age)
  want = ref["f_regression.pct25.kept"]
  for j = 1, #want do T.eq(row(r.kept_)[j], want[j]) end
  local F = ref["f_regression.scores"]
  for j = 1, 20 do T.near(r.scores_:get(1, j), F[j], 1e-12) end
  local c = nl.ml.filter{ score = "correlation", k = 5 }
  local out = c:fit_transform(X, train.age, { covariates = train })
  T.eq(out:cols(), 5)
  want = ref["r_regression.k5.kept"]
  for j = 1, 5 do T.eq(row(c.kept_)[j], want[j]) end
  local rr = ref["r_regression.scores"]
  for j = 1, 20 do T.near(c.scores_:get(1, j), math.abs(rr[j]), 1e-13) end
  -- a Lua array of targets
  local ages = {}
  for i = 1, 100 do ages[i] = train.age[i] end
  T.eq(row(nl.ml.filter{ score = "f_regression", k = 5 }:fit(X, ages).kept_)[5], ref["f_regression.k5.kept"][5])
end)

T.test("clone, refit, and the label-independent steps unchanged", function()
  local f = nl.ml.filter{ k = 3 }:fit(X, train.sex)
  local c = f:clone()
  T.eq(c:fitted(), false)
  T.eq(tostring(c), 'filter{score = "f_classif", k = 3}  -- not fitted')
  f:fit(X:block(1, 1, 100, 8), train.sex)
  T.eq(f:transform(X:block(1, 1, 5, 8)):cols(), 3)
  -- scale:fit with a second argument other than options raises as before
  T.raises(function() return nl.ml.scale{}:fit(X, train.sex) end, "table expected")
  T.eq(nl.ml.scale{}:fit(X, { covariates = train }):fitted(), true)
end)

T.done()
