-- Lesson 10: Power and sample size with the simulator
--
-- neurolua scripts/course/10_power.lua runs the whole lesson; in the REPL,
-- neurolua --course and then lesson(10) runs it step by step. Page: docs/course/10_power.md.
local nl = require "neurolua"
local course = nl.course

-- %% effect: What the effect multiplier means
-- nl.sim.ketamine's `effect` multiplies the planted separation of responders and
-- non-responders; effect = 1 is calibrated on the paper. The ground truth gives the
-- standardized difference (Cohen's d) that each planted region then has.
-- The atlas is loaded once and passed as an object, which saves its loading and
-- resampling in each of the many simulations below.
local effects = { 0, 0.5, 1 }
local aal = nl.atlas.load("aal")
local dir = course.data("power")
for _, e in ipairs(effects) do
  local _, truth = nl.sim.ketamine{ seed = 1, dir = dir, cohorts = { "discovery" }, effect = e, atlas = aal,
                                    resolution = 4, overwrite = true }
  if e == 0 then
    print(("effect %.1f: no planted region"):format(e))
  else
    print(("effect %.1f: %d planted regions, d from %s to %s"):format(e, truth:nrows(),
      course.fact(("d_min_%g"):format(10 * e), truth.effect_size:min(), "%.2f"),
      course.fact(("d_max_%g"):format(10 * e), truth.effect_size:max(), "%.2f")))
  end
end

-- %% design: The experiment
-- Six independent studies (simulator seeds 1-6) per effect size. From each study's 99
-- discovery patients, nested subsamples of 30, 50 and 70 (stratified by response), and
-- all 99. Each subsample gets a cheap nested CV (CV2 3 x 2, CV1 3 x 1) of a linear SVC
-- on the covariate-adjusted regions, with 100 permutations. In a CV1 training set of 13
-- subjects one sex or one site may be missing: unseen = "drop" corrects such test rows
-- for the training-average effect instead of stopping.
local studies, sizes = 6, { 30, 50, 70, 99 }
local function pipeline()
  return nl.ml.pipeline{ nl.ml.scale{ range = { -1, 1 } },
                         nl.ml.regress_out{ "age", "sex", "site", "tiv", unseen = "drop" },
                         nl.ml.svc{ C = nl.ml.pow2(-6, 4), weighting = "balanced" } }
end

-- Rows of a stratified subsample of size n: the first n_pos of a shuffled list of
-- responders and the first n - n_pos of a shuffled list of non-responders, so that the
-- subsample of 30 lies inside the one of 50, and so on.
local function shuffled_classes(response, seed)
  local u = nl.matrix.rand(#response, 1, seed)
  local pos, neg = {}, {}
  for i = 1, #response do
    local list = response[i] and pos or neg
    list[#list + 1] = i
  end
  local by_u = function(a, b) return u:get(a, 1) < u:get(b, 1) end
  table.sort(pos, by_u)
  table.sort(neg, by_u)
  return pos, neg
end
local function subsample(pos, neg, n)
  local n_pos = math.floor(n * #pos / (#pos + #neg) + 0.5)
  local rows = {}
  for i = 1, n_pos do rows[#rows + 1] = pos[i] end
  for i = 1, n - n_pos do rows[#rows + 1] = neg[i] end
  table.sort(rows)
  return rows
end
print(("%d effects x %d studies x %d sample sizes = %d nested CVs"):format(#effects, studies, #sizes,
  #effects * studies * #sizes))

-- %% run: Running it
-- bac[e][k] and p[e][k] list, over the studies, the BAC and permutation p at size k;
-- null[k] gathers the permutation BACs of the effect-0 studies at size k.
local bac, p, null = {}, {}, {}
for k = 1, #sizes do null[k] = {} end
for ei, e in ipairs(effects) do
  bac[ei], p[ei] = {}, {}
  for k = 1, #sizes do bac[ei][k], p[ei][k] = {}, {} end
  for s = 1, studies do
    local people, _, X = nl.sim.ketamine{ seed = s, dir = dir, cohorts = { "discovery" }, effect = e, atlas = aal,
                                          resolution = 4, overwrite = true }
    people.response = nl.study.response(people.madrs_pre, people.madrs_post)
    local pos, neg = shuffled_classes(people.response, 100 + s)
    for k, n in ipairs(sizes) do
      local rows = subsample(pos, neg, n)
      local t = people:take(rows)
      local r = nl.cv.nested(pipeline(), X:take(rows), t.response, { covariates = t, seed = 1, outer = { 3, 2 },
                                                                    inner = { 3, 1 }, permutations = 100 })
      bac[ei][k][s], p[ei][k][s] = r.metrics_.bac, r.p_
      if e == 0 then
        for i = 1, r.permutation_bac_:rows() do table.insert(null[k], r.permutation_bac_:get(i, 1)) end
      end
    end
  end
end
local function mean_sd(v)
  local m, ss = 0, 0
  for _, x in ipairs(v) do m = m + x end
  m = m / #v
  for _, x in ipairs(v) do ss = ss + (x - m) ^ 2 end
  return m, math.sqrt(ss / (#v - 1))
end
local function hits(v)
  local c = 0
  for _, x in ipairs(v) do if x < 0.05 then c = c + 1 end end
  return c
end
print("effect     n   mean BAC   SD (points)   p < 0.05")
for ei, e in ipairs(effects) do
  for k, n in ipairs(sizes) do
    local m, sd = mean_sd(bac[ei][k])
    print(("%6.1f  %4d     %5.1f %%      %5.1f      %d of %d"):format(e, n, 100 * m, 100 * sd, hits(p[ei][k]), studies))
  end
end

-- %% threshold: The bar a study must clear
-- The permutation nulls of the six effect-0 studies, pooled: 600 BACs per sample size.
-- A study reaches p < 0.05 when its BAC is above about their 95th percentile.
local threshold = {}
for k, n in ipairs(sizes) do
  table.sort(null[k])
  threshold[k] = null[k][math.ceil(0.95 * #null[k])]
  print(("n = %2d: 95th percentile of the null %s %%"):format(n,
    course.fact(("thr%d"):format(n), 100 * threshold[k], "%.1f")))
end

-- %% summary: What the table says
local function at(e, n)
  for ei, x in ipairs(effects) do
    for k, y in ipairs(sizes) do
      if x == e and y == n then return ei, k end
    end
  end
end
local function report(e, n, name)
  local ei, k = at(e, n)
  local m, sd = mean_sd(bac[ei][k])
  print(("effect %.1f, n = %d: BAC %s %% (SD %s), p < 0.05 in %s of %d studies"):format(e, n,
    course.fact(name .. "_bac", 100 * m, "%.1f"), course.fact(name .. "_sd", 100 * sd, "%.1f"),
    course.fact(name .. "_hits", hits(p[ei][k]), "%d"), studies))
end
report(0, 30, "null30")
report(0, 99, "null99")
report(0.5, 99, "half99")
report(1, 30, "one30")
report(1, 99, "one99")
local ei0, k30 = at(0, 30)
local largest = math.max(table.unpack(bac[ei0][k30]))
print(("largest null BAC at n = 30: %s %%"):format(course.fact("null30_max", 100 * largest, "%.1f")))

-- %% figures: BAC and power against n
-- One panel per effect: the mean BAC over the six studies with a band of +- 1 SD, the
-- bar of p < 0.05 (dashed) and chance (dotted), the legend in the first panel only; and
-- a last panel with the share of studies that cleared the bar.
local colours = { "gray", "C0", "C1" }
local panels, power = {}, {}
for ei, e in ipairs(effects) do
  local y, lo, hi, pw = {}, {}, {}, {}
  for k = 1, #sizes do
    local m, sd = mean_sd(bac[ei][k])
    y[k], lo[k], hi[k] = m, m - sd, m + sd
    pw[k] = hits(p[ei][k]) / studies
  end
  panels[ei] = { kind = "lines", title = ("effect %.1f"):format(e), ylim = { 0.3, 1 },
    legend = ei == 1 and "upper right" or false, xlabel = "subjects (n)", ylabel = "BAC (mean +- SD)", series = {
      { x = sizes, y = y, band = { lo = lo, hi = hi }, colour = colours[ei], label = "nested-CV BAC" },
      { x = sizes, y = threshold, colour = "black", style = "dashed", label = "p < 0.05 above this" },
      { x = { 30, 99 }, y = { 0.5, 0.5 }, colour = "black", style = "dotted", label = "chance" } } }
  power[ei] = { x = sizes, y = pw, colour = colours[ei], label = ("effect %.1f"):format(e) }
end
panels[#panels + 1] = { kind = "lines", series = power, title = "power", xlabel = "subjects (n)",
                        ylabel = "share of studies with p < 0.05", ylim = { -0.05, 1.05 }, legend = "upper left" }
nl.plot.figure{ path = course.figure("10_bac_vs_n.png"), rows = 2, cols = 2, width = 9, height = 7.5,
                title = "Nested-CV BAC and power against sample size (6 studies per point)", panels = panels }
print(("figure: %d effects and the power, %d sample sizes"):format(#effects, #sizes))

-- %% solution1: Exercise 1 — the bar from a formula
-- Under the null, an accuracy of n independent guesses has SD 0.5 / sqrt(n).
for k, n in ipairs(sizes) do
  print(("n = %2d: permutation null %4.1f %%, 0.5 + 1.645 x 0.5 / sqrt(n) = %4.1f %%"):format(n, 100 * threshold[k],
    100 * (0.5 + 1.645 * 0.5 / math.sqrt(n))))
end

-- %% solution2: Exercise 2 — the winner's curse
for ei, e in ipairs(effects) do
  local all, won = bac[ei][1], {}                          -- n = 30
  for s = 1, studies do
    if p[ei][1][s] < 0.05 then won[#won + 1] = bac[ei][1][s] end
  end
  local m_all = mean_sd(all)
  print(("effect %.1f, n = 30: mean BAC of all 6 studies %.1f %%; of the %d with p < 0.05: %s"):format(e, 100 * m_all,
    #won, #won > 0 and ("%.1f %%"):format(100 * mean_sd(won)) or "none"))
end
