-- Tests of nl.ml from Lua: svc (against liblinear-train fixtures), forward_select,
-- pipeline, metrics (against sklearn/pROC fixtures), option checking and errors.
local T = require "testing"
local nl = require "neurolua"
local data = os.getenv("NL_TEST_DATA")

local function load_case(name)
  local t = nl.table.read(data .. "/svc/data_" .. name .. ".csv")
  local cols = t:columns()
  table.remove(cols, 1)
  return t:matrix(cols), t.y
end

T.test("svc equals liblinear -s 1 (balanced weights, no bias)", function()
  local X, y = load_case("sim13")
  local cases = nl.table.read(data .. "/svc/cases.csv")
  local checked = 0
  for i = 1, #cases do
    local row = cases:row(i)
    if row.data == "sim13" and row.bias < 0 and row.Cn / row.Cp ~= 1 then
      local svc = nl.ml.svc{ C = row.C, weighting = "balanced", tol = 1e-8, max_iter = 100000 }:fit(X, y)
      local w = nl.table.read(data .. "/svc/w_" .. row.case .. ".csv")
      local want = w:matrix(w:columns())
      if want:cols() > 1 then want = want:t() end
      local got = svc.w_
      for j = 1, got:rows() do
        T.near(got:get(j, 1), want:get(j, 1), 1e-4, row.case .. " w" .. j)
      end
      checked = checked + 1
    end
  end
  T.truthy(checked >= 3, "at least three C values checked, got " .. checked)
end)

T.test("svc options, fields and printing", function()
  local X, y = load_case("sim13")
  local s = nl.ml.svc{ C = 1 }
  T.truthy(tostring(s):find('svc{C = 1, weighting = "balanced", bias = false, tol = 0.01}', 1, true), tostring(s))
  T.raises(function() return s.w_ end, "svc is not fitted: call fit first (w_ is learned by fit)")
  T.eq(s:fitted(), false)
  s:fit(X, y)
  T.eq(s.w_:rows(), 13)
  T.eq(s.b_, 0)
  T.truthy(s.converged_)
  local d = s:decision(X)
  T.eq(d:rows(), #y)
  local b = nl.ml.svc{ C = 1, bias = true }:fit(X, y)
  T.truthy(b.b_ ~= 0, "bias term learned")
  T.eq(#nl.ml.svc{ C = nl.ml.pow2(-6, 4) }:grid(), 11)
  T.eq(nl.ml.pow2(-1, 1)[1], 0.5)
  T.raises(function() return nl.ml.svc{ C = -1 } end, "option 'C' must be a positive number")
  T.raises(function() return nl.ml.svc{ c = 1 } end, "unknown option 'c' for svc")
  T.raises(function() return nl.ml.svc{ weighting = "balance" } end, "invalid option 'balance' for weighting")
  T.raises(function() return nl.ml.svc{ C = { 1, 2 } }:fit(X, y) end, "holds a grid of C values")
  T.raises(function() return nl.ml.svc{}:decision(X) end, "svc is not fitted")
  T.raises(function() return nl.ml.svc{}:fit(X, { 1, -1 }) end, "2 labels for")
  T.raises(function() return nl.ml.svc{}:fit(X:rows_at(1, 3), { 1, 2, 1 }) end, "labels must be +1/-1, 1/0 or true/false")
  T.raises(function() return nl.ml.svc{}:fit(X:rows_at(1, 3), { 1, 1, 1 }) end, "only one class")
end)

T.test("labels: booleans, 1/0 and +1/-1 codings agree", function()
  local X, y = load_case("sim13")
  local pm, bools, zo = {}, {}, {}
  for i = 1, #y do pm[i] = y[i]; bools[i] = y[i] > 0; zo[i] = y[i] > 0 and 1 or 0 end
  local a = nl.ml.svc{}:fit(X, pm).w_
  T.truthy(a == nl.ml.svc{}:fit(X, bools).w_)
  T.truthy(a == nl.ml.svc{}:fit(X, zo).w_)
  T.truthy(a == nl.ml.svc{}:fit(X, y).w_, "a Column")
end)

T.test("metrics agree with a hand count (the engine tests check sklearn and pROC)", function()
  local s = { 0.9, 0.8, 0.8, 0.3, -0.2, -0.5, 0.1, -0.7 }
  local y = { 1, 1, -1, 1, -1, -1, -1, 1 }
  local m = nl.ml.metrics(s, y)
  T.eq(m.tp, 3); T.eq(m.fn, 1); T.eq(m.tn, 2); T.eq(m.fp, 2)
  T.near(m.bac, 0.5 * (3 / 4 + 2 / 4))
  -- AUC by hand: 16 pairs, (1,-1) pairs with pos > neg, ties 1/2.
  T.near(m.auc, 10.5 / 16)
  T.near(nl.ml.metrics.auc(s, y), 10.5 / 16)
  T.truthy(tostring(m):find("BAC 62.5 %", 1, true), tostring(m))
  local r = nl.ml.metrics.roc(s, y)
  T.eq(r.fpr:get(r.fpr:rows(), 1), 1)
  local z = nl.ml.metrics({ 0, 1, -1 }, { 1, 1, -1 })
  T.eq(z.undecided, 1, "a zero score counts in no cell")
  T.raises(function() return nl.ml.metrics({ 1, 2 }, { 1, 1 }) end, "needs both classes")
  T.raises(function() return nl.ml.metrics({ 1, 2 }, { 1, -1, 1 }) end, "3 labels for 2 scores")
end)

T.test("pipeline fits preprocessing on training rows only", function()
  local X, y = load_case("sim136")
  local n = X:rows()
  local train, test = {}, {}
  for i = 1, n do if i % 3 == 0 then test[#test + 1] = i else train[#train + 1] = i end end
  local pipe = nl.ml.pipeline{ nl.ml.scale{}, nl.ml.prune{}, nl.ml.svc{ C = 1 } }
  T.truthy(tostring(pipe):find("not fitted", 1, true))
  local ytr = {}
  for k, i in ipairs(train) do ytr[k] = y[i] end
  pipe:fit(X:rows_at(train), ytr)
  -- Same result by hand: scale fitted on the training rows, then svc.
  local sc = nl.ml.scale{}:fit(X:rows_at(train))
  local svc = nl.ml.svc{ C = 1 }:fit(sc:transform(X:rows_at(train)), ytr)
  local want = svc:decision(sc:transform(X:rows_at(test)))
  local got = pipe:decision(X:rows_at(test))
  for i = 1, want:rows() do T.near(got:get(i, 1), want:get(i, 1), 1e-12) end
  T.eq(pipe:step(1).min_:cols(), 136)
  T.truthy(tostring(pipe):find("3  svc{C = 1", 1, true), tostring(pipe))
  local c = pipe:clone()
  T.eq(c:fitted(), false)
  -- Refitting a step copy does not touch the pipeline.
  pipe:step(1):fit(X:rows_at{ 1, 2 })
  T.eq(pipe:step(1).min_:cols(), 136)
end)

T.test("forward_select with a validation split", function()
  local X, y = load_case("sim13")
  local idx_tr, idx_val, ytr, yval = {}, {}, {}, {}
  for i = 1, X:rows() do
    if i % 3 == 0 then idx_val[#idx_val + 1] = i; yval[#yval + 1] = y[i]
    else idx_tr[#idx_tr + 1] = i; ytr[#ytr + 1] = y[i] end
  end
  local fs = nl.ml.forward_select{ step = 0.10, stop = 0.80 }
  -- The cost model, by hand: pools 10, 9, 8 (each pool + 1 fits), then 7 < 8 stops.
  T.eq(fs:fits(10), 11 + 10 + 9)
  T.eq(fs:fits(136), 370)
  T.raises(function() return fs:fits(0) end, "the number of features must be in 1..1e8")
  local feats, bac = fs:select(X:rows_at(idx_tr), ytr, X:rows_at(idx_val), yval, nl.ml.svc{ C = 1 })
  T.truthy(#feats >= 1 and #feats <= 4, "at most two blocks of ceil(10 %) features: " .. #feats)
  T.truthy(bac > 0.5, "validation BAC above chance on a separable set: " .. bac)
  local pipe = nl.ml.pipeline{ nl.ml.scale{}, fs, nl.ml.svc{ C = 1 } }
  T.raises(function() return pipe:fit(X:rows_at(idx_tr), ytr) end, "forward_select needs validation rows")
  pipe:fit(X:rows_at(idx_tr), ytr, { validation = { X = X:rows_at(idx_val), y = yval } })
  T.truthy(#pipe.features_ >= 1)
  T.truthy(tostring(pipe):find("selected", 1, true))
  -- Issue 18: the svc retrained on training + validation rows gets a preprocessing
  -- refitted on those rows (the scale step's minimum is over all of them); with
  -- refit_preprocessing = false the training rows' fit stays (NeuroMiner).
  local function colmin(M, j)
    local m = math.huge
    for i = 1, M:rows() do m = math.min(m, M:get(i, j)) end
    return m
  end
  local j = 1  -- a column whose minimum lies in a validation row
  while colmin(X, j) == colmin(X:rows_at(idx_tr), j) do j = j + 1 end
  T.near(pipe:step(1).min_:get(1, j), colmin(X, j), 0)
  local nm = nl.ml.pipeline{ nl.ml.scale{}, nl.ml.forward_select{ step = 0.10, stop = 0.80 }, nl.ml.svc{ C = 1 } }
  nm:fit(X:rows_at(idx_tr), ytr, { validation = { X = X:rows_at(idx_val), y = yval }, refit_preprocessing = false })
  T.near(nm:step(1).min_:get(1, j), colmin(X:rows_at(idx_tr), j), 0)
  T.eq(table.concat(nm.features_, ","), table.concat(pipe.features_, ","), "scale keeps the columns: same features")
  T.raises(function() return nl.ml.pipeline{ nl.ml.svc{}, nl.ml.scale{} } end, "must come before")
  T.raises(function() return nl.ml.pipeline{ nl.ml.scale{} } end, "must be an estimator")
  T.raises(function() return nl.ml.pipeline{ 42 } end, "not an nl.ml step")
end)

-- Issue 16: class labels as text (a Column of "responder"/"nonresponder") were refused
-- with "entry 1 is missing or not a number/boolean"; any two-valued labels now work
-- with an explicit positive class.
T.test("text and other two-valued labels with option positive", function()
  local X, y = load_case("sim13")
  local words, twos, pm = {}, {}, {}
  for i = 1, #y do
    pm[i] = y[i]
    words[i] = y[i] > 0 and "responder" or "nonresponder"
    twos[i] = y[i] > 0 and 2 or 1
  end
  local s = nl.ml.svc{}:fit(X, pm):decision(X)
  local want = nl.ml.metrics(s, pm)
  local col = nl.table.new{ { "response", words } }.response
  for _, labels in ipairs{ words, col } do
    local m = nl.ml.metrics(s, labels, { positive = "responder" })
    T.eq(tostring(m), tostring(want))
    T.eq(nl.ml.metrics.auc(s, labels, { positive = "responder" }), want.auc)
    T.truthy(nl.ml.metrics.roc(s, labels, { positive = "responder" }).tpr == nl.ml.metrics.roc(s, pm).tpr)
    T.near(nl.stats.roc(s, labels, { positive = "responder" }).auc, want.auc, 1e-12)
  end
  -- the other class as positive flips the problem: AUC 1 - auc
  T.near(nl.ml.metrics.auc(s, words, { positive = "nonresponder" }), 1 - want.auc, 1e-12)
  T.eq(nl.ml.metrics.auc(s, twos, { positive = 2 }), want.auc)
  -- booleans and 0/1 keep their meaning; positive = false / 0 name the other class
  local bools = {}
  for i = 1, #y do bools[i] = y[i] > 0 end
  T.eq(nl.ml.metrics.auc(s, bools), want.auc)
  T.near(nl.ml.metrics.auc(s, bools, { positive = false }), 1 - want.auc, 1e-12)
  T.near(nl.ml.metrics.auc(s, pm, { positive = -1 }), 1 - want.auc, 1e-12)
  -- svc and pipeline
  T.truthy(nl.ml.svc{}:fit(X, words, { positive = "responder" }).w_ == nl.ml.svc{}:fit(X, pm).w_)
  local pipe = nl.ml.pipeline{ nl.ml.scale{}, nl.ml.svc{ C = 1 } }
  local a = pipe:clone():fit(X, pm).w_
  T.truthy(pipe:clone():fit(X, col, { positive = "responder" }).w_ == a)
  T.truthy(pipe:clone():fit(X, twos, { positive = 2 }).w_ == a)
end)

T.test("label errors name the values, the counts and the row", function()
  local s = nl.matrix{ { 1 }, { -1 }, { 2 }, { 0.5 }, { 0 } }
  T.raises(function() return nl.ml.metrics(s, { "a", "b", "a", "b", "a" }) end,
    "labels: the labels are text, 'a' (3) and 'b' (2); say which class is the positive one (+1), e.g. { positive = \"a\" }")
  T.raises(function() return nl.ml.metrics(s, { "a", "b", "c", "b", "a" }, { positive = "a" }) end,
    "3 distinct values ('a' (2), 'b' (2), 'c' (1)); a classifier needs exactly two classes")
  T.raises(function() return nl.ml.metrics(s, { "a", "b", "a", "b", "a" }, { positive = "A" }) end,
    "positive = 'A' is not one of the labels, which are 'a' (3) and 'b' (2)")
  T.raises(function() return nl.ml.metrics(s, { 1, 2, 1, 2, 1 }) end,
    "the labels are the numbers 1 (3) and 2 (2); labels must be +1/-1, 1/0 or true/false, or name the positive class, e.g. positive = 2")
  T.raises(function() return nl.ml.metrics(s, { "a", "b", "a", 1, "a" }, { positive = "a" }) end,
    "entry 1 is 'a' but entry 4 is 1; the labels must all be text or all be numbers")
  T.raises(function() return nl.ml.metrics(s, { 1, -1, 1, -1, 1 }, { positive = "yes" }) end,
    "positive = 'yes' but the labels are numbers")
  T.raises(function() return nl.ml.metrics(s, { 1, -1, 1, -1, 1 }, { postive = 1 }) end, "did you mean 'positive'")
  local t = nl.table.new{ { "participant_id", { "s1", "s2", "s3", "s4", "s5" } },
                          { "group", { "patient", "control", nl.table.NA, "control", "patient" } } }
  T.raises(function() return nl.ml.metrics(s, t.group, { positive = "patient" }) end,
    "labels: entry 3 is missing; give every participant a class label or leave the participant out")
  -- with covariates holding participant_id, the participant is named too
  local X = nl.matrix.randn(5, 2, 1)
  T.raises(function() return nl.ml.pipeline{ nl.ml.svc{} }:fit(X, t.group, { positive = "patient", covariates = t }) end,
    "entry 3 (participant_id s3) is missing")
  -- functions without option positive say how to recode
  T.raises(function() return nl.ml.forward_select{}:select(X, t.participant_id, X, t.participant_id, nl.ml.svc{}) end,
    "5 distinct values")
end)

-- nl.ml.impute against scikit-learn's SimpleImputer (tests/data/ml/make_impute.py).
local function read_impute_fixture()
  local out, name, rows = {}, nil, nil
  for line in io.lines(data .. "/ml/impute.txt") do
    if not line:find("^#") then
      local n, r, c = line:match("^(%a[%w_]*) (%d+) (%d+)$")
      if n then
        name, rows = n, {}
        out[name] = rows
      else
        local row = {}
        for v in line:gmatch("%S+") do row[#row + 1] = v == "nan" and 0 / 0 or tonumber(v) end
        rows[#rows + 1] = row
      end
    end
  end
  return out
end

T.test("impute equals sklearn SimpleImputer (mean, median, constant)", function()
  local f = read_impute_fixture()
  local train, test = nl.matrix(f.train), nl.matrix(f.test)
  for _, case in ipairs{ { "mean", {} }, { "median", {} }, { "constant", { fill_value = 2.5 } } } do
    local opts = case[2]
    opts.strategy = case[1]
    local imp = nl.ml.impute(opts):fit(train)
    local got = imp:transform(test)
    local want = f[case[1]]
    for i = 1, #want do
      for j = 1, #want[i] do T.near(got:get(i, j), want[i][j], 1e-12, case[1] .. " " .. i .. "," .. j) end
    end
    for j = 1, #want[1] do T.near(imp.statistics_:get(1, j), f[case[1] .. "_statistics"][1][j], 1e-12) end
  end
  T.truthy(tostring(nl.ml.impute{}):find('impute{strategy = "median"}', 1, true))
  T.raises(function() return nl.ml.impute{ strategy = "mode" } end, "option 'strategy' must be one of mean, median, constant")
  T.raises(function() return nl.ml.impute{ fill_value = 1 } end, "applies to strategy = \"constant\" only")
  T.raises(function() return nl.ml.impute{ strategy = "constant", fill_value = 0 / 0 } end, "must be a finite number")
  T.raises(function() return nl.ml.impute{}:transform(test) end, "not fitted")
  -- in a pipeline: fitted on the training rows only
  local X = nl.matrix.randn(40, 3, 2)
  local y = {}
  for i = 1, 40 do y[i] = X:get(i, 1) > 0 end
  local holes = X:clone()
  holes:set(3, 2, 0 / 0); holes:set(10, 1, 0 / 0)
  local p = nl.ml.pipeline{ nl.ml.impute{ strategy = "mean" }, nl.ml.scale{}, nl.ml.svc{ C = 1 } }:fit(holes, y)
  local st = p:step(1).statistics_
  local m = 0
  for i = 1, 40 do if i ~= 10 then m = m + holes:get(i, 1) end end
  T.near(st:get(1, 1), m / 39, 1e-12)
  T.truthy(p:decision(holes):rows() == 40)
end)

-- regress_out and a site its training rows lacked (issue 18). Six training rows whose
-- features are exact functions of the covariates, x1 = 10 + 2 age + 3 [B] - 4 [C] and
-- x2 = 1 - age + 5 [C], sites A, A, B, B, B, C: the numbers below follow by hand.
T.test("regress_out: unseen levels raise, or follow unseen = drop / a level", function()
  local age, site = { 20, 30, 40, 50, 60, 35 }, { "A", "A", "B", "B", "B", "C" }
  local X = nl.matrix.zeros(6, 2)
  for i = 1, 6 do
    X:set(i, 1, 10 + 2 * age[i] + (site[i] == "B" and 3 or 0) - (site[i] == "C" and 4 or 0))
    X:set(i, 2, 1 - age[i] + (site[i] == "C" and 5 or 0))
  end
  local cov = nl.table.new{ { "age", age }, { "site", site } }
  local new = nl.table.new{ { "participant_id", { "n-1", "n-2", "n-3" } }, { "age", { 45, 45, 45 } },
                            { "site", { "MD", "B", "MD" } } }
  local Xn = nl.matrix.zeros(3, 2)
  for i = 1, 3 do Xn:set(i, 1, 100); Xn:set(i, 2, 7) end
  local r = nl.ml.regress_out{ "age", "site" }:fit(X, { covariates = cov })
  T.raises(function() return r:transform(Xn, { covariates = new }) end,
    "regress_out: covariate 'site' has a level not seen in the training rows: 'MD' (2 rows), participant_id n-1, "
    .. "n-3; the training levels are 'A', 'B', 'C'.")
  -- drop: the site dummies are the training proportions 1/2 (B) and 1/6 (C).
  local d = r:transform(Xn, { covariates = new, unseen = "drop" })
  T.near(d:get(1, 1), 100 - (10 + 90 + 3 / 2 - 4 / 6), 1e-10)
  T.near(d:get(1, 2), 7 - (1 - 45 + 5 / 6), 1e-10)
  T.near(d:get(2, 1), 100 - (10 + 90 + 3), 1e-10)  -- a seen site keeps its own effect
  -- a level: exactly what a row of that level gets.
  local b = r:transform(Xn, { covariates = new, unseen = { site = "B" } })
  T.eq(b:get(1, 1), b:get(2, 1))
  T.eq(b:get(1, 2), b:get(2, 2))
  T.near(b:get(1, 1), -3, 1e-10)
  T.raises(function() return r:transform(Xn, { covariates = new, unseen = { site = "MD" } }) end,
    "'MD' is not a level of covariate 'site' in the training rows")
  -- The same on the step itself, which prints it.
  local s = nl.ml.regress_out{ "age", "site", unseen = "drop" }
  T.truthy(tostring(s):find('regress_out{"age", "site", unseen = "drop"}', 1, true), tostring(s))
  T.truthy(s:fit(X, { covariates = cov }):transform(Xn, { covariates = new }) == d)
  T.truthy(tostring(s:clone()):find('unseen = "drop"', 1, true))
  T.raises(function() return nl.ml.scale{}:fit(X):transform(X, { unseen = "drop" }) end,
    "option 'unseen' applies to regress_out's text covariates, and this step is not a regress_out")
  T.raises(function() return nl.ml.scale{}:fit(X, { unseen = "drop" }) end, "unknown option 'unseen' for fit")
  -- A fitted pipeline's decision takes the option too.
  local yy = { true, false, true, false, true, false }
  local p = nl.ml.pipeline{ nl.ml.regress_out{ "age", "site" }, nl.ml.svc{ C = 1 } }:fit(X, yy, { covariates = cov })
  T.raises(function() return p:decision(Xn, { covariates = new }) end, "'MD' (2 rows)")
  local pd = p:decision(Xn, { covariates = new, unseen = { site = "B" } })
  T.eq(pd:get(1, 1), pd:get(2, 1))
  T.raises(function() return p:decision(Xn, { covariates = new, unseen = { tiv = "A" } }) end,
    "option 'unseen' names column 'tiv', which is not one of regress_out's covariates ('age', 'site')")
end)

-- Issue 19 (in-fold imputation): strategy "knn" equals scikit-learn's KNNImputer on
-- ABIDE volumes with cells removed (tests/data/ml/make_knn_impute_fixture.py).
T.test("impute knn equals scikit-learn's KNNImputer", function()
  local d = os.getenv("NL_TEST_DATA") .. "/ml/knn_impute/"
  local function mat(name)  -- NA cells as NaN
    local t = nl.table.read(d .. name)
    local rows = {}
    for i = 1, #t do
      local r = {}
      for j, c in ipairs(t:columns()) do
        local v = t[c][i]
        if v == nil then r[j] = 0 / 0 else r[j] = v end
      end
      rows[i] = r
    end
    return nl.matrix(rows)
  end
  local tr, te = mat("train.csv"), mat("test.csv")
  local imp = nl.ml.impute{ strategy = "knn", n_neighbors = 3 }:fit(tr)
  T.eq(tostring(imp):match("^[^-]*"), 'impute{strategy = "knn", n_neighbors = 3}  ')
  for _, case in ipairs{ { tr, "train_imputed.csv" }, { te, "test_imputed.csv" } } do
    local got, want = imp:transform(case[1]), mat(case[2])
    for i = 1, want:rows() do
      for j = 1, want:cols() do
        T.near(got:get(i, j), want:get(i, j), 1e-12 * math.abs(want:get(i, j)), case[2] .. " " .. i .. "," .. j)
      end
    end
  end
  T.raises(function() return nl.ml.impute{ strategy = "mean", n_neighbors = 3 } end,
    "option 'n_neighbors' applies to strategy = \"knn\" only")
  T.raises(function() return nl.ml.impute{ strategy = "knn", n_neighbors = 0 } end, "n_neighbors")
  -- In a nested CV, saved and loaded: the donors travel with the model.
  local y = {}
  for i = 1, tr:rows() do y[i] = i % 2 == 0 end
  local pipe = nl.ml.pipeline{ nl.ml.impute{ strategy = "knn", n_neighbors = 3 }, nl.ml.scale{}, nl.ml.svc{ C = 1 } }
  local r = nl.cv.nested(pipe, tr, y, { outer = { 3, 1 }, inner = { 2, 1 } })
  local path = T.tmpname(".model")
  r:save(path)
  T.truthy(nl.cv.load(path):apply(te).median_ == r:apply(te).median_, "the same predictions after loading")
end)

T.done()
