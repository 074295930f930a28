-- Writes cv_v1.model: a small nested-CV result in model format version 1 (neurolua
-- before the class labels were stored), for the test that old files still load
-- (tests/lua/test_cv.lua). Run with a neurolua of format version 1 (main at b36ee2a):
--   neurolua make_cv_v1.lua
-- It also prints the numbers the test checks.
local nl = require "neurolua"
local X = nl.matrix.randn(24, 4, 7)
local y = {}
for i = 1, 24 do y[i] = X:get(i, 1) + 0.3 * X:get(i, 2) > 0 end
local pipe = nl.ml.pipeline{ nl.ml.scale{}, nl.ml.svc{ C = { 0.5, 2 } } }
local r = nl.cv.nested(pipe, X, y, { outer = { 3, 2 }, inner = { 2, 1 }, seed = 5, permutations = 5 })
r:save("cv_v1.model")
print(r)
for i = 1, 3 do print(i, string.format("%.17g", r.median_:get(i, 1))) end
-- Output at b36ee2a:
-- nested CV: 12 base models, 24 subjects, 4 features
--   TP 8  TN 12  FP 3  FN 1  ...  BAC 84.4 %  ...  AUC 0.956  p < 0.2 ((count+1)/(n+1) = 0.1667)
-- 1	0.42647440811590792
-- 2	-1.9420934010774444
-- 3	-0.13769574254667011
