-- Lesson 6: Nested CV and hyper-parameter choice
--
-- neurolua scripts/course/06_nested_cv.lua runs the whole lesson; in the REPL,
-- neurolua --course and then lesson(6) runs it step by step. Page: docs/course/06_nested_cv.md.
local nl = require "neurolua"
local course = nl.course

-- %% null: A cohort with nothing to find
-- The discovery cohort of the simulated ketamine study (99 patients, 116 AAL regional
-- volumes) with effect = 0: the brains carry no trace of response, so the right answer
-- for every model is chance, a balanced accuracy (BAC) of 50 %.
local p, truth, vol = nl.sim.ketamine{ seed = 1, effect = 0, cohorts = { "discovery" },
                                       dir = course.data("null"), overwrite = true }
local y = nl.study.response(p.madrs_pre, p.madrs_post)
local grid = nl.ml.pow2(-6, 4)
local function model(C)
  return nl.ml.pipeline{ nl.ml.scale{}, nl.ml.regress_out{ "age", "sex", "site", "tiv" }, nl.ml.svc{ C = C } }
end
local function log2(C) return math.floor(math.log(C, 2) + 0.5) end
local responders = 0
for i = 1, #y do if y[i] then responders = responders + 1 end end
print(("%d subjects (%d responders), %d regional volumes; %d values of C, 2^%d to 2^%d"):format(
  p:nrows(), responders, vol:ncols(), #grid, log2(grid[1]), log2(grid[#grid])))

-- %% flat: Choosing C by the test folds
-- One cross-validation per value of C: the same 3 folds x 5 repeats each time (seed 1).
-- With a single C there is nothing to choose, so the inner loop (kept small) is idle and
-- this is a plain repeated 3-fold CV. Then keep the C whose test folds scored best.
local flat, best = {}, 1
for k, C in ipairs(grid) do
  flat[k] = nl.cv.nested(model(C), vol, y, { covariates = p, seed = 1, inner = { 2, 1 } }).metrics_.bac
  if flat[k] > flat[best] then best = k end
  print(("C = 2^%-3d BAC %.1f %%"):format(log2(C), 100 * flat[k]))
end
print(("best: C = 2^%s, BAC %s %%"):format(course.fact("flat_best_log2C", log2(grid[best])),
  course.fact("flat_best_bac", 100 * flat[best], "%.1f")))

-- %% nested: Nested CV chooses C inside
-- The whole grid goes to nl.cv.nested: in each of the 15 CV2 training sets, an inner
-- 3 x 5 CV (CV1) scores every C, the best is retrained, and only then does the CV2 test
-- fold, which took no part in the choice, score it.
local r = nl.cv.nested(model(grid), vol, y, { covariates = p, seed = 1 })
print(r)
print(("nested CV: BAC %s %%"):format(course.fact("nested_bac", 100 * r.metrics_.bac, "%.1f")))

-- %% chosen: Which C the folds chose
-- chosen_C_ lists the C of each CV2 fold; inner_bac_ holds the mean CV1-test BAC of every
-- C in every CV2 fold (15 x 11). Its row maximum is the inner score of the chosen C.
local counts = {}
for _, C in ipairs(r.chosen_C_) do counts[C] = (counts[C] or 0) + 1 end
local times = {}
for k, C in ipairs(grid) do
  times[k] = counts[C] or 0
  if times[k] > 0 then print(("C = 2^%-3d chosen in %2d of %d CV2 folds"):format(log2(C), times[k], #r.chosen_C_)) end
end
local n_chosen = 0
for _ in pairs(counts) do n_chosen = n_chosen + 1 end
print(("%s different values of C chosen; inner BAC of the chosen C: mean %s %% over the CV2 folds"):format(
  course.fact("n_chosen", n_chosen), course.fact("inner_best_bac", 100 * r.inner_bac_:max(2):mean(), "%.1f")))
local x, names, series = {}, {}, {}
for k, C in ipairs(grid) do x[k], names[k] = log2(C), "2^" .. log2(C) end
for f = 1, r.inner_bac_:rows() do
  series[f] = { x = x, y = r.inner_bac_:row(f), colour = "gray", width = 0.8 }
end
series[#series + 1] = { x = x, y = r.inner_bac_:mean(1), colour = "black", width = 2.5, label = "mean of the 15 CV2 folds" }
nl.plot.figure{ path = course.figure("06_inner_bac.png"), rows = 1, cols = 2, width = 10, height = 4.2,
  title = "Null cohort: the inner CV's score of each C, and the C each CV2 fold chose",
  panels = {
    { kind = "lines", series = series, xlabel = "log2 C", ylabel = "mean CV1-test BAC", legend = "lower left" },
    { kind = "bars", names = names, values = times, horizontal = false, ylabel = "CV2 folds choosing it" },
  } }

-- %% many: Thirty null data sets
-- One data set cannot show a bias. The same 99 brains with labels drawn at random, 30
-- times: each a null data set. For each, the best of the flat CVs, the nested CV, and a
-- C fixed in advance (C = 1), which chooses nothing and so cannot be optimistic.
local best_of, nested, fixed = {}, {}, {}
local higher = 0
for s = 1, 30 do
  local u = nl.matrix.rand(p:nrows(), 1, 100 + s)
  local ys = {}
  for i = 1, p:nrows() do ys[i] = u:get(i, 1) < 0.5 end
  best_of[s] = 0
  for _, C in ipairs(grid) do
    local bac = nl.cv.nested(model(C), vol, ys, { covariates = p, seed = 1, inner = { 2, 1 } }).metrics_.bac
    best_of[s] = math.max(best_of[s], bac)
    if C == 1 then fixed[s] = bac end
  end
  nested[s] = nl.cv.nested(model(grid), vol, ys, { covariates = p, seed = 1 }).metrics_.bac
  if best_of[s] > nested[s] then higher = higher + 1 end
end
local function mean(v) local s = 0 for i = 1, #v do s = s + v[i] end return s / #v end
print(("mean BAC over 30 null data sets: best of the grid %s %%, nested %s %%, C = 1 fixed %s %%"):format(
  course.fact("many_flat", 100 * mean(best_of), "%.1f"), course.fact("many_nested", 100 * mean(nested), "%.1f"),
  course.fact("many_fixed", 100 * mean(fixed), "%.1f")))
print(("the best of the grid beat the nested CV in %s of 30 data sets"):format(course.fact("many_higher", higher)))
local function pct(v) local o = {} for i = 1, #v do o[i] = 100 * v[i] end return o end
nl.plot.box(course.figure("06_null_sets.png"), {
  { label = "best C of the grid, chosen on the test folds", values = pct(best_of) },
  { label = "nested CV", values = pct(nested) },
  { label = "C = 1, fixed in advance", values = pct(fixed) },
}, { ylabel = "BAC (%)", title = "30 null data sets: chance is 50 %", seed = 1 })

-- %% solution1: Exercise 1 — a cohort with a real effect
local p1, truth1, vol1 = nl.sim.ketamine{ seed = 1, effect = 1, cohorts = { "discovery" },
                                          dir = course.data("effect"), overwrite = true }
local y1 = nl.study.response(p1.madrs_pre, p1.madrs_post)
local flat1 = 0
for _, C in ipairs(grid) do
  flat1 = math.max(flat1, nl.cv.nested(model(C), vol1, y1, { covariates = p1, seed = 1, inner = { 2, 1 } }).metrics_.bac)
end
local r1 = nl.cv.nested(model(grid), vol1, y1, { covariates = p1, seed = 1 })
print(("best of the grid %.1f %%, nested %.1f %%"):format(100 * flat1, 100 * r1.metrics_.bac))
local c1 = {}
for i, C in ipairs(r1.chosen_C_) do c1[i] = "2^" .. log2(C) end
print("chosen C: " .. table.concat(c1, " "))

-- %% solution2: Exercise 2 — the more you try, the more you find
-- The BAC of every C of a wide grid, 2^-12 to 2^8, on 10 of the null data sets; then the
-- best over sub-grids of 1, 5, 11 and 21 values.
local wide = nl.ml.pow2(-12, 8)
local subgrids = { { 0, 0 }, { -2, 2 }, { -6, 4 }, { -12, 8 } }
local sums = { 0, 0, 0, 0 }
for s = 1, 10 do
  local u = nl.matrix.rand(p:nrows(), 1, 100 + s)
  local ys = {}
  for i = 1, p:nrows() do ys[i] = u:get(i, 1) < 0.5 end
  local bac = {}
  for _, C in ipairs(wide) do
    bac[log2(C)] = nl.cv.nested(model(C), vol, ys, { covariates = p, seed = 1, inner = { 2, 1 } }).metrics_.bac
  end
  for g, sub in ipairs(subgrids) do
    local m = 0
    for e = sub[1], sub[2] do m = math.max(m, bac[e]) end
    sums[g] = sums[g] + m / 10
  end
end
for g, sub in ipairs(subgrids) do
  print(("%2d values (2^%d to 2^%d): mean best BAC %.1f %%"):format(sub[2] - sub[1] + 1, sub[1], sub[2], 100 * sums[g]))
end
