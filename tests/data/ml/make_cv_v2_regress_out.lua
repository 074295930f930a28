-- Writes cv_v2_regress_out.model: a nested-CV result whose preprocessing regresses out
-- a text covariate (site), in model format version 2 (neurolua before regress_out
-- stored its unseen-level policy and the training proportions of each site), for the
-- test that such files still load with the policy "error" (tests/lua/test_cv.lua).
-- Site "E" has one subject, so the CV1 training rows of most base models lack it and
-- the old coder took its CV1-test and CV2-test rows for the reference site "A".
-- Run with a neurolua of format version 2 (main at 5aba9d7):
--   neurolua make_cv_v2_regress_out.lua
-- It also prints the numbers the test checks.
local nl = require "neurolua"
local n = 30
local X = nl.matrix.randn(n, 4, 11)
local y, ids, site, age = {}, {}, {}, {}
for i = 1, n do
  ids[i] = ("sub-%02d"):format(i)
  site[i] = i == n and "E" or ({ "A", "B", "C" })[(i - 1) % 3 + 1]  -- "E": one subject
  age[i] = 20 + (i * 7) % 41
  y[i] = X:get(i, 1) + 0.5 * X:get(i, 2) > 0
end
local cov = nl.table.new{ { "participant_id", ids }, { "site", site }, { "age", age } }
local pipe = nl.ml.pipeline{ nl.ml.regress_out{ "age", "site" }, nl.ml.scale{}, nl.ml.svc{ C = { 0.5, 2 } } }
local r = nl.cv.nested(pipe, X, y, { covariates = cov, outer = { 3, 1 }, inner = { 2, 1 }, seed = 3 })
r:save("cv_v2_regress_out.model")
print(r)
print(30, string.format("%.17g", r.median_:get(30, 1)))
-- New subjects: four of seen sites, two of a site "D" the old coder took for "A".
local Xn = nl.matrix.randn(6, 4, 12)
local cn = nl.table.new{ { "participant_id", { "new-1", "new-2", "new-3", "new-4", "new-5", "new-6" } },
                         { "site", { "A", "B", "C", "D", "D", "B" } }, { "age", { 25, 33, 41, 52, 60, 38 } } }
local p = r:apply(Xn, { covariates = cn })
for i = 1, 6 do print(i, string.format("%.17g", p.median_:get(i, 1))) end
-- Output at 5aba9d7:
-- nested CV: 6 base models, 30 subjects, 4 features
--   classes: +1 = true (15), -1 = false (15)
--   TP 13  TN 10  FP 5  FN 2  sensitivity 86.7 %  specificity 66.7 %  BAC 76.7 %  PPV 72.2 %  NPV 83.3 %  AUC 0.804  p n/a
-- 30	0.52329732967909703
-- 1	0.80883016089132531
-- 2	-0.64867102050123826
-- 3	-1.9343802444359253
-- 4	1.2983001257700237
-- 5	-1.0192300288015437
-- 6	2.0808967306473933
