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
  T.truthy(r.metrics_.BAC > 0.7, "signal found: " .. r.metrics_.BAC)
  T.eq(r.p_, nil, "no permutations asked")
  T.truthy(tostring(r):find("BAC", 1, true))
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
  for i = 1, 9 do if r.permutation_bac_:get(i, 1) >= r.metrics_.BAC then count = count + 1 end end
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
  T.raises(function() return nl.cv.nested(pipe, X, y, { mode = "fast" }) end, "\"neurominer\" or \"full\"")
  T.raises(function() return nl.cv.nested(pipe, X, y, { seeds = 1 }) end, "unknown option 'seeds'")
  T.raises(function() return nl.cv.nested(X, X, y) end, "neurolua.Pipeline expected")
end)

T.done()
