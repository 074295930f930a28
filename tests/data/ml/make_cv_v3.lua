-- Writes cv_v3.model: a nested-CV result with a permutation test in model format
-- version 3 (neurolua before the estimators of issue 19 and format 4), for the test
-- that such files still load as the linear SVC scored by BAC (tests/lua/test_regression.lua).
-- Run with a neurolua of format version 3 (main at 2398257):
--   neurolua make_cv_v3.lua
-- It also prints the numbers the test checks.
local nl = require "neurolua"
local X = nl.matrix.randn(36, 5, 21)
local y = {}
for i = 1, 36 do y[i] = X:get(i, 1) - 0.5 * X:get(i, 3) > 0 end
local pipe = nl.ml.pipeline{ nl.ml.scale{}, nl.ml.svc{ C = { 0.25, 1, 4 } } }
local r = nl.cv.nested(pipe, X, y, { outer = { 3, 2 }, inner = { 3, 1 }, seed = 6, permutations = 19 })
r:save("cv_v3.model")
print(r)
print(string.format("median 1 %.17g, median 36 %.17g, p %.17g, bac %.17g", r.median_:get(1, 1), r.median_:get(36, 1),
  r.p_, r.metrics_.bac))
local Xn = nl.matrix.randn(4, 5, 22)
local p = r:apply(Xn)
print(string.format("apply %.17g %.17g %.17g %.17g", p.median_:get(1, 1), p.median_:get(2, 1), p.median_:get(3, 1),
  p.median_:get(4, 1)))
