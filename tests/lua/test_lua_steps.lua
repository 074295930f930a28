-- Pipeline steps written in Lua (issue 19, item 3): a label-independent step inside
-- every fold equals the built-in step it re-implements; a label-dependent one is
-- refitted with every model (no selection leak); saved models refer to steps by name.
local T = require "testing"
local nl = require "neurolua"

-- min-max scaling to [-1, 1], as nl.ml.scale{} (ml/transform.cpp: 2 (x - min) / (max - min) - 1),
-- with matrix operations (Matrix:set is refused inside a step: no object may change while
-- a neurolua function runs).
local minmax = {
  name = "minmax",
  fit = function(self, X)
    self.lo, self.hi = X:min(1), X:max(1)
  end,
  transform = function(self, X)
    local one = nl.matrix.ones(X:rows(), 1)
    return (X - one * self.lo):cdiv(one * (self.hi - self.lo)) * 2 - nl.matrix.ones(X:rows(), X:cols())
  end,
  backproject = function(self, w)
    return w:cdiv((self.hi - self.lo):t()) * 2
  end,
}

-- A univariate filter: the k features with the largest |two-sample t| (label-dependent).
local fits = 0
local function top_t(k)
  return {
    name = "top_t",
    label_dependent = true,
    fit = function(self, X, y)
      fits = fits + 1
      local score = {}
      for j = 1, X:cols() do
        local s = { [1] = { 0, 0, 0 }, [-1] = { 0, 0, 0 } }
        for i = 1, X:rows() do
          local c, v = s[y:get(i, 1)], X:get(i, j)
          c[1], c[2], c[3] = c[1] + 1, c[2] + v, c[3] + v * v
        end
        local m1, m0 = s[1][2] / s[1][1], s[-1][2] / s[-1][1]
        local v1 = (s[1][3] - s[1][1] * m1 * m1) / (s[1][1] - 1)
        local v0 = (s[-1][3] - s[-1][1] * m0 * m0) / (s[-1][1] - 1)
        score[j] = { math.abs(m1 - m0) / math.sqrt(v1 / s[1][1] + v0 / s[-1][1]), j }
      end
      table.sort(score, function(a, b) return a[1] > b[1] or (a[1] == b[1] and a[2] < b[2]) end)
      self.keep = {}
      for i = 1, k do self.keep[i] = score[i][2] end
      table.sort(self.keep)
    end,
    transform = function(self, X) return X:cols_at(self.keep) end,
  }
end

local X = nl.matrix.randn(48, 6, 5)
local y = {}
for i = 1, 48 do y[i] = X:get(i, 1) - X:get(i, 2) + 0.3 * X:get(i, 4) > 0 and 1 or -1 end

T.test("a Lua step inside every fold equals the built-in step it re-implements", function()
  local opts = { outer = { 3, 2 }, inner = { 3, 1 }, seed = 7, permutations = 9 }
  local a = nl.cv.nested(nl.ml.pipeline{ nl.ml.scale{}, nl.ml.svc{ C = { 0.5, 2 } } }, X, y, opts)
  local b = nl.cv.nested(nl.ml.pipeline{ minmax, nl.ml.svc{ C = { 0.5, 2 } } }, X, y, opts)
  for i = 1, 48 do T.near(b.median_:get(i, 1), a.median_:get(i, 1), 1e-12, "median of subject " .. i) end
  T.eq(b.p_, a.p_)
  -- (the built-in leading scale stops the default back-projection; "raw" goes through it)
  local wa, wb = a:weights{ units = "raw" }, b:weights()
  for j = 1, 6 do T.near(wb.mean[j], wa.mean[j], 1e-9 * math.abs(wa.mean[j]), "back-projected through the Lua step") end
  -- the same on one and on two threads (a Lua step runs the CV on the calling thread)
  local before = nl.threads()
  nl.threads(2)
  local c = nl.cv.nested(nl.ml.pipeline{ minmax, nl.ml.svc{ C = { 0.5, 2 } } }, X, y, opts)
  nl.threads(before)
  T.truthy(c.median_ == b.median_, "bit-identical on 2 threads")
end)

T.test("a label-dependent Lua step is refitted with every model: no selection leak", function()
  -- Noise: 40 subjects, 1000 features, labels unrelated to them.
  local N = nl.matrix.randn(40, 1000, 11)
  local z = {}
  for i = 1, 40 do z[i] = i % 2 == 0 and 1 or -1 end
  -- Selecting on all subjects first, then cross-validating: optimistic.
  local step = top_t(10)
  local all = {}
  step.fit(step, N, nl.matrix{ z }:t())
  local leaky = nl.cv.nested(nl.ml.pipeline{ nl.ml.scale{}, nl.ml.svc{} }, N:cols_at(step.keep), z,
                             { outer = { 4, 1 }, inner = { 3, 1 }, seed = 3 })
  fits = 0
  local inside = nl.cv.nested(nl.ml.pipeline{ nl.ml.scale{}, top_t(10), nl.ml.svc{} }, N, z,
                              { outer = { 4, 1 }, inner = { 3, 1 }, seed = 3 })
  T.truthy(leaky.metrics_.bac > 0.75, "selection outside the CV looks good on noise: " .. leaky.metrics_.bac)
  T.truthy(math.abs(inside.metrics_.bac - 0.5) < 0.2, "inside the CV it is at chance: " .. inside.metrics_.bac)
  -- fits: one per CV1 partition (model selection) and one per CV2 fold (the base models
  -- share their rows with refit_preprocessing)
  T.eq(fits, 4 * 3 + 4)
  T.eq(#all, 0)
end)

T.test("the built-in filter in a nested CV equals the same filter written in Lua", function()
  local opts = { outer = { 3, 1 }, inner = { 3, 1 }, seed = 9, permutations = 5 }
  local a = nl.cv.nested(nl.ml.pipeline{ nl.ml.scale{}, nl.ml.filter{ score = "t", k = 3 }, nl.ml.svc{} }, X, y, opts)
  local b = nl.cv.nested(nl.ml.pipeline{ nl.ml.scale{}, top_t(3), nl.ml.svc{} }, X, y, opts)
  for i = 1, 48 do T.near(a.median_:get(i, 1), b.median_:get(i, 1), 1e-12, "subject " .. i) end
  T.eq(a.p_, b.p_)
  local w = a:weights()
  T.eq(#w.mean, 6, "weights back-projected through the filter to the 6 inputs")
  local path = T.tmpname(".model")
  a:save(path)
  T.truthy(nl.cv.load(path).median_ == a.median_, "saved and loaded")
  os.remove(path)
  T.raises(function() return nl.ml.pipeline{ nl.ml.filter{ k = 2 }, nl.ml.ridge{} } end,
    "the filter's score 'f_classif' is for two classes, but ridge is a regression")
end)

T.test("saved with the model by name; loading asks for the definition", function()
  local r = nl.cv.nested(nl.ml.pipeline{ minmax, top_t(4), nl.ml.svc{} }, X, y,
                         { outer = { 3, 1 }, inner = { 3, 1 }, seed = 2, permutations = 4 })
  local path = T.tmpname(".model")
  r:save(path)
  T.raises(function() return nl.cv.load(path) end, "uses the Lua step 'minmax'; give its definition when loading")
  local l = nl.cv.load(path, { steps = { minmax = minmax, top_t = top_t(4) } })
  T.truthy(l.median_ == r.median_, "the same medians")
  local Xn = nl.matrix.randn(5, 6, 8)
  T.truthy(l:apply(Xn).median_ == r:apply(Xn).median_, "the same predictions")
  T.raises(function() return nl.cv.load(path, { steps = { minmax = minmax, top_t = minmax } }) end,
    "saved as label-dependent")
  T.raises(function() return nl.cv.load(path, { steps = { minmax = 3 } }) end, "maps step names to Lua step definitions")
  os.remove(path)
end)

T.test("a Lua step in Pipeline:fit and decision, and its errors", function()
  local p = nl.ml.pipeline{ minmax, top_t(3), nl.ml.svc{} }:fit(X, y)
  T.eq(p:decision(X):rows(), 48)
  T.truthy(tostring(p):find("Lua step 'top_t' (label-dependent)", 1, true), tostring(p))
  T.raises(function() return p:step(1) end, "is the Lua step 'minmax'")
  T.raises(function() return nl.ml.pipeline{ { fit = function() end, transform = function() end }, nl.ml.svc{} } end,
    "needs name =")
  T.raises(function() return nl.ml.pipeline{ { name = "x", fit = function() end }, nl.ml.svc{} } end,
    "needs transform = function")
  T.raises(function() return nl.ml.pipeline{ top_t(2), minmax, nl.ml.svc{} } end,
    "a label-independent transform must come before the label-dependent ones")
  T.raises(function() return nl.ml.pipeline{ top_t(2), nl.ml.forward_select{}, nl.ml.svc{} } end,
    "forward_select cannot follow a label-dependent step")
  local broken = { name = "broken", fit = function() error("no luck") end, transform = function(_, X) return X end }
  T.raises(function() return nl.cv.nested(nl.ml.pipeline{ broken, nl.ml.svc{} }, X, y) end,
    "Lua step 'broken': fit:")
  local short = { name = "short", fit = function() end, transform = function(_, X) return X:rows_at(1, 2) end }
  T.raises(function() return nl.ml.pipeline{ short, nl.ml.svc{} }:fit(X, y) end, "transform returned 2 rows for 48")
  local bad = { name = "bad", fit = function(self) self.f = print end, transform = function(_, X) return X end }
  local r = nl.cv.nested(nl.ml.pipeline{ bad, nl.ml.svc{} }, X, y, { outer = { 3, 1 }, inner = { 3, 1 } })
  T.raises(function() return r:save(T.tmpname(".model")) end, "field 'f' is a function")
end)

T.done()
