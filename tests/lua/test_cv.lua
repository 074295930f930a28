-- Tests of nl.cv.nested from Lua: structure, determinism on 1 and 2 threads, user
-- folds, permutation p-values and option errors.
local T = require "testing"
local nl = require "neurolua"

local X = nl.matrix.randn(60, 6, 9)
local y = {}
for i = 1, 60 do y[i] = X:get(i, 1) + 0.5 * nl.matrix.randn(1, 1, 100 + i):get(1, 1) > 0 end
local pipe = nl.ml.pipeline{ nl.ml.scale{}, nl.ml.prune{}, nl.ml.svc{ C = { 0.5, 2 } } }

T.test("nested CV result", function()
  local r = nl.cv.nested(pipe, X, y, { outer = { 3, 2 }, inner = { 3, 2 }, seed = 3 })
  T.eq(r.models_, 6 * 6)
  T.eq(#r:scores(1), 2 * 6, "outer repeats x CV1 partitions scores per subject")
  T.eq(#r.chosen_C_, 6)
  T.eq(r.inner_bac_:cols(), 2)
  T.truthy(r.metrics_.bac > 0.7, "signal found: " .. r.metrics_.bac)
  T.eq(r.p_, nil, "no permutations asked")
  T.truthy(tostring(r):find("BAC", 1, true))
  -- the finding of issue 14: a missing underscore used to read as nil, far from the typo
  T.raises(function() return r.metrics end, "CVResult has no field 'metrics'; did you mean 'metrics_'?")
  T.raises(function() return r.metrics_.BACC end, "Metrics has no field 'BACC'; did you mean 'bac'?")
  T.eq(r.permutation_bac_, nil, "a documented field absent without permutations reads nil")
  -- y_: the labels, as +1/-1, in the row order of median_ (for ROC curves)
  T.eq(r.y_:rows(), 60)
  for i = 1, 60 do T.eq(r.y_:get(i, 1), y[i] and 1 or -1) end
  T.near(nl.stats.roc(r.median_, r.y_).auc, r.metrics_.auc, 1e-12)
end)

T.test("same seed, same result on 1 and 2 threads", function()
  local opts = { outer = { 3, 2 }, inner = { 3, 2 }, seed = 4, permutations = 20 }
  nl.threads(1)
  local a = nl.cv.nested(pipe, X, y, opts)
  nl.threads(2)
  local b = nl.cv.nested(pipe, X, y, opts)
  T.truthy(a.median_ == b.median_, "median scores identical")
  T.truthy(a.permutation_bac_ == b.permutation_bac_, "permutations identical")
  T.eq(a.p_, b.p_)
  opts.seed = 5
  T.truthy(nl.cv.nested(pipe, X, y, opts).median_ ~= a.median_, "another seed differs")
end)

T.test("permutation p-values", function()
  local r = nl.cv.nested(pipe, X, y, { outer = { 3, 1 }, inner = { 3, 1 }, permutations = 9 })
  T.eq(r.permutation_bac_:rows(), 9)
  local count = 0
  for i = 1, 9 do if r.permutation_bac_:get(i, 1) >= r.metrics_.bac then count = count + 1 end end
  T.near(r.p_, count / 9)
  T.near(r.p_plus_one_, (count + 1) / 10)
end)

T.test("user folds", function()
  local folds = { {} }
  for i = 1, 60 do folds[1][i] = (i % 3) + 1 end
  local r = nl.cv.nested(pipe, X, y, { folds = folds, inner = { 3, 1 } })
  T.eq(r.models_, 3 * 3)
  folds[1][7] = 4
  T.raises(function() return nl.cv.nested(pipe, X, y, { folds = folds }) end, "folds[1][7] must be a fold number in 1..3")
end)

T.test("errors", function()
  T.raises(function() return nl.cv.nested(pipe, X, { 1, -1 }) end, "2 labels for 60 rows")
  T.raises(function() return nl.cv.nested(pipe, X, y, { outer = { 1, 5 } }) end, "folds >= 2")
  T.raises(function() return nl.cv.nested(pipe, X, y, { mode = "fast" }) end, "option 'mode' must be one of neurominer, full, got fast")
  T.raises(function() return nl.cv.nested(pipe, X, y, { seeds = 1 }) end, "unknown option 'seeds'")
  T.raises(function() return nl.cv.nested(X, X, y) end, "neurolua.Pipeline expected")
end)

-- A Table of features named after AAL regions, with a planted effect in two of them.
local aal = nl.atlas.load("aal")
local names = aal:names()
local function region_table(Xm, cols)
  local pairs_ = {}
  for j = 1, cols do pairs_[j] = { names[j], Xm:col(j) } end
  return nl.table.new(pairs_)
end
local Z = nl.matrix.randn(90, 12, 21)
local yz = {}
for i = 1, 90 do yz[i] = Z:get(i, 3) - Z:get(i, 7) + 0.7 * nl.matrix.randn(1, 1, 500 + i):get(1, 1) > 0 end
local train, test = {}, {}
for i = 1, 60 do train[i] = i end
for i = 61, 90 do test[#test + 1] = i end
local function pick(list, idx) local out = {} for k, i in ipairs(idx) do out[k] = list[i] end return out end
local Xtrain = region_table(Z:rows_at(train), 12)
local Xtest = region_table(Z:rows_at(test), 12)
local pipe2 = nl.ml.pipeline{ nl.ml.scale{}, nl.ml.prune{}, nl.ml.pca{ k = 6 }, nl.ml.scale{}, nl.ml.svc{ C = { 0.25, 1 } } }
local r2 = nl.cv.nested(pipe2, Xtrain, pick(yz, train), { outer = { 3, 2 }, inner = { 3, 2 }, seed = 9, permutations = 10 })

T.test("feature names and external validation", function()
  T.eq(#r2.feature_names_, 12)
  T.eq(r2.feature_names_[1], names[1])
  local ext = r2:apply(Xtest, pick(yz, test), { permutations = 10 })
  T.eq(ext.models_, 36)
  T.eq(#ext:scores(1), 36)
  T.truthy(ext.metrics_.bac > 0.7, "signal carries over: " .. ext.metrics_.bac)
  T.eq(ext.permutation_bac_:rows(), 10)
  T.truthy(tostring(ext):find("external validation: 36 base models, 30 subjects", 1, true))
  local unlabelled = r2:apply(Xtest)
  T.truthy(unlabelled.median_ == ext.median_, "labels do not change the scores")
  T.eq(unlabelled.metrics_, nil)
  T.eq(unlabelled.y_, nil)
  local yt = pick(yz, test)
  for i = 1, #yt do T.eq(ext.y_:get(i, 1), (yt[i] == true or yt[i] == 1) and 1 or -1) end
  T.truthy(r2:apply(Xtest, nil, {}).median_ == ext.median_)
  T.truthy(r2:apply(Xtest, {}).median_ == ext.median_, "an empty last table is the options")
  nl.threads(1)
  local a = r2:apply(Xtest, pick(yz, test), { permutations = 10 })
  nl.threads(2)
  local b = r2:apply(Xtest, pick(yz, test), { permutations = 10 })
  T.truthy(a.permutation_bac_ == b.permutation_bac_, "identical on 1 and 2 threads")
  -- Errors: renamed column, wrong width, labels without permutations.
  local renamed = Xtest:select{ names[2], names[1], names[3], names[4], names[5], names[6], names[7], names[8],
                                names[9], names[10], names[11], names[12] }
  T.raises(function() return r2:apply(renamed) end, "feature column 1 is '" .. names[2] .. "' in the new data but '" .. names[1])
  T.raises(function() return r2:apply(Z:rows_at(test):cols_at{ 1, 2, 3 }) end, "3 features, the model was trained on 12")
  T.raises(function() return r2:apply(Xtest, nil, { permutations = 5 }) end, "permutations need the new subjects' labels")
  T.raises(function() return r2:apply(Xtest, pick(yz, test), { permutation = 5 }) end, "unknown option 'permutation'")
end)

T.test("weights, weight matrix and weight map", function()
  local w = r2:weights()
  T.eq(w:nrows(), 12)
  local top2 = { w.name[1], w.name[2] }
  table.sort(top2)
  local want = { names[3], names[7] }
  table.sort(want)
  T.eq(top2[1], want[1]); T.eq(top2[2], want[2])
  T.truthy(w.mean[1] * w.mean[2] < 0, "opposite signs")
  T.eq(r2:weights{ top = 3 }:nrows(), 3)
  local W = r2:weight_matrix()
  T.eq(W:rows(), 36); T.eq(W:cols(), 12)
  local j = w.index[1]
  T.near(W:col(j):mean(), w.mean[1], 1e-12)
  local raw = r2:weight_matrix{ units = "raw" }
  T.truthy(raw ~= W, "raw units differ")
  local map = r2:weight_map(aal, { top = 2 })
  local stats = aal:summarize({ map }, "mean")
  T.near(stats:column(w.name[1])[1], w.mean[1], 1e-6)
  T.near(stats:column(names[1])[1], 0, 0)
  T.raises(function() return r2:weights{ cvr = "mad" } end, "option 'cvr' must be \"sd\" or \"se\"")
  T.raises(function() return r2:weight_map(aal, { value = "q" }) end, "option 'value' must be")
  local rm = nl.cv.nested(pipe, X, y, { outer = { 3, 1 }, inner = { 3, 1 } })
  T.raises(function() return rm:weight_map(aal) end, "the model has 6 features, the atlas 116 regions")
end)

T.test("base models", function()
  local m = r2:model(1)
  T.eq(m.outer, 1); T.eq(m.inner, 1)
  T.eq(#m.steps, 4)
  T.eq(m.steps[3]:name(), "pca")
  T.eq(m.w:rows(), #m.features)
  T.truthy(m.C == 0.25 or m.C == 1)
  -- The steps reproduce the base model's scores of a new subject.
  local Y = Xtest:matrix()
  for _, s in ipairs(m.steps) do Y = s:transform(Y) end
  local d = Y:cols_at(m.features) * m.w
  local ext = r2:apply(Xtest)
  T.near(d:get(1, 1), ext:scores(1)[1], 1e-12)
  T.raises(function() return r2:model(37) end, "base model")
end)

T.test("save and load", function()
  local path = os.tmpname()
  r2:save(path)
  local back = nl.cv.load(path)
  T.eq(tostring(back), tostring(r2))
  T.truthy(back:apply(Xtest).median_ == r2:apply(Xtest).median_, "identical external predictions")
  T.truthy(back:weight_matrix() == r2:weight_matrix())
  T.eq(back.p_, r2.p_)
  local f = io.open(path, "wb"); f:write("hello"); f:close()
  T.raises(function() return nl.cv.load(path) end, "not a neurolua model file")
  os.remove(path)
  T.raises(function() return nl.cv.load(path) end, "cannot open")
end)

T.done()
