-- The estimators beside the linear SVC (issue 19): through the Lua surface against
-- scikit-learn on real data (tests/data/ml/estimators: ABIDE aseg volumes, age and sex),
-- regression end to end in nl.cv.nested (checked against a fold loop written out here
-- with the same folds), its permutation test counted by hand, the kernel SVC's (C,
-- gamma) grid, and the errors a user meets.
local T = require "testing"
local nl = require "neurolua"

local data = os.getenv("NL_TEST_DATA") .. "/ml/estimators/"

-- ---------------------------------------------------------------- the reference data

local ref = {}
for line in io.lines(data .. "reference.txt") do
  if line:sub(1, 1) ~= "#" then
    local key, rest = line:match("^(%S+)%s+(.*)$")
    local v = {}
    for x in rest:gmatch("%S+") do v[#v + 1] = tonumber(x) end
    ref[key] = v
  end
end

local t = nl.table.read(data .. "data.csv")
local names = {}
for _, n in ipairs(t:columns()) do if n ~= "age" and n ~= "sex" then names[#names + 1] = n end end
local Z = t:matrix(names)
local Xtr, Xte = Z:rows_at(1, 100), Z:rows_at(101, 132)
local age, sex = {}, {}
for i = 1, 132 do
  age[i] = t.age[i]
  sex[i] = t.sex[i]
end
local function first(v, n) local o = {} for i = 1, n do o[i] = v[i] end return o end
local age_tr, sex_tr = first(age, 100), first(sex, 100)

-- Relative agreement of a Matrix (n x 1) with a list.
local function close(m, want, tol, what)
  T.eq(m:rows(), #want, what .. ": length")
  local scale = 0
  for i = 1, #want do scale = math.max(scale, math.abs(want[i])) end
  for i = 1, #want do
    local d = math.abs(m:get(i, 1) - want[i])
    T.truthy(d <= tol * math.max(scale, 1e-12), ("%s[%d]: %.12g vs scikit-learn %.12g"):format(what, i, m:get(i, 1), want[i]))
  end
end

T.test("estimators agree with scikit-learn through the Lua surface", function()
  local c = ref
  local svr = nl.ml.svr{ C = c["svr_bias.C"][1], epsilon = c["svr_bias.epsilon"][1], bias = 1, tol = 1e-10,
                         max_iter = 100000 }:fit(Xtr, age_tr)
  close(svr:decision(Xte), c["svr_bias.pred"], 1e-6, "LinearSVR predictions")
  close(svr.w_, c["svr_bias.w"], 1e-6, "LinearSVR coef_")

  local lr = nl.ml.logistic{ C = c["logistic.Cp"][1], weighting = "none", bias = true, tol = 1e-8 }:fit(Xtr, sex_tr)
  close(lr:decision(Xte), c["logistic.decision"], 1e-6, "LogisticRegression decision_function")
  close(lr:probability(Xte), c["logistic.proba"], 1e-6, "LogisticRegression predict_proba")
  local cw = nl.ml.logistic{ C = 1, weighting = { pos = c["logistic_cw.Cp"][1], neg = c["logistic_cw.Cn"][1] },
                             bias = true, tol = 1e-8 }:fit(Xtr, sex_tr)
  close(cw:decision(Xte), c["logistic_cw.decision"], 1e-6, "LogisticRegression(class_weight) decision_function")

  local rr = nl.ml.ridge{ alpha = c["ridge.alpha"][1] }:fit(Xtr, age_tr)
  close(rr:decision(Xte), c["ridge.pred"], 1e-9, "Ridge predictions")
  T.near(rr.b_, c["ridge.b"][1], 1e-9 * math.abs(c["ridge.b"][1]), "Ridge intercept_")
  local rd = nl.ml.ridge{ alpha = c["ridge_dual.alpha"][1] }:fit(Xtr:rows_at(1, 15), first(age, 15))
  close(rd:decision(Xte), c["ridge_dual.pred"], 1e-9, "Ridge (p > n) predictions")

  local kr = nl.ml.kernel_ridge{ alpha = c["kr_rbf.alpha"][1], gamma = c["kr_rbf.gamma"][1] }:fit(Xtr, age_tr)
  close(kr:decision(Xte), c["kr_rbf.pred"], 1e-9, "KernelRidge(rbf) predictions")
  T.eq(kr.n_support_, 100)
  local kl = nl.ml.kernel_ridge{ alpha = c["kr_linear.alpha"][1], kernel = "linear" }:fit(Xtr, age_tr)
  close(kl:decision(Xte), c["kr_linear.pred"], 1e-9, "KernelRidge(linear) predictions")

  local sv = nl.ml.kernel_svc{ C = c["svc_rbf.Cp"][1], gamma = c["svc_rbf.gamma"][1], weighting = "none",
                               tol = 1e-8 }:fit(Xtr, sex_tr)
  close(sv:decision(Xte), c["svc_rbf.decision"], 1e-5, "SVC(rbf) decision_function")
  T.eq(sv.n_support_, #c["svc_rbf.support"], "number of support vectors")
  T.raises(function() return sv.w_ end, "linear kernel only")
  local sl = nl.ml.kernel_svc{ C = c["svc_linear.Cp"][1], kernel = "linear", weighting = "none", tol = 1e-8 }
    :fit(Xtr, sex_tr)
  close(sl:decision(Xte), c["svc_linear.decision"], 1e-5, "SVC(linear) decision_function")
  T.eq(sl.w_:rows(), #names, "a linear kernel has weights")
end)

T.test("estimator options print, and the errors say what is wrong", function()
  T.eq(tostring(nl.ml.kernel_svc{ C = { 1, 2 }, gamma = { 0.1, 1 } }),
    'kernel_svc{C = {1, 2}, kernel = "rbf", gamma = {0.1, 1}, weighting = "balanced", tol = 0.001}  -- not fitted')
  T.eq(tostring(nl.ml.ridge{ alpha = 3 }), "ridge{alpha = 3, fit_intercept = true}  -- not fitted")
  T.truthy(tostring(nl.ml.kernel_ridge{}):find('gamma = "scale"', 1, true))
  T.raises(function() return nl.ml.ridge{ C = 1 } end, "unknown option 'C'")
  T.raises(function() return nl.ml.kernel_svc{ gamma = -1 } end, "option 'gamma' must be a positive number")
  T.raises(function() return nl.ml.kernel_svc{ kernel = "poly" } end, "invalid kernel 'poly'")
  T.raises(function() return nl.ml.kernel_ridge{ kernel = "linear", gamma = 1 } end, "rbf kernel only")
  T.raises(function() return nl.ml.svr{ epsilon = -1 } end, "'epsilon' must be a number >= 0")
  T.raises(function() return nl.ml.svc{}:probability(Xte) end, "gives no probabilities")
  T.raises(function() return nl.ml.ridge{ alpha = { 1, 2 } }:fit(Xtr, age_tr) end, "holds a grid of alpha values")
  T.raises(function() return nl.ml.ridge{}:fit(Xtr, sex_tr, { positive = 1 }) end, "names a class, but ridge")
  local bad = first(age, 100)
  bad[7] = 0 / 0
  T.raises(function() return nl.ml.ridge{}:fit(Xtr, bad) end, "row 7")
  local same = {}
  for i = 1, 100 do same[i] = 3 end
  T.raises(function() return nl.ml.svr{}:fit(Xtr, same) end, "every target equals 3")
end)

-- ---------------------------------------------------------------- nested CV, regression

local X = Z:cols_at(1, 12)
local pipe = function() return nl.ml.pipeline{ nl.ml.scale{}, nl.ml.ridge{ alpha = { 0.1, 10, 1000 } } } end

T.test("nested CV of a regressor equals the fold loop written out", function()
  local r = nl.cv.nested(pipe(), X, age, { outer = { 3, 2 }, inner = { 3, 1 }, seed = 4 })
  T.eq(r.criterion_, "mae")
  T.truthy(tostring(r):find("nested CV (ridge)", 1, true), tostring(r))
  local folds = r.folds_
  local want = {}
  for i = 1, 132 do want[i] = {} end
  local alphas = { 0.1, 10, 1000 }
  for rep = 1, 2 do
    for f = 1, 3 do
      local inner = r:inner_folds(rep, f)
      local train = {}
      for k = 1, #inner do train[k] = inner.subject[k] end
      -- CV1: mean MAE of every alpha over the inner folds
      local best, best_mae = nil, math.huge
      for _, a in ipairs(alphas) do
        local sum = 0
        for g = 1, 3 do
          local tr, te = {}, {}
          for k = 1, #inner do
            if inner["repeat_1"][k] == g then te[#te + 1] = inner.subject[k] else tr[#tr + 1] = inner.subject[k] end
          end
          local yt, ye = {}, {}
          for k, i in ipairs(tr) do yt[k] = age[i] end
          for k, i in ipairs(te) do ye[k] = age[i] end
          local p = nl.ml.pipeline{ nl.ml.scale{}, nl.ml.ridge{ alpha = a } }:fit(X:rows_at(tr), yt)
          sum = sum + nl.ml.metrics.regression(p:decision(X:rows_at(te)), ye).mae
        end
        if sum / 3 < best_mae then best, best_mae = a, sum / 3 end
      end
      T.eq(r.chosen_C_[(rep - 1) * 3 + f], best, "alpha chosen in CV2 fold " .. f)
      -- the base models: refit on the whole CV2 training set (one fit, three copies)
      local yt = {}
      for k, i in ipairs(train) do yt[k] = age[i] end
      local p = nl.ml.pipeline{ nl.ml.scale{}, nl.ml.ridge{ alpha = best } }:fit(X:rows_at(train), yt)
      local test = {}
      for i = 1, 132 do if folds["repeat_" .. rep][i] == f then test[#test + 1] = i end end
      local d = p:decision(X:rows_at(test))
      for k, i in ipairs(test) do for _ = 1, 3 do table.insert(want[i], d:get(k, 1)) end end
    end
  end
  for i = 1, 132 do
    table.sort(want[i])
    local m = (want[i][3] + want[i][4]) / 2
    T.near(r.median_:get(i, 1), m, 1e-9 * math.max(1, math.abs(m)), "median prediction of subject " .. i)
  end
  local m = nl.ml.metrics.regression(r.median_, age)
  T.near(r.metrics_.mae, m.mae, 1e-12)
  T.near(r.metrics_.r2, m.r2, 1e-12)
  T.truthy(r.metrics_.r > 0.3, "age is predicted from subcortical volumes: r = " .. r.metrics_.r)
end)

T.test("regression permutations: MAE counts when at most the observed one", function()
  local r = nl.cv.nested(pipe(), X, age, { outer = { 3, 1 }, inner = { 3, 1 }, seed = 2, permutations = 19,
                                           keep_null = true })
  local observed = r.metrics_.mae
  local count = 0
  for k = 1, 19 do
    local med = r.null_scores_:row(k):t()
    local mae = nl.ml.metrics.regression(med, age).mae  -- scored against the original targets (NeuroMiner mode)
    T.near(r.permutation_bac_:get(k, 1), mae, 1e-12, "permutation " .. k)
    if mae <= observed then count = count + 1 end
  end
  T.eq(r.permutation_count_, count)
  T.near(r.p_, (count + 1) / 20, 1e-15)
  T.truthy(tostring(r):find("reached the observed MAE", 1, true), tostring(r))
  -- another criterion: r, higher is better
  local rr = nl.cv.nested(pipe(), X, age, { outer = { 3, 1 }, inner = { 3, 1 }, seed = 2, permutations = 9,
                                            criterion = "r" })
  T.eq(rr.criterion_, "r")
  T.truthy(tostring(rr):find("reached the observed r", 1, true), tostring(rr))
  T.eq(r.permutation_statistic_, "MAE")
  -- the figures of a regression
  local svg = T.tmpname(".svg")
  T.eq(r:plot_predictions(svg), svg)
  local text = io.open(svg):read("a")
  T.truthy(text:find("MAE", 1, true) and text:find("r = ", 1, true), "title with the MAE, Pearson's r annotated")
  T.eq(r:plot_permutations(svg), svg)
  text = io.open(svg):read("a")
  T.truthy(text:find("observed MAE", 1, true), "the null of the MAE")
  T.raises(function() return r:plot_roc(svg) end, "is a regression: it has no ROC curve")
  os.remove(svg)
end)

T.test("regression results save, load, apply and permute the same", function()
  local r = nl.cv.nested(nl.ml.pipeline{ nl.ml.scale{}, nl.ml.svr{ C = { 0.1, 1 }, bias = 1 } }, X:rows_at(1, 100),
                         age_tr, { outer = { 3, 1 }, inner = { 3, 1 }, seed = 3, permutations = 9 })
  local path = T.tmpname(".model")
  r:save(path)
  local l = nl.cv.load(path)
  T.truthy(l.median_ == r.median_, "medians")
  T.eq(l.p_, r.p_)
  T.eq(tostring(l.metrics_), tostring(r.metrics_))
  local yte = {}
  for i = 101, 132 do yte[#yte + 1] = age[i] end
  local a = r:apply(X:rows_at(101, 132), yte, { permutations = 9 })
  local b = l:apply(X:rows_at(101, 132), yte, { permutations = 9 })
  T.truthy(a.median_ == b.median_)
  T.eq(a.p_, b.p_)
  T.near(a.metrics_.mae, nl.ml.metrics.regression(a.median_, yte).mae, 1e-12)
  T.truthy(tostring(a):find("MAE", 1, true), tostring(a))
  os.remove(path)
end)

T.test("regression options and their errors", function()
  T.raises(function() return nl.cv.nested(pipe(), X, age, { criterion = "bac" }) end,
    "criterion 'bac' does not apply to ridge, a regression")
  T.raises(function()
    return nl.cv.nested(nl.ml.pipeline{ nl.ml.svc{} }, X, sex, { criterion = "mae" })
  end, "does not apply to svc, a classifier")
  T.raises(function() return nl.cv.nested(pipe(), X, age, { outer = { 3, 1, stratify = true } }) end,
    "cannot be stratified")
  local family = {}
  for i = 1, 132 do family[i] = (i - 1) // 3 end  -- subjects in threes stay together
  local r = nl.cv.nested(pipe(), X, age, { outer = { 3, 1 }, inner = { 3, 1 }, groups = family, seed = 5 })
  T.eq(r.models_, 9)
  local f = r.folds_.repeat_1
  for i = 1, 132, 3 do T.truthy(f[i] == f[i + 1] and f[i] == f[i + 2], "a family shares its fold") end
end)

-- ---------------------------------------------------------------- kernel SVC grid

T.test("kernel SVC: (C, gamma) grid, no weights, and a linear kernel's", function()
  local gam = { 0.01, 0.1 }
  local r = nl.cv.nested(nl.ml.pipeline{ nl.ml.scale{}, nl.ml.kernel_svc{ C = { 0.5, 4 }, gamma = gam } }, X, sex,
                         { outer = { 3, 1 }, inner = { 3, 1 }, seed = 1 })
  T.eq(r.inner_bac_:cols(), 4, "every (C, gamma) pair")
  for o = 1, 3 do
    local best, bi = -1, nil
    for g = 1, 4 do if r.inner_bac_:get(o, g) > best then best, bi = r.inner_bac_:get(o, g), g end end
    T.truthy(r.chosen_C_[o] == ({ 0.5, 0.5, 4, 4 })[bi] or r.inner_bac_:get(o, bi) == best, "chosen C")
  end
  T.eq(#r.chosen_gamma_, 3)
  T.eq(r:model(1).w, nil)
  T.truthy(r:model(1).gamma == 0.01 or r:model(1).gamma == 0.1)
  T.raises(function() return r:weights() end, "linear kernel only")
  local l = nl.cv.nested(nl.ml.pipeline{ nl.ml.scale{}, nl.ml.kernel_svc{ kernel = "linear" } }, X, sex,
                         { outer = { 3, 1 }, inner = { 3, 1 }, seed = 1 })
  T.eq(l:weights():nrows(), 12)
  T.eq(l.chosen_gamma_, nil)
end)
-- ---------------------------------------------------------------- older files

-- tests/data/ml/cv_v3.model: written by main at 2398257 (format 3, before the
-- estimators); the numbers are what make_cv_v3.lua printed there.
T.test("format version 3 files load as the linear SVC scored by BAC, with the same numbers", function()
  local r = nl.cv.load(os.getenv("NL_TEST_DATA") .. "/ml/cv_v3.model")
  T.eq(r.criterion_, "bac")
  T.truthy(tostring(r):find("nested CV (svc)", 1, true), tostring(r))
  T.eq(r.median_:get(1, 1), -1.4115606023385603)
  T.eq(r.median_:get(36, 1), -1.2128031660838325)
  T.eq(r.metrics_.bac, 0.90909090909090917)
  T.eq(r.p_, 0.050000000000000003)
  local p = r:apply(nl.matrix.randn(4, 5, 22))
  local want = { -0.08644282051002633, 0.36485683977280681, 1.0029456387703086, 0.1951529952268643 }
  for i = 1, 4 do T.eq(p.median_:get(i, 1), want[i], "apply " .. i) end
  local path = T.tmpname(".model")
  r:save(path)  -- and again as format 4
  T.truthy(nl.cv.load(path).median_ == r.median_)
  os.remove(path)
end)

T.done()
