-- Two contracts, each checked over everything it covers:
--  * the conventions of the Lua surface (docs/reference/neurolua.md, "Conventions"),
--    over every type the module registers: __name, __tostring, __fields; an unknown
--    field raises with a did-you-mean; every field and method has a reference entry;
--    learned fields of models end with "_". A type registered without a sample object
--    here fails the test, so the next type added cannot drift;
--  * the estimator contract over every nl.ml step (STYLE.md items 7 and 10): the
--    constructor stores options only; fit returns self and is idempotent; transform and
--    decision refuse an unfitted object and a wrong number of features; clone gives an
--    unfitted copy; learned state does not change when the object is applied.
local T = require "testing"
local nl = require "neurolua"

local X = nl.matrix.randn(40, 12, 3)
local y = {}
for i = 1, 40 do y[i] = (X:get(i, 1) + X:get(i, 2) > 0) and 1 or -1 end
local cov = nl.table.new{ { "age", X:col(5) * 10 + 40 }, { "site", (function()
  local s = {}
  for i = 1, 40 do s[i] = i % 2 == 0 and "A" or "B" end
  return s
end)() } }

local transforms = {
  function() return nl.ml.scale{ range = { -1, 1 } } end,
  function() return nl.ml.prune{} end,
  function() return nl.ml.impute{ strategy = "mean" } end,
  function() return nl.ml.regress_out{ "age", "site" } end,
  function() return nl.ml.combat{ batch = "site", covariates = { "age" } } end,
}
if nl.ml.pca then transforms[#transforms + 1] = function() return nl.ml.pca{ k = 3 } end end
if nl.ml.robpca then transforms[#transforms + 1] = function() return nl.ml.robpca{ k = 3 } end end

for _, make in ipairs(transforms) do
  local t = make()
  local name = t:name()
  T.test(name .. " follows the transform contract", function()
    T.eq(t:fitted(), false)
    T.eq(next(t:state()), nil, "no state before fit")
    T.raises(function() return t:transform(X, { covariates = cov }) end, "not fitted")
    T.truthy(rawequal(t:fit(X, { covariates = cov }), t), "fit returns self")
    T.eq(t:fitted(), true)
    local a = t:transform(X, { covariates = cov })
    T.eq(a:rows(), 40)
    local state1 = {}
    for k, v in pairs(t:state()) do state1[k] = v end
    t:transform(X:rows_at(1, 5), { covariates = cov:take{ 1, 2, 3, 4, 5 } })
    for k, v in pairs(t:state()) do T.truthy(v == state1[k], name .. " state " .. k .. " unchanged by transform") end
    T.truthy(t:fit(X, { covariates = cov }):transform(X, { covariates = cov }) == a, "fit is idempotent")
    T.raises(function() return t:transform(X:cols_at(1, 11), { covariates = cov }) end, "fitted on 12 features, got 11")
    local c = t:clone()
    T.eq(c:fitted(), false, "clone is unfitted")
    T.eq(c:name(), name)
    T.truthy(tostring(t):find(name, 1, true), "prints its name")
    T.raises(function() return make():fit(nl.matrix.zeros(0, 12)) end, "cannot fit on 0 rows")
  end)
end

T.test("filter follows the transform contract, with labels", function()
  local t = nl.ml.filter{ k = 4 }
  T.eq(t:fitted(), false)
  T.raises(function() return t:transform(X) end, "not fitted")
  T.raises(function() return t:fit(X) end, "label")
  T.truthy(rawequal(t:fit(X, y), t), "fit returns self")
  local a = t:transform(X)
  T.eq(a:cols(), 4)
  local scores = t.scores_
  t:transform(X:rows_at(1, 5))
  T.truthy(t.scores_ == scores, "state unchanged by transform")
  T.truthy(t:fit(X, y):transform(X) == a, "fit is idempotent")
  T.raises(function() return t:transform(X:cols_at(1, 11)) end, "fitted on 12 features, got 11")
  T.eq(t:clone():fitted(), false, "clone is unfitted")
  T.truthy(tostring(t):find("filter", 1, true), "prints its name")
end)

-- Every estimator (issue 19): classifiers on the labels y, regressors on numbers.
local target = {}
for i = 1, 40 do target[i] = 2 * X:get(i, 1) - X:get(i, 3) + 0.5 end
local estimators = {
  { "svc", function() return nl.ml.svc{ C = 0.5 } end, y },
  { "logistic", function() return nl.ml.logistic{ C = 0.5 } end, y },
  { "kernel_svc", function() return nl.ml.kernel_svc{ C = 0.5, gamma = 0.1 } end, y },
  { "svr", function() return nl.ml.svr{ C = 0.5 } end, target },
  { "ridge", function() return nl.ml.ridge{ alpha = 0.5 } end, target },
  { "kernel_ridge", function() return nl.ml.kernel_ridge{ alpha = 0.5 } end, target },
}
for _, e in ipairs(estimators) do
  local name, make, yy = e[1], e[2], e[3]
  T.test(name .. " follows the estimator contract", function()
    local s = make()
    T.eq(s:fitted(), false)
    T.raises(function() return s:decision(X) end, "not fitted")
    T.truthy(rawequal(s:fit(X, yy), s), "fit returns self")
    local d = s:decision(X)
    T.truthy(s:fit(X, yy):decision(X) == d, "idempotent")
    local b = s.b_
    s:decision(X:rows_at(1, 5))
    T.eq(s.b_, b, "decision leaves the learned state alone")
    T.raises(function() return s:decision(X:cols_at(1, 11)) end, "fitted on 12 features, got 11")
    T.eq(s:clone():fitted(), false, "clone is unfitted")
    T.truthy(tostring(s):find(name .. "{", 1, true), "prints its options: " .. tostring(s))
    T.raises(function() return make():fit(nl.matrix.zeros(0, 12), {}) end, "are empty")
    -- in a pipeline and a nested CV
    local p = nl.ml.pipeline{ nl.ml.scale{}, make() }:fit(X, yy)
    T.eq(p:decision(X):rows(), 40)
  end)
end

T.test("pipeline follows the estimator contract", function()
  local p = nl.ml.pipeline{ nl.ml.scale{}, nl.ml.regress_out{ "age" }, nl.ml.svc{} }
  T.raises(function() return p:decision(X) end, "not fitted")
  T.truthy(rawequal(p:fit(X, y, { covariates = cov }), p))
  local d = p:decision(X, { covariates = cov })
  T.truthy(p:fit(X, y, { covariates = cov }):decision(X, { covariates = cov }) == d, "idempotent")
  T.eq(p:clone():fitted(), false)
end)

-- ---------------------------------------------------------------- the Lua surface

local help = require "neurolua.help"
local data = os.getenv("NL_TEST_DATA") .. "/"

-- One sample object of every type; fitted where the type is a model, so that every
-- learned field can be read. Each entry returns the object.
local samples = {}
samples.Matrix = function() return nl.matrix.zeros(2, 2) end
samples.Table = function() return nl.table.new{ { "age", { 30, 40 } } } end
samples.Column = function() return nl.table.new{ { "age", { 30, 40 } } }.age end
samples.NA = function() return nl.table.NA end
samples.GroupBy = function() return nl.table.new{ { "site", { "A", "B", "A" } } }:group_by("site") end
samples.Volume = function() return nl.volume.load(data .. "atlas/tiny.nii.gz") end
samples.NiftiHeader = function() return nl.volume.load(data .. "atlas/tiny.nii.gz"):header() end
samples.VolumeStats = function() return nl.volume.load(data .. "atlas/tiny.nii.gz"):stats() end
samples.Atlas = function() return nl.atlas.load(data .. "atlas/tiny.nii.gz") end
samples.Transform = function() return nl.ml.pca{ k = 2 }:fit(X) end
samples.Estimator = function() return nl.ml.svc{}:fit(X, y) end
samples.ForwardSelect = function() return nl.ml.forward_select{} end
samples.Pipeline = function() return nl.ml.pipeline{ nl.ml.scale{}, nl.ml.svc{} }:fit(X, y) end
samples.Metrics = function() return nl.ml.metrics(X:col(1), y) end
samples.ROC = function() return nl.ml.metrics.roc(X:col(1), y) end
samples.RegressionMetrics = function() return nl.ml.metrics.regression(X:col(1), X:col(2)) end
local cv
local function nested()
  cv = cv or nl.cv.nested(nl.ml.pipeline{ nl.ml.scale{}, nl.ml.svc{ C = { 0.5, 2 } } }, X, y,
                          { outer = { 2, 1 }, inner = { 2, 1 }, permutations = 3, seed = 1 })
  return cv
end
samples.CVResult = nested
samples.Prediction = function() return nested():apply(X, y) end
samples.BaseModel = function() return nested():model(1) end
samples.LMM = function()
  local subject, time, score = {}, {}, {}
  for i = 1, 40 do
    subject[i] = "s" .. ((i - 1) // 2 + 1)
    time[i] = (i - 1) % 2
    score[i] = X:get(i, 1) + time[i]
  end
  local long = nl.table.new{ { "subject", subject }, { "time", time }, { "score", score } }
  return nl.stats.lmm{ y = "score", fixed = { "time" }, group = "subject", data = long }
end
samples.TestResult = function() return nl.stats.ttest_one(X:col(1)) end
samples.ROCCurve = function() return nl.stats.roc(X:col(1), y).curve end
samples.ROCBand = function() return nl.stats.roc(X:col(1), y, { band = true, boot = 50, seed = 1 }).band end
samples.GLMResult = function() return nl.stats.glm(X:cols_at(1, 2), nl.matrix.ones(40, 1), { 1 }) end
samples.Design = function() return nl.stats.design_one_sample(10) end
local store
local function voxel_store()
  if store then return store end
  local ref = nl.volume.load(data .. "atlas/tiny.nii.gz")
  local dir = T.tmpname("_store")
  nl.mkdir(dir)
  local maps = {}
  for i = 1, 4 do
    maps[i] = dir .. "/m" .. i .. ".nii.gz"
    (ref * i):save(maps[i])
  end
  store = nl.store.build(dir .. "/s.h5", maps, ref:gt(0), { progress = false })
  return store
end
samples.VoxelStore = voxel_store
samples.StoreGLMResult = function() return voxel_store():glm(nl.matrix.ones(4, 1), { 1 }, { permutations = 4 }) end
samples.FCInfo = function()
  local _, info = nl.fc.clean(X:cols_at(1, 3), { detrend = 0 })
  return info
end

-- Models: their learned fields end with "_" (everything else there is a user's choice).
local models = { Estimator = true, Pipeline = true, Transform = true, CVResult = true, Prediction = true, LMM = true }
local user_choices = { LMM = { formula = true, reml = true, df_method = true } }
-- Types whose fields are data the user names (a Table's columns).
local dynamic = { Table = true }

local objects = {}
for name, make in pairs(samples) do
  local ok, obj = pcall(make)
  T.test(name .. ": a sample object can be made", function() T.truthy(ok, tostring(obj)) end)
  if ok then objects[name] = obj end
end

-- Every neurolua type in the registry (types made lazily are there after the samples).
local registered = {}
for k, v in pairs(debug.getregistry()) do
  if type(k) == "string" and k:match("^neurolua%.") and type(v) == "table" and rawget(v, "__name") == k then
    registered[#registered + 1] = k:sub(10)
  end
end
table.sort(registered)

T.test("every registered type has a sample here", function()
  local missing = {}
  for _, name in ipairs(registered) do
    if not samples[name] then missing[#missing + 1] = name end
  end
  T.eq(#missing, 0, "types without a sample in test_conformance.lua: " .. table.concat(missing, ", "))
  T.truthy(#registered >= 23, "found " .. #registered .. " types")
end)

local function entry(key) return help.text(key) ~= nil end

for _, name in ipairs(registered) do
  local obj = objects[name]
  if obj ~= nil then
    T.test(name .. " follows the conventions of the Lua surface", function()
      local mt = getmetatable(obj)
      T.eq(rawget(mt, "__name"), "neurolua." .. name, "__name")
      T.eq(type(rawget(mt, "__tostring")), "function", "__tostring")
      T.truthy(not tostring(obj):match("^neurolua%.%w+: 0x"), "prints usefully: " .. tostring(obj))
      T.eq(type(rawget(mt, "__fields")), "function", "__fields")
      local fields = rawget(mt, "__fields")(obj)
      -- an unknown field raises, naming the type and listing the fields
      local err = T.raises(function() return obj.no_such_field end, name .. " has no field 'no_such_field'")
      if fields[1] then T.truthy(err:find("(fields: ", 1, true), name .. ": the error lists the fields: " .. err) end
      -- a near miss gets a did-you-mean
      local target = fields[1]
      if not target and type(rawget(mt, "__methods")) == "table" then target = next(rawget(mt, "__methods")) end
      if target and #target >= 3 then
        local typo = target .. target:sub(-1)  -- one letter too many: "sett" for "set"
        T.raises(function() return obj[typo] end, "did you mean '" .. target .. "'?")
      end
      for _, f in ipairs(fields) do
        T.truthy(pcall(function() return obj[f] end), name .. "." .. f .. " can be read")
        if not dynamic[name] then
          T.truthy(entry(name .. "." .. f), "no reference entry '### " .. name .. "." .. f .. "'")
        end
        if models[name] and not (user_choices[name] or {})[f] then
          T.truthy(f:sub(-1) == "_", name .. "." .. f .. ": a learned field ends with '_'")
        end
      end
      for m in pairs(rawget(mt, "__methods") or {}) do
        T.truthy(entry(name .. ":" .. m), "no reference entry '### " .. name .. ":" .. m .. "(...)'")
      end
    end)
  end
end

T.test("the learned state of every transform kind has a reference entry", function()
  for _, make in ipairs(transforms) do
    local t = make():fit(X, { covariates = cov })
    for k in pairs(t:state()) do
      T.truthy(k:sub(-1) == "_", t:name() .. ": " .. k .. " ends with '_'")
      T.truthy(entry("Transform." .. k), "no reference entry '### Transform." .. k .. "'")
      T.truthy(t[k] == t:state()[k], t:name() .. "." .. k .. " reads as in state()")
    end
  end
end)

T.test("a renamed field reads with a deprecation warning, once", function()
  local m = objects.Metrics
  T.eq(m.BAC, m.bac)
  T.eq(m.AUC, m.auc)
  local n = 0
  for _, w in ipairs(nl.deprecations()) do
    if w:find("Metrics.BAC is deprecated; use Metrics.bac", 1, true) then n = n + 1 end
  end
  T.eq(n, 1, "one warning for Metrics.BAC")
  T.truthy(objects.LMM.beta == objects.LMM.beta_, "LMM.beta reads LMM.beta_")
  local seen = false
  for _, w in ipairs(nl.deprecations()) do
    seen = seen or w:find("LMM.beta is deprecated; use LMM.beta_", 1, true) ~= nil
  end
  T.truthy(seen, "the LMM.beta warning is listed")
end)

T.test("reading a learned field before fit raises", function()
  T.raises(function() return nl.ml.svc{}.w_ end, "svc is not fitted: call fit first (w_ is learned by fit)")
  T.raises(function() return nl.ml.pipeline{ nl.ml.svc{} }.w_ end, "pipeline is not fitted")
  T.raises(function() return nl.ml.pca{ k = 2 }.loadings_ end, "pca is not fitted")
end)

T.test("metrics are ratios, printed as percentages", function()
  local m = objects.Metrics
  T.truthy(m.bac >= 0 and m.bac <= 1, "bac is a ratio: " .. m.bac)
  local pct = ("BAC %.1f %%"):format(100 * m.bac)
  T.truthy(tostring(m):find(pct, 1, true), tostring(m) .. " shows " .. pct)
end)

T.done()
