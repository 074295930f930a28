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
  -- Issue 18: the p reported is (count + 1) / (n + 1), never 0; count / n stays readable.
  T.eq(r.permutation_count_, count)
  T.eq(r.n_permutations_, 9)
  T.near(r.p_, (count + 1) / 10)
  T.near(r.p_plus_one_, (count + 1) / 10)
  T.near(r.p_count_, count / 9)
  T.truthy(tostring(r):find(("p = %.4f (%d of 9 permutations reached the observed BAC)"):format((count + 1) / 10, count),
    1, true), tostring(r))
end)

-- Issue 18: what a permutation's BAC is scored against, checked by hand from the kept
-- null: the median scores of every permutation and the labels its models were trained on.
local function bac_by_hand(scores, labels)
  local tp, fn, tn, fp = 0, 0, 0, 0
  for i = 1, #labels do
    local s = scores[i]
    if labels[i] > 0 then
      if s > 0 then tp = tp + 1 elseif s < 0 then fn = fn + 1 end
    else
      if s < 0 then tn = tn + 1 elseif s > 0 then fp = fp + 1 end
    end
  end
  local sens = tp + fn > 0 and tp / (tp + fn) or 0
  local spec = tn + fp > 0 and tn / (tn + fp) or 0
  return (sens + spec) / 2
end

T.test("permutation scoring: against the original or the permuted labels", function()
  local yy = {}
  for i = 1, 60 do yy[i] = y[i] and 1 or -1 end
  for _, case in ipairs{ { mode = "neurominer", want = "original" }, { mode = "full", want = "permuted" },
                         { mode = "neurominer", scoring = "permuted", want = "permuted" },
                         { mode = "full", scoring = "original", want = "original" } } do
    local r = nl.cv.nested(pipe, X, y, { outer = { 3, 1 }, inner = { 3, 1 }, permutations = 6, mode = case.mode,
                                         permutation_scoring = case.scoring, keep_null = true })
    T.eq(r.permutation_scoring_, case.want)
    T.eq(r.null_scores_:rows(), 6); T.eq(r.null_scores_:cols(), 60)
    for k = 1, 6 do
      local scores, perm = {}, {}
      for i = 1, 60 do scores[i] = r.null_scores_:get(k, i); perm[i] = r.null_labels_:get(k, i) end
      -- the null labels are a permutation of y: the same class counts
      local pos, pos0 = 0, 0
      for i = 1, 60 do pos = pos + (perm[i] > 0 and 1 or 0); pos0 = pos0 + (yy[i] > 0 and 1 or 0) end
      T.eq(pos, pos0)
      T.near(r.permutation_bac_:get(k, 1), bac_by_hand(scores, case.want == "original" and yy or perm), 1e-12)
    end
  end
  local plain = nl.cv.nested(pipe, X, y, { outer = { 3, 1 }, inner = { 3, 1 }, permutations = 2 })
  T.eq(plain.null_scores_, nil)
  T.raises(function() return nl.cv.nested(pipe, X, y, { permutation_scoring = "labels" }) end,
    "option 'permutation_scoring' must be one of original, permuted, got labels")
end)

T.test("user folds", function()
  local folds = { {} }
  for i = 1, 60 do folds[1][i] = (i % 3) + 1 end
  local r = nl.cv.nested(pipe, X, y, { folds = folds, inner = { 3, 1 } })
  T.eq(r.models_, 3 * 3)
  folds[1][7] = 4
  T.raises(function() return nl.cv.nested(pipe, X, y, { folds = folds, outer = { 3, 1 } }) end, "folds[1][7] must be a fold number in 1..3")
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
  -- the classes of the new labels in the training's coding (as a CVResult prints them)
  local pos = 0
  for _, i in ipairs(test) do if yz[i] then pos = pos + 1 end end
  T.truthy(tostring(ext):find(("\n  classes: +1 = true (%d), -1 = false (%d)"):format(pos, #test - pos), 1, true),
    tostring(ext))
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
  -- The planted regions lead (PCA with k = 6 of 12 blurs them: among the first three),
  -- with opposite signs.
  local rank = {}
  for k = 1, 3 do rank[w.name[k]] = k end
  T.truthy(rank[names[3]] and rank[names[7]], "planted regions in the top 3: " .. tostring(r2:weights{ top = 3 }))
  T.truthy(w.mean[rank[names[3]]] * w.mean[rank[names[7]]] < 0, "opposite signs")
  T.eq(r2:weights{ top = 3 }:nrows(), 3)
  -- With refit_preprocessing the 6 base models of a CV2 fold are one fit: they count
  -- once (6 CV2 folds); without it, 36 base models.
  local W = r2:weight_matrix()
  T.eq(W:rows(), 6); T.eq(W:cols(), 12)
  local nm = nl.cv.nested(pipe2, Xtrain, pick(yz, train), { outer = { 3, 2 }, inner = { 3, 2 }, seed = 9,
                                                             refit_preprocessing = false })
  T.eq(nm:weight_matrix():rows(), 36)
  local j = w.index[1]
  T.near(W:col(j):mean(), w.mean[1], 1e-12)
  local raw = r2:weight_matrix{ units = "raw" }
  T.truthy(raw ~= W, "raw units differ")
  local map = r2:weight_map(aal, { top = 2 })
  local stats = aal:summarize({ map }, "mean")
  T.near(stats:column(w.name[1])[1], w.mean[1], 1e-6)
  T.near(stats:column(w.name[12])[1], 0, 0)  -- outside the top 2
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

-- ---------------------------------------------------------------- issue 16

-- Text labels with an explicit positive class: the same model as booleans.
T.test("text labels with positive, stored, printed, applied, saved", function()
  local words = {}
  for i = 1, 60 do words[i] = y[i] and "responder" or "nonresponder" end
  local opts = { outer = { 3, 2 }, inner = { 3, 2 }, seed = 3 }
  local a = nl.cv.nested(pipe, X, y, opts)
  opts.positive = "responder"
  local b = nl.cv.nested(pipe, X, words, opts)
  T.truthy(a.median_ == b.median_, "same scores as with booleans")
  T.eq(b.positive_, "responder")
  T.eq(b.negative_, "nonresponder")
  T.eq(a.positive_, true)
  T.eq(a.negative_, false)
  local npos = 0
  for i = 1, 60 do if y[i] then npos = npos + 1 end end
  T.truthy(tostring(b):find(("classes: +1 = 'responder' (%d), -1 = 'nonresponder' (%d)"):format(npos, 60 - npos), 1, true),
    tostring(b))
  -- apply reads new text labels with the training's positive class by default
  local ea, eb = a:apply(X, y), b:apply(X, words)
  T.eq(tostring(eb.metrics_), tostring(ea.metrics_))
  T.eq(tostring(b:apply(X, words, { positive = "responder" }).metrics_), tostring(ea.metrics_))
  local typo = {}
  for i = 1, 60 do typo[i] = words[i] == "responder" and "Responder" or words[i] end
  T.raises(function() return b:apply(X, typo) end, "'Responder' (" .. npos .. " entries) is not a class of the trained model ('responder' = +1, 'nonresponder' = -1)")
  -- booleans still apply to a model trained on text? no: the kinds must match
  T.raises(function() return b:apply(X, y) end, "positive = 'responder' but the labels are booleans")
  -- saved and loaded with the model
  local path = T.tmpname(".model")
  b:save(path)
  local back = nl.cv.load(path)
  T.eq(back.positive_, "responder")
  T.eq(back.negative_, "nonresponder")
  T.eq(tostring(back), tostring(b))
  T.eq(tostring(back:apply(X, words).metrics_), tostring(eb.metrics_))
  -- errors
  opts.positive = nil
  T.raises(function() return nl.cv.nested(pipe, X, words, opts) end,
    "say which class is the positive one (+1), e.g. { positive = \"")
  local three = {}
  for i = 1, 60 do three[i] = i <= 5 and "maybe" or words[i] end
  opts.positive = "responder"
  T.raises(function() return nl.cv.nested(pipe, X, three, opts) end, "3 distinct values (")
  T.raises(function() return nl.cv.nested(pipe, X, three, opts) end, "'maybe' (5)")
  local ids = {}
  for i = 1, 60 do ids[i] = ("sub-%02d"):format(i) end
  local cov = nl.table.new{ { "participant_id", ids } }
  local hole = { table.unpack(words) }
  hole[17] = nl.table.NA
  T.raises(function() return nl.cv.nested(pipe, X, hole, { positive = "responder", covariates = cov }) end,
    "labels: entry 17 (participant_id sub-17) is missing")
end)

-- A model file of format version 1 (before classes were stored) still loads, predicts
-- and reports its folds; the same run today reproduces it (tests/data/ml/make_cv_v1.lua).
T.test("format version 1 files still load", function()
  local old = nl.cv.load(os.getenv("NL_TEST_DATA") .. "/ml/cv_v1.model")
  T.truthy(tostring(old):find("BAC 84.4 %", 1, true), tostring(old))
  T.near(old.median_:get(1, 1), 0.42647440811590792, 0)
  T.near(old.median_:get(2, 1), -1.9420934010774444, 0)
  T.eq(old.positive_, 1)
  T.eq(old.folds_:nrows(), 24)
  local X1 = nl.matrix.randn(24, 4, 7)
  local y1 = {}
  for i = 1, 24 do y1[i] = X1:get(i, 1) + 0.3 * X1:get(i, 2) > 0 end
  local p1 = nl.ml.pipeline{ nl.ml.scale{}, nl.ml.svc{ C = { 0.5, 2 } } }
  -- The same run today (its methods: CV1-train preprocessing; the retrained base models
  -- now start the solver cold, so the scores agree to the solver tolerance, not bit for bit).
  T.eq(old.refit_preprocessing_, false)
  T.eq(old.solver_start_, "warm from CV1-train")
  T.truthy(tostring(old):find("warm-started (saved by an earlier version)", 1, true), tostring(old))
  local now = nl.cv.nested(p1, X1, y1, { outer = { 3, 2 }, inner = { 2, 1 }, seed = 5, refit_preprocessing = false })
  T.eq(now.solver_start_, "cold")
  for i = 1, 24 do T.near(now.median_:get(i, 1), old.median_:get(i, 1), 0.02, "subject " .. i) end
  T.near(now.metrics_.bac, old.metrics_.bac, 0)
  T.eq(tostring(now.folds_), tostring(old.folds_))
  T.truthy(old:apply(X1, y1).median_ == old:apply(X1, y1).median_)
end)

-- The documented fold algorithm (nl/ml/nested_cv.hpp), re-derived here from its
-- description: xoshiro256++ seeded by splitmix64 (nl::Rng(seed, stream)), Lemire's
-- bounded integers, Fisher-Yates shuffles, and the stratified deal (positives
-- shuffled and dealt to folds 1, 2, ..., the negatives continuing where they stopped;
-- the class lists are shuffled again for each repeat).
local function rng(seed, stream)
  local x = seed
  local function splitmix()
    x = x + 0x9E3779B97F4A7C15
    local z = x
    z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ~ (z >> 27)) * 0x94D049BB133111EB
    return z ~ (z >> 31)
  end
  local mix = splitmix() ~ (stream * 0xD1B54A32D192ED03)
  x = mix
  local s = { splitmix(), splitmix(), splitmix(), splitmix() }
  local function rotl(v, k) return (v << k) | (v >> (64 - k)) end
  local function next()
    local result = rotl(s[1] + s[4], 23) + s[1]
    local t = s[2] << 17
    s[3] = s[3] ~ s[1]; s[4] = s[4] ~ s[2]; s[2] = s[2] ~ s[3]; s[1] = s[1] ~ s[4]
    s[3] = s[3] ~ t; s[4] = rotl(s[4], 45)
    return result
  end
  -- Lemire: the high 64 bits of next() * n (n < 2^32 here), rejecting a biased low part.
  local function below(n)
    while true do
      local a = next()
      local lo, hi_a, lo_a = a * n, a >> 32, a & 0xFFFFFFFF
      local hi = (hi_a * n + ((lo_a * n) >> 32)) >> 32
      if not math.ult(lo, n) then return hi end
      local threshold = ((1 << 32) % n) * ((1 << 32) % n) % n  -- 2^64 mod n
      if not math.ult(lo, threshold) then return hi end
    end
  end
  local function shuffle(v)
    for i = #v, 2, -1 do
      local j = below(i) + 1
      v[i], v[j] = v[j], v[i]
    end
  end
  return shuffle
end

local function stratified(labels, k, repeats, shuffle)
  local pos, neg = {}, {}
  for i, v in ipairs(labels) do
    if v then pos[#pos + 1] = i else neg[#neg + 1] = i end
  end
  local out = {}
  for r = 1, repeats do
    shuffle(pos); shuffle(neg)
    local a, nxt = {}, 0
    for _, i in ipairs(pos) do a[i] = nxt % k + 1; nxt = nxt + 1 end
    for _, i in ipairs(neg) do a[i] = nxt % k + 1; nxt = nxt + 1 end
    out[r] = a
  end
  return out
end

-- Issue 19 (CV schemes): unstratified and grouped k-fold at both levels, leave one group
-- out, and nl.cv.folds; the unstratified and the grouped draws re-derived here from
-- their description in nl/ml/nested_cv.hpp (draw_folds).
local function unstratified(n, k, repeats, shuffle)
  local out = {}
  for r = 1, repeats do
    local order = {}
    for i = 1, n do order[i] = i end
    shuffle(order)
    local a = {}
    for j, i in ipairs(order) do a[i] = (j - 1) % k + 1 end
    out[r] = a
  end
  return out
end

local function grouped(labels, gid, k, repeats, shuffle)
  -- groups in order of first appearance, with their members and class counts
  local order_seen, members, counts, index = {}, {}, {}, {}
  local total = { 0, 0 }
  for i, g in ipairs(gid) do
    if not index[g] then
      order_seen[#order_seen + 1] = g
      index[g] = #order_seen
      members[#order_seen], counts[#order_seen] = {}, { 0, 0 }
    end
    local gi = index[g]
    local c = labels[i] and 2 or 1
    members[gi][#members[gi] + 1] = i
    counts[gi][c] = counts[gi][c] + 1
    total[c] = total[c] + 1
  end
  local out = {}
  for r = 1, repeats do
    local order = {}
    for g = 1, #order_seen do order[g] = g end
    shuffle(order)
    -- stable sort by size, largest first
    local pos = {}
    for p, g in ipairs(order) do pos[g] = p end
    table.sort(order, function(a, b)
      if #members[a] ~= #members[b] then return #members[a] > #members[b] end
      return pos[a] < pos[b]
    end)
    local fold = {}
    for f = 1, k do fold[f] = { 0, 0 } end
    local a = {}
    for _, g in ipairs(order) do
      local best, best_cost, best_size
      for f = 1, k do
        local size = fold[f][1] + fold[f][2]
        local cost = 0
        for c = 1, 2 do
          local gc, d = counts[g][c], fold[f][c] - total[c] / k
          cost = cost + gc * gc + 2 * gc * d
        end
        if not best or cost < best_cost or (cost == best_cost and size < best_size) then
          best, best_cost, best_size = f, cost, size
        end
      end
      fold[best][1] = fold[best][1] + counts[g][1]
      fold[best][2] = fold[best][2] + counts[g][2]
      for _, i in ipairs(members[g]) do a[i] = best end
    end
    out[r] = a
  end
  return out
end

T.test("CV schemes: grouped, leave one group out, unstratified; nl.cv.folds", function()
  local fam, site = {}, {}
  for i = 1, 60 do
    fam[i] = ("fam%02d"):format((i - 1) // 3)  -- families of three
    site[i] = ({ "A", "B", "C", "D" })[(i % 4) + 1]
  end
  -- Grouped: a family never spans two folds, at either level.
  local r = nl.cv.nested(pipe, X, y, { groups = fam, outer = { 3, 2 }, inner = { 3, 2 }, seed = 4 })
  local function together(rows, col)
    local where = {}
    for k = 1, #rows do
      local g = fam[rows[k]]
      if where[g] then T.eq(col[k], where[g], "family " .. g .. " in one fold") else where[g] = col[k] end
    end
  end
  local all = {}
  for i = 1, 60 do all[i] = i end
  for rep = 1, 2 do together(all, r.folds_["repeat_" .. rep]) end
  for rep = 1, 2 do
    for fold = 1, 3 do
      local inner = r:inner_folds(rep, fold)
      local rows = {}
      for k = 1, inner:nrows() do rows[k] = inner.subject[k] end
      for irep = 1, 2 do together(rows, inner["repeat_" .. irep]) end
    end
  end
  -- The outer folds are the documented greedy draw on Rng(seed, 0) (groups ranked by
  -- their sorted value), and nl.cv.folds draws the same.
  local gid = {}
  for i = 1, 60 do gid[i] = (i - 1) // 3 end
  local want = grouped(y, gid, 3, 2, rng(4, 0))
  for rep = 1, 2 do
    for i = 1, 60 do T.eq(r.folds_["repeat_" .. rep][i], want[rep][i]) end
  end
  T.eq(tostring(nl.cv.folds(y, { groups = fam, folds = 3, repeats = 2, seed = 4 })), tostring(r.folds_))
  -- Unstratified k-fold at both levels: the documented deal, sizes 20 each.
  local u = nl.cv.nested(pipe, X, y, { outer = { 3, 2, stratify = false }, inner = { 3, 1, stratify = false }, seed = 6 })
  local wu = unstratified(60, 3, 2, rng(6, 0))
  for rep = 1, 2 do
    local size = { 0, 0, 0 }
    for i = 1, 60 do
      local k = u.folds_["repeat_" .. rep][i]
      T.eq(k, wu[rep][i])
      size[k] = size[k] + 1
    end
    T.eq(table.concat(size, ","), "20,20,20")
  end
  T.eq(tostring(nl.cv.folds(y, { folds = 3, repeats = 2, seed = 6, stratify = false })), tostring(u.folds_))
  -- Stratified (the default) is the draw nl.cv.nested always made.
  T.eq(tostring(nl.cv.folds(y, { folds = 3, repeats = 2, seed = 11 })),
    tostring(nl.cv.nested(pipe, X, y, { outer = { 3, 2 }, inner = { 3, 1 }, seed = 11 }).folds_))
  -- Leave one site out: fold g is the g-th site in sorted order; 4 CV2 folds x 3 CV1.
  local l = nl.cv.nested(pipe, X, y, { groups = site, outer = "leave_one_group_out", inner = { 3, 1 } })
  T.eq(l.models_, 12)
  T.eq(table.concat(l.folds_:columns(), ","), "subject,repeat_1")
  for i = 1, 60 do T.eq(l.folds_.repeat_1[i], ({ A = 1, B = 2, C = 3, D = 4 })[site[i]]) end
  T.eq(tostring(nl.cv.folds(y, { groups = site, scheme = "leave_one_group_out" })), tostring(l.folds_))
  -- Your own folds without `outer`: as many folds as their largest number.
  local own = nl.cv.nested(pipe, X, y, { folds = l.folds_, groups = site, inner = { 3, 1 } })
  T.truthy(own.median_ == l.median_, "the same run from its folds_")
  -- Errors.
  T.raises(function() return nl.cv.nested(pipe, X, y, { outer = "leave_one_group_out" }) end,
    "outer = \"leave_one_group_out\" needs option 'groups' (e.g. groups = t.site)")
  T.raises(function() return nl.cv.nested(pipe, X, y, { outer = "loso" }) end,
    "option 'outer' must be {folds, repeats} or \"leave_one_group_out\", got \"loso\"")
  local few = {}
  for i = 1, 60 do few[i] = i <= 30 and "a" or "b" end
  T.raises(function() return nl.cv.nested(pipe, X, y, { groups = few }) end,
    "folds: 2 groups for 3 folds; a grouped CV needs at least one group per fold")
  local hole = {}
  for i = 1, 60 do hole[i] = fam[i] end
  hole[5] = nl.table.NA
  T.raises(function() return nl.cv.nested(pipe, X, y, { groups = hole }) end, "option 'groups': entry 5 is missing")
  T.raises(function() return nl.cv.nested(pipe, X, y, { groups = { 1, 2 } }) end,
    "option 'groups' has 2 entries for 60 subjects")
  T.raises(function() return nl.cv.nested(pipe, X, y, { outer = { 3, 2, stratify = 1 } }) end,
    "option 'outer': stratify must be true or false")
end)

T.test("folds_ and inner_folds: a stratified partition, the documented algorithm, saved", function()
  local r = nl.cv.nested(pipe, X, y, { outer = { 3, 2 }, inner = { 3, 2 }, seed = 11 })
  local f = r.folds_
  T.eq(f:nrows(), 60)
  T.eq(table.concat(f:columns(), ","), "subject,repeat_1,repeat_2")
  local npos = 0
  for i = 1, 60 do if y[i] then npos = npos + 1 end end
  for rep = 1, 2 do
    local col = f["repeat_" .. rep]
    local size, pos = { 0, 0, 0 }, { 0, 0, 0 }
    for i = 1, 60 do
      T.eq(f.subject[i], i)
      local k = col[i]
      T.truthy(k == 1 or k == 2 or k == 3, "one test fold per subject and repeat")
      size[k] = size[k] + 1
      if y[i] then pos[k] = pos[k] + 1 end
    end
    -- every subject in exactly one test fold; sizes and class counts within one
    T.eq(size[1] + size[2] + size[3], 60)
    for k = 1, 3 do
      T.truthy(math.abs(size[k] - 20) <= 1, "fold sizes differ by at most one")
      T.truthy(math.abs(pos[k] - npos / 3) < 1, "stratified: positives per fold " .. pos[k])
    end
  end
  -- the same partition from the documented algorithm
  local want = stratified(y, 3, 2, rng(11, 0))
  for rep = 1, 2 do
    for i = 1, 60 do T.eq(f["repeat_" .. rep][i], want[rep][i], "outer fold of row " .. i) end
  end
  -- CV1 folds inside CV2 fold 2 of repeat 2 (outer fold index 4, stream 1 + 4)
  local inner = r:inner_folds(2, 2)
  local train, ytrain = {}, {}
  for i = 1, 60 do
    if want[2][i] ~= 2 then train[#train + 1] = i; ytrain[#ytrain + 1] = y[i] end
  end
  T.eq(inner:nrows(), #train)
  local iwant = stratified(ytrain, 3, 2, rng(11, 1 + 4))
  for k = 1, #train do
    T.eq(inner.subject[k], train[k])
    for rep = 1, 2 do T.eq(inner["repeat_" .. rep][k], iwant[rep][k], "inner fold of training row " .. k) end
  end
  -- base models see exactly these CV1 splits: model (CV2 fold 5 = repeat 2 fold 2)
  T.raises(function() return r:inner_folds(3, 1) end, "outer repeat 3 out of range [1, 2]")
  -- round trips: saved and loaded, and given back as the folds option
  local path = T.tmpname(".model")
  r:save(path)
  local back = nl.cv.load(path)
  T.eq(tostring(back.folds_), tostring(f))
  T.eq(tostring(back:inner_folds(2, 2)), tostring(inner))
  local again = nl.cv.nested(pipe, X, y, { folds = f, inner = { 3, 2 }, seed = 11 })
  T.truthy(again.median_ == r.median_, "folds_ as the folds option gives the same run")
end)

-- Issue 16: a model at chance still marked features "significant" with no caveat.
T.test("weights caveat: sign consistency is shown with the model's permutation p", function()
  local noise = {}
  for i = 1, 60 do noise[i] = nl.matrix.randn(1, 1, 900 + i):get(1, 1) > 0 end
  local chance = nl.cv.nested(pipe, X, noise, { outer = { 3, 1 }, inner = { 3, 1 }, permutations = 19, seed = 2 })
  T.truthy(chance.p_plus_one_ >= 0.05, "null labels: p = " .. chance.p_plus_one_)
  local c = chance:weights_caveat()
  T.truthy(c:find(("model not better than chance (p = %.4f (%d of 19 permutations reached the observed BAC)): sign "
    .. "consistency describes the fitted models, not a reliable effect"):format(chance.p_plus_one_,
    chance.permutation_count_), 1, true), c)
  local w = chance:weights()
  T.near(w.model_p[1], chance.p_plus_one_, 0)
  T.truthy(w.significant ~= nil, "the sign-consistency columns stay")
  local none = nl.cv.nested(pipe, X, y, { outer = { 3, 1 }, inner = { 3, 1 } })
  T.truthy(none:weights_caveat():find("no permutation test", 1, true))
  T.eq(none:weights().model_p[1], nil, "NA without permutations")
  local real = nl.cv.nested(pipe, X, y, { outer = { 3, 1 }, inner = { 3, 1 }, permutations = 39, seed = 2 })
  T.truthy(real.p_plus_one_ < 0.05, "signal: p = " .. real.p_plus_one_)
  T.eq(real:weights_caveat(), nil)
end)

T.test("missing feature values: an error naming column and row, or in-fold imputation", function()
  local holes = X:clone()
  holes:set(7, 2, 0 / 0)
  T.raises(function() return nl.cv.nested(pipe, holes, y) end,
    "nested CV: feature column 2 has a missing value (NaN) in row 7; add nl.ml.impute{} as the first pipeline step")
  local right = {}
  for i = 1, 60 do right[i] = i == 9 and nl.table.NA or X:get(i, 2) end
  local t = nl.table.new{ { "Amygdala_L", X:col(1) }, { "Amygdala_R", right } }
  T.raises(function() return nl.cv.nested(pipe, t, y) end,
    "nested CV: feature column 'Amygdala_R' has a missing value (NA) in row 9; add nl.ml.impute{}")
  local late = nl.ml.pipeline{ nl.ml.scale{}, nl.ml.impute{}, nl.ml.svc{ C = 1 } }
  T.raises(function() return nl.cv.nested(late, holes, y) end, "nl.ml.impute must be the first step of the pipeline")
  local imp = nl.ml.pipeline{ nl.ml.impute{}, nl.ml.scale{}, nl.ml.prune{}, nl.ml.svc{ C = { 0.5, 2 } } }
  local r
  for _, refit in ipairs{ false, true } do
    r = nl.cv.nested(imp, holes, y, { outer = { 3, 2 }, inner = { 3, 2 }, seed = 3, refit_preprocessing = refit })
    T.truthy(r.metrics_.bac > 0.7)
    -- each base model's imputer was fitted on its own training rows: without refit its
    -- CV1-training rows, with refit CV1-train + CV1-test (the CV2 training set); the
    -- median of column 2 over those rows, found through inner_folds
    for _, m in ipairs{ 1, 5, 36 } do
      local bm = r:model(m)
      local rep, fold = (bm.outer - 1) // 3 + 1, (bm.outer - 1) % 3 + 1
      local irep, ifold = (bm.inner - 1) // 3 + 1, (bm.inner - 1) % 3 + 1
      local inner = r:inner_folds(rep, fold)
      local vals = {}
      for k = 1, inner:nrows() do
        local row = inner.subject[k]
        if (refit or inner["repeat_" .. irep][k] ~= ifold) and row ~= 7 then vals[#vals + 1] = holes:get(row, 2) end
      end
      table.sort(vals)
      local h = #vals // 2
      local median = #vals % 2 == 1 and vals[h + 1] or 0.5 * (vals[h] + vals[h + 1])
      T.near(bm.steps[1].statistics_:get(1, 2), median, 0, "base model " .. m)
    end
  end
  local rt = nl.cv.nested(imp, t, y, { outer = { 3, 1 }, inner = { 3, 1 }, seed = 3 })
  T.eq(rt.models_, 9)
  local path = T.tmpname(".model")
  r:save(path)
  T.truthy(nl.cv.load(path):apply(holes).median_ == r:apply(holes).median_, "impute survives save and load")
  -- covariates with a missing value: named
  local age = {}
  for i = 1, 60 do age[i] = i == 12 and nl.table.NA or X:get(i, 3) end
  local cov = nl.table.new{ { "age", age } }
  local ro = nl.ml.pipeline{ nl.ml.regress_out{ "age" }, nl.ml.svc{ C = 1 } }
  T.raises(function() return nl.cv.nested(ro, X, y, { covariates = cov }) end, "nested CV: covariate 'age' is missing in row 12")
end)

-- A site that no training row had (issue 18): regress_out refuses to code it silently
-- as the reference site; unseen = ... chooses, on the step or for one r:apply call.
-- The data of tests/data/ml/make_cv_v2_regress_out.lua: sites A, B, C in turn and one
-- subject of site E, so most base models' CV1 training rows lack E.
local function site_data()
  local n = 30
  local Xs = nl.matrix.randn(n, 4, 11)
  local ys, ids, site, age = {}, {}, {}, {}
  for i = 1, n do
    ids[i] = ("sub-%02d"):format(i)
    site[i] = i == n and "E" or ({ "A", "B", "C" })[(i - 1) % 3 + 1]
    age[i] = 20 + (i * 7) % 41
    ys[i] = Xs:get(i, 1) + 0.5 * Xs:get(i, 2) > 0
  end
  local cov = nl.table.new{ { "participant_id", ids }, { "site", site }, { "age", age } }
  local Xn = nl.matrix.randn(6, 4, 12)
  local cn = nl.table.new{ { "participant_id", { "new-1", "new-2", "new-3", "new-4", "new-5", "new-6" } },
                           { "site", { "A", "B", "C", "D", "D", "B" } }, { "age", { 25, 33, 41, 52, 60, 38 } } }
  return Xs, ys, cov, Xn, cn
end
local function site_pipe(unseen)
  return nl.ml.pipeline{ nl.ml.regress_out{ "age", "site", unseen = unseen }, nl.ml.scale{},
                         nl.ml.svc{ C = { 0.5, 2 } } }
end
local site_cv = { outer = { 3, 1 }, inner = { 2, 1 }, seed = 3 }
local function with_cov(cov, extra)
  local o = { covariates = cov }
  for k, v in pairs(site_cv) do o[k] = v end
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

T.test("a site the training rows lacked: an error by default, unseen chooses", function()
  local Xs, ys, cov, Xn, cn = site_data()
  -- Inside the nested CV: site E is missing from most CV1 training rows.
  T.raises(function() return nl.cv.nested(site_pipe(), Xs, ys, with_cov(cov)) end,
    "regress_out: covariate 'site' has a level not seen in the training rows: 'E' (1 row)")
  local r = nl.cv.nested(site_pipe{ site = "A" }, Xs, ys, with_cov(cov))
  T.truthy(tostring(r:model(1).steps[1]):find('regress_out{"age", "site", unseen = {site = "A"}}', 1, true),
    tostring(r:model(1).steps[1]))
  -- r:apply on a cohort with a new site D: the message names it, its rows and choices.
  local err = T.raises(function() return r:apply(Xn, { covariates = cn, unseen = "error" }) end,
    "apply (base model of CV2 fold 1, CV1 partition 1): regress_out: covariate 'site' has a level not seen in the "
    .. "training rows: 'D' (2 rows), participant_id new-4, new-5; the training levels are 'A', 'B', 'C'")
  T.truthy(err:find([[Choose unseen = "drop" (correct those rows for the other covariates and the training-average ]]
    .. [[site effect), unseen = { site = "A" } (code them as level 'A'), or leave those participants out]], 1, true),
    err)
  -- The step's own policy (site = "A") applies without the option.
  local own = r:apply(Xn, { covariates = cn })
  local cn_a = nl.table.new{ { "site", { "A", "B", "C", "A", "A", "B" } }, { "age", { 25, 33, 41, 52, 60, 38 } } }
  T.truthy(own.median_ == r:apply(Xn, { covariates = cn_a }).median_, "D coded as A")
  -- unseen at apply time, on copies: "drop" changes the D rows only.
  local dropped = r:apply(Xn, { covariates = cn, unseen = "drop" })
  for i = 1, 6 do
    local same = dropped.median_:get(i, 1) == own.median_:get(i, 1)
    T.eq(same, i ~= 4 and i ~= 5, "row " .. i)
  end
  T.truthy(r:apply(Xn, { covariates = cn, unseen = { site = "B" } }).median_ ~= own.median_)
  T.truthy(tostring(r:model(1).steps[1]):find('unseen = {site = "A"}', 1, true), "the stored step is unchanged")
  -- Labels and permutations take the same option.
  local yn = { true, false, true, true, false, false }
  local p = r:apply(Xn, yn, { covariates = cn, unseen = "drop", permutations = 4 })
  T.truthy(p.median_ == dropped.median_)
  T.eq(#p.permutation_bac_, 4)
end)

T.test("unseen option errors", function()
  local Xs, ys, cov, Xn, cn = site_data()
  local r = nl.cv.nested(site_pipe("drop"), Xs, ys, with_cov(cov))
  T.raises(function() return r:apply(Xn, { covariates = cn, unseen = "A" }) end,
    [[bad argument #2 to 'apply' (option 'unseen' must be "error", "drop" or a table such as { site = "A" }, got "A"]])
  T.raises(function() return r:apply(Xn, { covariates = cn, unseen = 1 }) end, "got number")
  T.raises(function() return r:apply(Xn, { covariates = cn, unseen = {} }) end, "option 'unseen' is an empty table")
  T.raises(function() return r:apply(Xn, { covariates = cn, unseen = { "drop" } }) end,
    "option 'unseen' must map column names to a level")
  T.raises(function() return r:apply(Xn, { covariates = cn, unseen = { site = true } }) end,
    "the entry for column 'site' must be a level (a string)")
  T.raises(function() return r:apply(Xn, { covariates = cn, unseen = { sitee = "A" } }) end,
    "option 'unseen' names column 'sitee', which is not one of regress_out's covariates ('age', 'site')")
  T.raises(function() return r:apply(Xn, { covariates = cn, unseen = { site = "D" } }) end,
    [[regress_out: unseen = {site = "D"}: 'D' is not a level of covariate 'site' in the training rows]])
  T.raises(function() return r:apply(Xn, { covariates = cn, unseen = { age = "drop" } }) end,
    "covariate 'age' is a number column; the unseen-level policy applies to text (string) covariates only")
  T.raises(function() return r:apply(Xn, { covariates = cn, unsen = "drop" }) end, "did you mean 'unseen'?")
  local plain = nl.cv.nested(pipe, X, y, { outer = { 3, 1 }, inner = { 2, 1 }, seed = 3 })
  T.raises(function() return plain:apply(X, { unseen = "drop" }) end,
    "option 'unseen' applies to regress_out's text covariates, and the pipeline has no regress_out step")
  -- On the step.
  T.raises(function() return nl.ml.regress_out{ "age", "site", unseen = { sitee = "A" } } end,
    "bad argument #1 to 'regress_out' (option 'unseen' names column 'sitee', which is not one of the covariates "
    .. "('age', 'site'))")
  T.raises(function() return nl.ml.regress_out{ "age", "site", unseen = "dorp" } end, [[got "dorp"]])
  T.raises(function() return nl.ml.regress_out{ "age", "site", unsen = "drop" } end, "did you mean 'unseen'?")
  T.raises(function() return nl.cv.nested(site_pipe{ site = "Q" }, Xs, ys, with_cov(cov)) end,
    [[regress_out: unseen = {site = "Q"}: 'Q' is not a level of covariate 'site' in the training rows (the training ]]
    .. [[levels are 'A', 'B', 'C']])
end)

-- tests/data/ml/cv_v2_regress_out.model, written before regress_out stored a policy:
-- it loads with the policy "error", rebuilds its folds' matrices as the old coding did
-- (a site missing from a base model's training rows as the reference site A), and
-- predicts as before; the same run today needs unseen = { site = "A" }.
T.test("format version 2 files with regress_out still load, with unseen = error", function()
  local old = nl.cv.load(os.getenv("NL_TEST_DATA") .. "/ml/cv_v2_regress_out.model")
  T.eq(tostring(old:model(1).steps[1]):match("^[^-]*"), 'regress_out{"age", "site"}  ')
  T.near(old.median_:get(30, 1), 0.52329732967909703, 0)
  local Xs, ys, cov, Xn, cn = site_data()
  T.raises(function() return old:apply(Xn, { covariates = cn }) end, "'D' (2 rows)")
  local p = old:apply(Xn, { covariates = cn, unseen = { site = "A" } })
  local want = { 0.80883016089132531, -0.64867102050123826, -1.9343802444359253, 1.2983001257700237,
                 -1.0192300288015437, 2.0808967306473933 }
  for i = 1, 6 do T.near(p.median_:get(i, 1), want[i], 0) end
  -- "drop" works on the old file too (the training proportions are recomputed).
  local d = old:apply(Xn, { covariates = cn, unseen = "drop" })
  T.truthy(d.median_:get(4, 1) ~= want[4])
  -- Today's run with unseen = { site = "A" } (and the CV1-train preprocessing, as then) is
  -- the same run, its retrained base models started cold (issue 18) where the old ones
  -- were warm-started: the same scores to the solver tolerance. Its permutations of an
  -- external validation reuse the rebuilt matrices and start cold in both: identical.
  local now = nl.cv.nested(site_pipe{ site = "A" }, Xs, ys, with_cov(cov, { refit_preprocessing = false }))
  for i = 1, 30 do T.near(now.median_:get(i, 1), old.median_:get(i, 1), 0.02, "subject " .. i) end
  local yn = { true, false, true, true, false, false }
  local a = old:apply(Xn, yn, { covariates = cn, unseen = { site = "A" }, permutations = 6 })
  local b = now:apply(Xn, yn, { covariates = cn, permutations = 6 })
  T.truthy(a.permutation_bac_ == b.permutation_bac_, "the same permutations")
  for i = 1, 6 do T.near(a.median_:get(i, 1), b.median_:get(i, 1), 0.02) end
  -- Saved again, it is a version-3 file that keeps the policy "error".
  local path = T.tmpname(".model")
  old:save(path)
  local again = nl.cv.load(path)
  T.truthy(again.median_ == old.median_)
  T.raises(function() return again:apply(Xn, { covariates = cn }) end, "'D' (2 rows)")
  T.truthy(again:apply(Xn, { covariates = cn, unseen = "drop" }).median_ == d.median_)
end)

T.done()
