-- Tests of nl.stats from Lua: the GLM and designs against statsmodels fixtures,
-- permutation inference (fields, determinism over threads, blocks), the classical tests
-- and ROC against scipy/R/pROC fixtures, printing, option checks and error messages.
local T = require "testing"
local nl = require "neurolua"
local data = os.getenv("NL_TEST_DATA")

local fixture = require "fixture"  -- tests/data/{glm,permutation,stats,cluster}

local function column(rows, j)
  local v = {}
  for i, r in ipairs(rows) do v[i] = r[j or 1] end
  return v
end

local function rel(got, want, tol, what)
  if want ~= want then T.truthy(got ~= got, what .. ": expected NaN") return end
  T.near(got, want, tol, what)
end

T.test("glm: t and F equal statsmodels OLS, from a Matrix and a list of rows", function()
  local f = fixture("glm/full_rank.txt")
  local X, Y = nl.matrix(f.X), nl.matrix(f.Y)
  local r = nl.stats.glm(Y, X, f.c1[1])
  T.eq(r.test, "t"); T.eq(r.df, 36); T.eq(r.rank, 4); T.eq(r.tests, 6); T.eq(r.n, 40)
  for j = 1, 6 do
    rel(r.effect:get(j, 1), f.t1[j][1], 1e-10, "effect")
    rel(r.t:get(j, 1), f.t1[j][3], 1e-10, "t")
    rel(r.p:get(j, 1), f.t1[j][4], 1e-10, "p")
  end
  T.eq(r.stat:get(2, 1), r.t:get(2, 1))
  local F = nl.stats.glm(f.Y, f.X, f.C3)  -- lists of rows everywhere
  T.eq(F.test, "F"); T.eq(F.df1, 3)
  for j = 1, 6 do
    rel(F.F:get(j, 1), f.F3[j][1], 1e-10, "F")
    rel(F.p:get(j, 1), f.F3[j][2], 1e-10, "p(F)")
  end
  T.eq(r.beta:rows(), 4); T.eq(r.beta:cols(), 6)
  T.eq(r.table:nrows(), 6)
  T.near(r.table.p[3], r.p:get(3, 1), 0)
  local q = nl.stats.fdr(r.p)
  for j = 1, 6 do T.eq(r.p_fdr:get(j, 1), q:get(j, 1)) end
end)

T.test("glm: a Table of responses names the tests", function()
  local f = fixture("glm/full_rank.txt")
  local cols = {}
  for j = 1, 6 do cols[j] = { "edge" .. j, column(f.Y, j) } end
  local r = nl.stats.glm(nl.table.new(cols), f.X, f.c1[1])
  T.eq(r.names[4], "edge4")
  T.eq(r.table.name[6], "edge6")
  rel(r.t:get(6, 1), f.t1[6][3], 1e-10, "t")
  T.truthy(tostring(r):find("edge6", 1, true), "strongest test printed by name: " .. tostring(r))
  local bad = nl.table.new{ { "a", column(f.Y, 1) }, { "site", (function() local v = {} for i = 1, #f.Y do v[i] = "s" end return v end)() } }
  T.raises(function() nl.stats.glm(bad, f.X, f.c1[1]) end, "bad argument #1 to 'glm' (data: ")
end)

T.test("glm: rank-deficient design, non-estimable contrast", function()
  local f = fixture("glm/rank_deficient.txt")
  local r = nl.stats.glm(f.Y, f.X, f.c1[1])
  T.eq(r.rank, 3); T.eq(r.df, 27)
  for j = 1, 3 do rel(r.t:get(j, 1), f.t1[j][3], 1e-10, "t") end
  T.raises(function() nl.stats.glm(f.Y, f.X, {0, 1, 0, 0}) end, "bad argument #3 to 'glm' (contrast is not estimable")
  -- Issue 20, item 4: called with no name at the call site (pcall(f, ...), a C caller),
  -- the function was '?'; it is found in package.loaded under "nl.stats" now.
  local ok, e = pcall(nl.stats.glm, f.Y, f.X, { 0, 1, 0, 0 })
  T.truthy(not ok and e:find("bad argument #3 to 'nl.stats.glm' (contrast is not estimable", 1, true), e)
  ok, e = pcall(nl.ml.pipeline, {})
  T.truthy(not ok and e:find("to 'nl.ml.pipeline'", 1, true), e)
end)

T.test("designs: two-sample with covariates from a Table equals the fixture design", function()
  local f = fixture("glm/designs.txt")
  local cov = nl.table.new{ { "age", column(f.cov, 1) }, { "sex", column(f.cov, 2) } }
  local d = nl.stats.design_two_sample(column(f.group), { covariates = cov, levels = {0, 1} })
  T.eq(d.names[3], "age"); T.eq(d.scheme, "permute"); T.eq(d.description, "two-sample: 0 - 1")
  for i = 1, #f.X do
    for j = 1, 4 do T.near(d.X:get(i, j), f.X[i][j], 1e-12) end
  end
  local r = nl.stats.glm(f.Y, d)
  for j = 1, 2 do rel(r.t:get(j, 1), f.t1[j][3], 1e-10, "t") end
  T.truthy(tostring(d):find("contrast [1 -1 0 0]; inference by permutations", 1, true), tostring(d))
  -- Reversed levels flip the sign of t.
  local d2 = nl.stats.design_two_sample(column(f.group), { covariates = cov, levels = {1, 0} })
  T.near(nl.stats.glm(f.Y, d2).t:get(1, 1), -r.t:get(1, 1), 1e-12)
  T.raises(function() nl.stats.design_two_sample({1, 2, 3}) end, "group has 3 distinct value(s)")
  T.raises(function() nl.stats.design_two_sample(column(f.group), { levels = {0, 7} }) end, "'7' is not a level")
  T.raises(function() nl.stats.design_two_sample(column(f.group), { covariate = cov }) end,
           "unknown option 'covariate' for design_two_sample")
  local sexes = {}
  for i = 1, #f.X do sexes[i] = i % 2 == 0 and "F" or "M" end
  T.raises(function() nl.stats.design_two_sample(column(f.group), { covariates = nl.table.new{ { "sex", sexes } } }) end,
           "bad argument #2 to 'design_two_sample' (covariates: ")
  local one = nl.stats.design_one_sample(#f.X, { covariates = nl.matrix(f.cov):col(1) })
  T.eq(one.scheme, "signflip")
  local r1 = nl.stats.glm(f.Y1, one)
  for j = 1, 2 do rel(r1.t:get(j, 1), f.t_one[j][3], 1e-10, "one-sample t") end
end)

T.test("paired design: long and stacked forms agree with the one-sample t of differences", function()
  local pre, post, diff = nl.matrix.randn(8, 3, 1), nl.matrix.randn(8, 3, 2), nil
  diff = pre - post
  local stacked = nl.matrix.vcat(pre, post)
  local subject, cond = {}, {}
  for i = 1, 16 do subject[i] = "s" .. ((i - 1) % 8 + 1); cond[i] = i <= 8 and "pre" or "post" end
  local long = nl.stats.design_paired(subject, cond, { levels = {"pre", "post"} })
  local short = nl.stats.design_paired(8)
  T.eq(#long.blocks, 16)
  local a = nl.stats.glm(stacked, long, { permutations = 500, seed = 3 })
  local b = nl.stats.glm(stacked, short, { permutations = 500, seed = 3 })
  local c = nl.stats.glm(diff, nl.stats.design_one_sample(8), { permutations = 500, seed = 3 })
  T.eq(a.permutations, 256); T.eq(a.exhaustive, true)  -- 2^8 swaps, all of them
  T.eq(c.permutations, 256); T.eq(c.scheme, "signflip")
  for j = 1, 3 do
    T.near(a.t:get(j, 1), c.t:get(j, 1), 1e-10)
    T.near(b.t:get(j, 1), c.t:get(j, 1), 1e-10)
    T.eq(a.p_perm:get(j, 1), c.p_perm:get(j, 1))  -- the same 256 rearrangements
    T.eq(a.p_fwe:get(j, 1), b.p_fwe:get(j, 1))
  end
  T.raises(function() nl.stats.design_paired(subject, {"pre", "pre", "post"}) end, "3 conditions for 16 subjects")
end)

T.test("permutations: fields, identity counted, same result on 1 and 2 threads", function()
  local f = fixture("permutation/two_sample.txt")
  local before = nl.threads()
  nl.threads(1)
  local r1 = nl.stats.glm(f.Y, f.X, f.C[1], { permutations = 700, seed = 9 })
  nl.threads(2)
  local r2 = nl.stats.glm(f.Y, f.X, f.C[1], { permutations = 700, seed = 9 })
  nl.threads(before)
  T.eq(r1.permutations, 700); T.eq(r1.seed, 9); T.eq(r1.exhaustive, false)
  T.eq(r1.max_stat:rows(), 700)
  for j = 1, r1.tests do
    T.eq(r1.p_fwe:get(j, 1), r2.p_fwe:get(j, 1))
    T.eq(r1.p_perm:get(j, 1), r2.p_perm:get(j, 1))
    T.truthy(r1.p_perm:get(j, 1) >= 1 / 700, "identity counted")
    T.truthy(r1.p_fwe:get(j, 1) >= r1.p_perm:get(j, 1), "FWE p >= uncorrected p")
  end
  for k = 1, 700 do T.eq(r1.max_stat:get(k, 1), r2.max_stat:get(k, 1)) end
  local s = tostring(r1)
  T.truthy(s:find("Freedman-Lane, 700 permutations (permute, seed 9)", 1, true), s)
  T.truthy(s:find("p_fwe", 1, true) and s:find("strongest", 1, true), s)
  T.eq(r1.table:ncols(), 10)  -- name, effect, se, t, p, p_fdr, p_perm, p_fwe, p_perm_fdr, p_fwe_gamma
  -- The right tail: randomise's one-sided p for the contrast direction.
  local right = nl.stats.glm(f.Y, f.X, f.C[1], { permutations = 700, seed = 9, tail = "right" })
  T.eq(right.tail, "right")
  T.truthy(tostring(right):find("(right tail)", 1, true))
end)

T.test("permutations within blocks never move a row out of its block", function()
  local f = fixture("permutation/blocks.txt")
  -- With one block per row nothing can move: every rearrangement is the identity.
  local blocks = {}
  for i = 1, #f.Y do blocks[i] = "b" .. i end
  local r = nl.stats.glm(f.Y, f.X, f.C[1], { permutations = 50, seed = 1, blocks = blocks })
  T.eq(r.permutations, 1); T.eq(r.exhaustive, true)
  for j = 1, r.tests do T.eq(r.p_fwe:get(j, 1), 1) end
  local sites = column(f.blocks)
  local s = nl.stats.glm(f.Y, f.X, f.C[1], { permutations = 2000, seed = 1, blocks = sites })
  T.eq(s.blocks, 3)
  T.truthy(s.p_fwe:get(2, 1) < 0.05, "planted effect found within sites")  -- numpy: 0.0101
end)

T.test("cluster inference on a mask: clusters, maps and FWE p", function()
  local f = fixture("cluster/perm.txt")
  local mask = nl.volume.load(data .. "/cluster/mask.nii.gz")
  local r = nl.stats.glm(f.Y, f.X, f.C[1], { permutations = 2000, seed = 5,
                                              cluster = { mask = mask, threshold = 2.0 } })
  T.eq(r.clusters:nrows(), #f.sizes[1])
  for c = 1, #f.sizes[1] do T.eq(r.clusters.size[c], f.sizes[1][c]) end
  -- The largest cluster: numpy's FWE p from 200 rearrangements is 0.125; ours from
  -- 2000 lies within Monte-Carlo error (sd about 0.025).
  T.truthy(math.abs(r.clusters.p_fwe[1] - f.p_fwe[1][1]) < 0.08, "FWE p " .. r.clusters.p_fwe[1])
  T.eq(r.max_cluster:rows(), 2000)
  T.eq(r.connectivity, 26); T.eq(r.cluster_threshold, 2.0)
  -- Maps: the labels and the statistic at the mask's voxels, in storage order.
  local labels, stat = r.cluster_map:values(mask), r.stat_map:values(mask)
  for j = 1, #f.labels[1] do
    T.eq(labels:get(j, 1), f.labels[1][j])
    T.near(math.abs(stat:get(j, 1)), f.T[1][j], 1e-6)  -- float32 map
  end
  -- The peak of cluster 1 in voxel and world coordinates (2 mm, origin (-10, -8, -4)).
  local c = r.clusters:row(1)
  T.eq(r.cluster_map:get(c.i, c.j, c.k), 1)
  T.near(c.x, -10 + 2 * (c.i - 1), 1e-9); T.near(c.z, -4 + 2 * (c.k - 1), 1e-9)
  T.near(r.stat_map:get(c.i, c.j, c.k), c.peak, 1e-6)
  local best
  for j = 1, #f.labels[1] do
    if f.labels[1][j] == 1 and (not best or f.T[1][j] > f.T[1][best]) then best = j end
  end
  T.near(c.peak, r.t:get(best, 1), 0)
  T.near(c.peak_p, r.p:get(best, 1), 0)
  T.truthy(tostring(r):find("clusters (|t| >= 2, 26-connectivity): " .. #f.sizes[1], 1, true), tostring(r))
  -- A cluster-forming p: two-sided p = 0.05 is |t| >= t(0.975, 13).
  local q = nl.stats.glm(f.Y, f.X, f.C[1], { cluster = { mask = mask, p = 0.05, connectivity = 6 } })
  T.near(q.cluster_threshold, 2.1603686564627917, 1e-14)  -- R qt(0.975, 13)
  T.eq(q.connectivity, 6)
  T.truthy(q.clusters.p_fwe[1] ~= q.clusters.p_fwe[1], "no permutations: NaN cluster p")
  -- Cluster mass: the same clusters, each scored by the sum of |t| over it (numpy).
  local ms = nl.stats.glm(f.Y, f.X, f.C[1], { permutations = 2000, seed = 5,
                                               cluster = { mask = mask, threshold = 2.0, statistic = "mass" } })
  T.eq(ms.cluster_statistic, "mass"); T.eq(r.cluster_statistic, "extent")
  for c = 1, #f.mass[1] do T.near(ms.clusters.mass[c], f.mass[1][c], 1e-9 * f.mass[1][c]) end
  T.truthy(math.abs(ms.clusters.p_fwe[1] - f.mass_p_fwe[1][1]) < 0.08, "mass FWE p " .. ms.clusters.p_fwe[1])
  T.truthy(tostring(ms):find("26-connectivity, by mass): " .. #f.sizes[1], 1, true), tostring(ms))
  T.raises(function() nl.stats.glm(f.Y, f.X, f.C[1], { cluster = { mask = mask, p = 0.01, statistic = "size" } }) end,
           "option 'statistic' must be one of extent, mass")
  T.raises(function() nl.stats.glm(f.Y, f.X, f.C[1], { cluster = { mask = mask } }) end, "needs exactly one of 'p'")
  T.raises(function() nl.stats.glm(f.Y, f.X, f.C[1], { cluster = { mask = mask, p = 0.01, conectivity = 6 } }) end,
           "bad argument #4 to 'glm' (unknown option 'conectivity' for option 'cluster'; expected one of: mask, p, threshold, connectivity, statistic; did you mean 'connectivity'?")
  T.raises(function() nl.stats.glm(nl.matrix(f.Y):cols_at(1, 10), f.X, f.C[1], { cluster = { mask = mask, p = 0.01 } }) end,
           "the mask has " .. #f.tests[1] .. " voxels but the data have 10 columns")
end)

T.test("glm errors name the argument", function()
  local X = nl.matrix.ones(10, 2)
  for i = 1, 10 do X:set(i, 2, i % 2) end
  local Y = nl.matrix.randn(10, 4, 1)
  T.raises(function() nl.stats.glm(Y, X:rows_at(1, 9), {0, 1}) end, "bad argument #2 to 'glm' (design has 9 rows but the data have 10)")
  local bad = Y:clone(); bad:set(4, 2, 0 / 0)
  T.raises(function() nl.stats.glm(bad, X, {0, 1}) end, "bad argument #1 to 'glm' (data: entry (row 4, column 2) is NaN)")
  T.raises(function() nl.stats.glm(Y, X, {0, 1, 0}) end, "contrast has 3 entries but the design has 2 columns")
  T.raises(function() nl.stats.glm(Y, X, {0, 0}) end, "contrast is all zero")
  T.raises(function() nl.stats.glm(Y, X, {{0, 1}, {0, 2}}) end, "F contrast rows are linearly dependent")
  T.raises(function() nl.stats.glm(Y:rows_at(1, 2), X:rows_at(1, 2), {0, 1}) end, "too few observations")
  T.raises(function() nl.stats.glm(Y, X, {0, 1}, { permutation = 10 }) end, "unknown option 'permutation' for glm")
  T.raises(function() nl.stats.glm(Y, X, {0, 1}, { scheme = "flip" }) end, "option 'scheme' must be one of")
  T.raises(function() nl.stats.glm(Y, X, {0, 1}, { blocks = {1, 2} }) end, "blocks has 2 entries but the data have 10 rows")
  T.raises(function() nl.stats.glm(Y, X, {{0, 1}}, { tail = "right" }) end, "option 'tail' applies to t contrasts only")
  T.raises(function() nl.stats.glm(Y, X) end, "bad argument #3 to 'glm' (contrast expected")
  T.raises(function() nl.stats.glm(Y, X, {0, 1}, { permutations = -1 }) end, "option 'permutations' must be between 0 and 100000000, got -1")
end)

T.test("classical tests equal scipy and R", function()
  local f = fixture("stats/classical.txt")
  local r = fixture("stats/r_classical.txt")
  local x, y = column(f.corr_x), column(f.corr_y)
  local tails = {"two", "right", "left"}
  for a = 1, 3 do
    local p = nl.stats.pearson(x, y, { tail = tails[a] })
    local s = nl.stats.spearman(column(f.corr_xt), column(f.corr_yt), { tail = tails[a] })
    T.near(p.r, f.corr_ref[a][1], 1e-12); rel(p.p, f.corr_ref[a][2], 1e-10, "pearson p")
    T.near(p.ci[1], r.pearson_ci[a][3], 1e-12); T.near(p.ci[2], r.pearson_ci[a][4], 1e-12)
    T.near(s.r, f.corr_ref[3 + a][3], 1e-12); rel(s.p, f.corr_ref[3 + a][4], 1e-10, "spearman p")
  end
  local tx, ty, tz = column(f.t_x), column(f.t_y), column(f.t_z)
  local st = nl.stats.ttest_two(tx, ty)
  local we = nl.stats.ttest_two(tx, ty, { welch = true })
  local pa = nl.stats.ttest_paired(tx, tz)
  local on = nl.stats.ttest_one(tx, { mu = 0.3 })
  for k, res in ipairs{ st, we, pa, on } do
    T.near(res.t, f.t_ref[1][2 * k - 1], 1e-12)
    rel(res.p, f.t_ref[1][2 * k], 1e-10, res.method)
  end
  T.near(we.df, r.welch[1][2], 1e-12); T.near(we.ci[1], r.welch[1][3], 1e-12)
  T.near(on.estimate, r.one[1][1], 1e-12)
  local c = nl.stats.chi2(f.chi_22)
  T.near(c.chi2, f.chi_ref[1][1], 1e-12); rel(c.p, f.chi_ref[1][2], 1e-10, "chi2 p"); T.eq(c.correction, true)
  local c2 = nl.stats.chi2(nl.matrix(f.chi_34), { correction = false })
  T.near(c2.chi2, f.chi_ref[4][1], 1e-12); T.eq(c2.df, 6)
  local a = nl.stats.anova_rm(nl.matrix(f.rm_Y))
  T.near(a.F, f.rm_ref[1][1], 1e-12); rel(a.p, f.rm_ref[1][4], 1e-10, "anova p"); T.eq(a.df2, 33)
  local b = nl.stats.bonferroni(column(f.bonf_p))
  for i = 1, #f.bonf_p do rel(b:get(i, 1), r.bonferroni[i][1], 1e-15, "bonferroni") end
  T.truthy(tostring(we):find("Welch two-sample t-test: t(37.97) = ", 1, true), tostring(we))
  T.truthy(tostring(c):find("with Yates' correction: X-squared(1) = ", 1, true), tostring(c))
  T.truthy(tostring(a):find("F(3, 33)", 1, true), tostring(a))
end)

T.test("chi2 on two label vectors cross-tabulates them", function()
  local a = {"m", "f", "m", "m", "f", "f", "m", "f", "f", "m"}
  local b = {true, true, false, true, false, false, true, false, true, true}
  local r = nl.stats.chi2(a, b, { correction = false })
  T.eq(r.rows[1], "f"); T.eq(r.columns[2], "true")
  T.eq(r.observed:get(1, 1), 3); T.eq(r.observed:get(2, 2), 4)  -- f & false, m & true
  local same = nl.stats.chi2(r.observed, { correction = false })
  T.eq(r.chi2, same.chi2)
end)

T.test("roc equals pROC (AUC, DeLong CI, Youden) and prints", function()
  local f = fixture("stats/classical.txt")
  local r = fixture("stats/roc.txt")
  local x = nl.stats.roc(column(f.roc1_s), column(f.roc1_y))
  T.near(x.auc, r.roc1_less_auc[1][1], 1e-12)
  T.near(x.ci[1], r.roc1_less_auc[1][2], 1e-12); T.near(x.ci[2], r.roc1_less_auc[1][3], 1e-12)
  T.eq(x.threshold, r.roc1_less_youden[1][1]); T.eq(x.sensitivity, r.roc1_less_youden[1][2])
  T.eq(x.specificity, r.roc1_less_youden[1][3])
  T.eq(x.curve.thresholds:rows(), #r.roc1_less_curve)
  local auto = nl.stats.roc(column(f.roc4_s), column(f.roc4_y), { direction = "auto" })
  T.eq(auto.direction, ">")
  T.near(auto.auc, r.roc4_auto_auc[1][1], 1e-12)
  -- Booleans work as labels (true = case).
  local bools = {}
  for i, v in ipairs(column(f.roc1_y)) do bools[i] = v == 1 end
  T.eq(nl.stats.roc(column(f.roc1_s), bools).auc, x.auc)
  T.truthy(tostring(x):find("(DeLong); Youden cut-off", 1, true), tostring(x))
  T.raises(function() nl.stats.roc({1, 2}, {1, 1}) end, "ROC needs both classes")
  T.raises(function() nl.stats.roc({1, 2, 3}, {1, -1}) end, "2 labels for 3 scores")
  T.raises(function() nl.stats.roc({1, 2}, {1, -1}, { direction = "up" }) end, "option 'direction' must be one of")
end)

T.test("roc band: pROC ci.se within Monte-Carlo error, seeded, optional", function()
  local f = fixture("stats/classical.txt")
  local ref = fixture("stats/roc_band.txt").roc1_less_cise
  local sp = {}
  for i, row in ipairs(ref) do sp[i] = row[1] end
  local x = nl.stats.roc(column(f.roc1_s), column(f.roc1_y), { band = sp, boot = 4000, seed = 11 })
  local step = 1 / x.cases
  for i, row in ipairs(ref) do
    T.eq(x.band.specificity:get(i, 1), row[1])
    T.truthy(math.abs(x.band.lower:get(i, 1) - row[2]) <= step + 1e-12, ("lower at %g: %g vs %g"):format(row[1], x.band.lower:get(i, 1), row[2]))
    T.truthy(math.abs(x.band.upper:get(i, 1) - row[4]) <= step + 1e-12, ("upper at %g: %g vs %g"):format(row[1], x.band.upper:get(i, 1), row[4]))
  end
  T.eq(x.band.boot, 4000); T.eq(x.band.seed, 11); T.eq(x.band.level, 0.95)
  T.truthy(tostring(x.band):find("4000 stratified bootstrap replicates, seed 11", 1, true), tostring(x.band))
  local again = nl.stats.roc(column(f.roc1_s), column(f.roc1_y), { band = sp, boot = 4000, seed = 11 })
  for i = 1, #sp do T.eq(again.band.lower:get(i, 1), x.band.lower:get(i, 1)) end
  T.eq(nl.stats.roc(column(f.roc1_s), column(f.roc1_y), { band = true, boot = 10 }).band.specificity:rows(), 51)
  T.eq(nl.stats.roc(column(f.roc1_s), column(f.roc1_y)).band, nil)
  T.raises(function() nl.stats.roc({1, 2}, {1, -1}, { boot = 10 }) end, "option 'boot' applies to the band")
  T.raises(function() nl.stats.roc({1, 2}, {1, -1}, { band = {0.5, 2} }) end, "option 'band': entry 2 is 2")
  T.raises(function() nl.stats.roc({1, 2}, {1, -1}, { band = true, boot = 1 }) end, "boot")
end)

T.test("classical test errors name the argument", function()
  T.raises(function() nl.stats.pearson({1, 2, 3}, {1, 2}) end, "bad argument #2 to 'pearson' (x has 3 values but y has 2)")
  T.raises(function() nl.stats.pearson({1, 0 / 0, 3, 4}, {1, 2, 3, 4}) end, "bad argument #1 to 'pearson' (x: entry 2 is NaN)")
  T.raises(function() nl.stats.pearson({1, 1, 1}, {1, 2, 3}) end, "x is constant")
  T.raises(function() nl.stats.ttest_one({3}) end, "x has 1 observation(s); at least 2 are needed")
  T.raises(function() nl.stats.ttest_two({1, 2, 3}, {1, 2}, { equal_var = false }) end, "unknown option 'equal_var' for ttest_two")
  T.raises(function() nl.stats.ttest_paired({1, 2, 3}, {1, 2}) end, "pairs must align")
  T.raises(function() nl.stats.chi2({{1, 2}, {0, 0}}) end, "table: row 2 sums to 0")
  T.raises(function() nl.stats.chi2({{1, -2}, {3, 4}}) end, "counts must be finite and non-negative")
  T.raises(function() nl.stats.anova_rm({{1, 2, 3}}) end, "data have 1 subject(s)")
  T.raises(function() nl.stats.bonferroni({0.1, 1.5}) end, "p: entry 2 is 1.5, not a probability")
  T.raises(function() nl.stats.spearman({1, 2, "a"}, {1, 2, 3}) end, "x: entry 3 is missing or not a number")
end)

-- ---------------------------------------------------------------- records

local help = require "neurolua.help"

-- Every field of each record is documented as "### Type.field".
local function documented(type_name, records)
  for _, r in ipairs(records) do
    T.eq(getmetatable(r).__name, "neurolua." .. type_name)
    for _, k in ipairs(getmetatable(r).__fields(r)) do
      T.truthy(help.text(type_name .. "." .. k), type_name .. "." .. k .. " has a reference entry")
    end
  end
end

T.test("GLMResult and Design: optional fields read nil, unknown names raise, fields documented", function()
  local f = fixture("glm/full_rank.txt")
  local r = nl.stats.glm(f.Y, f.X, f.c1[1])
  local F = nl.stats.glm(f.Y, f.X, f.C3)
  local mt = getmetatable(r)
  T.eq(table.concat(mt.__fields(r), ","),
       "test,n,tests,rank,df,tail,contrast,beta,stat,t,p,p_fdr,effect,se,table")
  -- The fields of other kinds of result are nil here.
  for _, k in ipairs{ "F", "df1", "description", "names", "design_names", "permutations", "p_fwe", "p_perm",
                      "max_stat", "seed", "clusters", "cluster_map", "cluster_p", "connectivity" } do
    T.eq(r[k], nil, "t result: " .. k)
  end
  T.eq(F.t, nil); T.eq(F.tail, nil); T.eq(F.effect, nil); T.eq(F.df1, 3)
  T.raises(function() return r.pvalue end, "GLMResult has no field 'pvalue' (fields: test, description, n, tests, ")
  T.raises(function() return r.p_fwr end, "GLMResult has no field 'p_fwr'")
  T.raises(function() return r.clsuter_p end, "GLMResult has no field 'clsuter_p'")
  T.raises(function() return r.efect end, "did you mean 'effect'?")
  T.raises(function() return F.stats end, "GLMResult has no field 'stats'; did you mean 'stat'?")
  -- A Design, a Table of responses, permutations within blocks.
  local g = fixture("glm/designs.txt")
  local cov = nl.table.new{ { "age", column(g.cov, 1) }, { "sex", column(g.cov, 2) } }
  local d = nl.stats.design_two_sample(column(g.group), { covariates = cov, levels = {0, 1} })
  local Yt = nl.table.new{ { "a", column(g.Y, 1) }, { "b", column(g.Y, 2) } }
  local sites = {}
  for i = 1, #g.Y do sites[i] = i % 2 end
  local p = nl.stats.glm(Yt, d, { permutations = 50, seed = 1, blocks = sites, progress = false })
  T.eq(p.names[2], "b"); T.eq(p.description, "two-sample: 0 - 1"); T.eq(p.blocks, 2)
  T.eq(p.design_names, nil, "the X of a Design is a Matrix")
  local Xt = nl.table.new{ { "one", column(f.X, 1) }, { "x2", column(f.X, 2) }, { "x3", column(f.X, 3) },
                           { "x4", column(f.X, 4) } }
  local named = nl.stats.glm(f.Y, Xt, f.c1[1])
  T.eq(named.design_names[2], "x2")
  T.eq(p.cluster_threshold, nil)
  T.raises(function() return p.p_few end, "GLMResult has no field 'p_few'; did you mean 'p_fwe'?")
  -- Clusters with a cluster-forming p and permutations.
  local c = fixture("cluster/perm.txt")
  local mask = nl.volume.load(data .. "/cluster/mask.nii.gz")
  local q = nl.stats.glm(c.Y, c.X, c.C[1], { permutations = 20, seed = 1, cluster = { mask = mask, p = 0.05 } })
  T.eq(q.cluster_p, 0.05); T.eq(q.max_cluster:rows(), 20)
  T.raises(function() return q.clsuter_p end, "GLMResult has no field 'clsuter_p'; did you mean 'cluster_p'?")
  documented("GLMResult", { r, F, p, q, named })
  T.truthy(help.text(r):find("GLMResult.p_fwe", 1, true), "help(r) lists the GLMResult entries")
  -- Designs: blocks only for a paired design.
  local paired = nl.stats.design_paired(4)
  T.eq(#paired.blocks, 8)
  T.eq(d.blocks, nil)
  T.raises(function() return d.x end, "Design has no field 'x'; did you mean 'X'?")
  T.raises(function() return d.contrasts end, "did you mean 'contrast'?")
  documented("Design", { d, paired })
  T.eq(next(getmetatable(d).__methods), nil)
end)

T.test("TestResult: optional fields read nil, unknown names raise, fields documented", function()
  local x, y = {1.2, 2.3, 2.9, 4.1, 5.2, 5.8}, {1.1, 2.5, 2.7, 4.4, 4.9, 6.3}
  local pe, sp = nl.stats.pearson(x, y), nl.stats.spearman(x, y)
  local one, two, pa = nl.stats.ttest_one(x, { mu = 3 }), nl.stats.ttest_two(x, y), nl.stats.ttest_paired(x, y)
  local ch = nl.stats.chi2({"m", "f", "m", "f", "m", "f"}, {true, true, false, false, true, false})
  local an = nl.stats.anova_rm{ {1, 2, 4}, {2, 2, 5}, {1, 3, 3}, {2, 4, 6} }
  local roc = nl.stats.roc({0.9, 0.4, 0.75, 0.3, 0.5, 0.1, 0.4}, {1, 1, 1, -1, -1, -1, -1})
  T.eq(table.concat(getmetatable(pe).__fields(pe), ","), "method,r,t,df,p,n,tail,ci")
  T.eq(sp.ci, nil, "Spearman has no interval")
  T.eq(two.mu, nil); T.eq(one.mean_y, nil); T.eq(pe.estimate, nil); T.eq(roc.p, nil); T.eq(an.chi2, nil)
  T.eq(nl.stats.chi2({{3, 1}, {1, 3}}).rows, nil, "rows and columns only for label vectors")
  T.raises(function() return two.estimat end, "TestResult has no field 'estimat'; did you mean 'estimate'?")
  T.raises(function() return roc.aucc end, "TestResult has no field 'aucc'; did you mean 'auc'?")
  T.raises(function() return an.f end, "did you mean 'F'?")
  T.raises(function() return pe.pvalue end, "TestResult has no field 'pvalue' (fields: method, r, t, F, chi2, df,")
  documented("TestResult", { pe, sp, one, two, pa, ch, an, roc })
end)

T.test("whole-block exchangeability: block_mode, exhaustive counts, printing, errors", function()
  -- 4 blocks (families) of 2 rows; the group is set per block, so only whole-block
  -- rearrangements change it: 4! = 24 of them, enumerated.
  local n = 8
  local X = nl.matrix.ones(n, 2)
  local fam = {}
  for i = 1, n do fam[i] = "f" .. ((i - 1) // 2 + 1); X:set(i, 2, i <= 4 and 1 or 0) end
  local Y = nl.matrix.randn(n, 3, 5)
  local r = nl.stats.glm(Y, X, { 0, 1 }, { permutations = 1000, seed = 1, blocks = fam, block_mode = "whole" })
  T.eq(r.permutations, 24); T.truthy(r.exhaustive); T.eq(r.block_mode, "whole"); T.eq(r.blocks, 4)
  -- Whole-block p-values are multiples of 1/24.
  for j = 1, 3 do T.truthy(math.abs(r.p_perm:get(j, 1) * 24 - math.floor(r.p_perm:get(j, 1) * 24 + 0.5)) < 1e-9) end
  T.truthy(tostring(r):find("(permute, 4 whole blocks, seed 1)", 1, true), tostring(r))
  local w = nl.stats.glm(Y, X, { 0, 1 }, { permutations = 1000, seed = 1, blocks = fam })
  T.eq(w.permutations, 16); T.eq(w.block_mode, "within")  -- 2!^4 within blocks: the group never changes
  for j = 1, 3 do T.eq(w.p_perm:get(j, 1), 1) end
  local both = nl.stats.glm(Y, X, { 0, 1 }, { permutations = 1000, seed = 1, blocks = fam, block_mode = "both" })
  T.eq(both.permutations, 384)  -- 4! 2!^4
  fam[8] = "f5"
  T.raises(function() nl.stats.glm(Y, X, { 0, 1 }, { permutations = 10, blocks = fam, block_mode = "whole" }) end,
           "bad argument #4 to 'glm' (whole-block exchangeability needs blocks of one size; block 1 has 2 rows, block 4 has 1")
  T.raises(function() nl.stats.glm(Y, X, { 0, 1 }, { permutations = 10, blocks = fam, block_mode = "all" }) end,
           "option 'block_mode' must be one of")
end)

T.test("glm_contrasts: joint FWE over contrasts with the same rearrangements", function()
  local f = fixture("permutation/two_sample.txt")
  local cs = { { 1, -1, 0, 0 }, { 0, 0, 1, 0 }, { 0, 0, 0, 1 } }
  local rs = nl.stats.glm_contrasts(f.Y, f.X, cs, { permutations = 500, seed = 7 })
  T.eq(#rs, 3)
  -- Each run is the ordinary GLM with the same seed.
  local alone = nl.stats.glm(f.Y, f.X, cs[2], { permutations = 500, seed = 7 })
  for j = 1, alone.p_fwe:rows() do T.eq(rs[2].p_fwe:get(j, 1), alone.p_fwe:get(j, 1)) end
  -- Joint p by brute force: the largest |t| over all contrasts and tests per rearrangement.
  local maxima = {}
  for k = 1, 500 do
    local v = -math.huge
    for c = 1, 3 do v = math.max(v, rs[c].max_stat:get(k, 1)) end
    maxima[k] = v
  end
  for c = 1, 3 do
    T.eq(rs[c].joint_contrasts, 3)
    for j = 1, rs[c].stat:rows() do
      local t = math.abs(rs[c].stat:get(j, 1))
      local count = 0
      for k = 1, 500 do if maxima[k] >= t * (1 - 1e-10) then count = count + 1 end end
      T.eq(rs[c].p_fwe_joint:get(j, 1), count / 500)
      T.truthy(rs[c].p_fwe_joint:get(j, 1) >= rs[c].p_fwe:get(j, 1), "joint FWE p >= per-contrast FWE p")
    end
  end
  T.truthy(tostring(rs[1]):find("joint FWE over 3 contrasts (same rearrangements)", 1, true), tostring(rs[1]))
  -- A contrast and its negative (two-sided): the same maxima, so the joint p is the FWE p.
  local pm = nl.stats.glm_contrasts(f.Y, f.X, { cs[1], { -1, 1, 0, 0 } }, { permutations = 300, seed = 2 })
  for j = 1, pm[1].stat:rows() do T.eq(pm[1].p_fwe_joint:get(j, 1), pm[1].p_fwe:get(j, 1)) end
  T.raises(function() nl.stats.glm_contrasts(f.Y, f.X, { cs[1] }, { permutations = 10 }) end, "at least two contrasts")
  T.raises(function() nl.stats.glm_contrasts(f.Y, f.X, cs, {}) end, "needs option 'permutations' >= 1")
  T.raises(function() nl.stats.glm_contrasts(f.Y, f.X, { cs[1], { cs[2], cs[3] } }, { permutations = 10 }) end,
           "contrast 2 is F with 2 rows but contrast 1 is t")
  T.raises(function() nl.stats.glm_contrasts(f.Y, f.X, { cs[1], { 1, 2 } }, { permutations = 10 }) end,
           "contrast 2: ")
end)


-- Issue 20, item 2: variance groups (Winkler et al. 2014): Aspin-Welch v and G.
T.test("glm with variance_groups gives Welch's t and ANOVA (R), with permutations", function()
  local f = fixture("permutation/welch.txt")
  local g, X = {}, {}
  for i, r in ipairs(f.two_group) do
    g[i] = r[1] == 0 and "ctrl" or "pat"
    X[i] = { r[1] == 0 and 1 or 0, r[1] == 1 and 1 or 0 }
  end
  local r = nl.stats.glm(f.two_Y, X, { 1, -1 }, { variance_groups = g })
  T.eq(r.test, "v")
  T.eq(r.variance_groups, 2)
  for j = 1, 5 do
    rel(r.v[j][1], f.two_welch[j][1], 1e-10, "Welch t " .. j)
    rel(r.df_vg[j][1], f.two_welch[j][2], 1e-10, "Welch df " .. j)
    rel(r.p[j][1], f.two_welch[j][3], 1e-9, "Welch p " .. j)
  end
  T.truthy(tostring(r):find("Aspin-Welch v of 2 variance groups", 1, true))
  -- three groups, an F contrast: G is Welch's one-way ANOVA
  local g3, X3 = {}, {}
  for i, row in ipairs(f.three_group) do
    g3[i] = row[1]
    X3[i] = { row[1] == 0 and 1 or 0, row[1] == 1 and 1 or 0, row[1] == 2 and 1 or 0 }
  end
  local G = nl.stats.glm(f.three_Y, X3, { { 1, -1, 0 }, { 0, 1, -1 } }, { variance_groups = g3 })
  T.eq(G.test, "G")
  for j = 1, 4 do
    rel(G.G[j][1], f.three_welch[j][1], 1e-10, "Welch F " .. j)
    rel(G.df_vg[j][1], f.three_welch[j][3], 1e-10, "Welch df2 " .. j)
  end
  -- permutations: the observed statistic is v, the FWE p is at least the uncorrected one
  local rp = nl.stats.glm(f.two_Y, X, { 1, -1 }, { variance_groups = g, permutations = 200, seed = 3 })
  T.eq(rp.test, "v")
  for j = 1, 5 do
    rel(rp.stat[j][1], f.two_welch[j][1], 1e-10, "permuted run's v " .. j)
    T.truthy(rp.p_fwe[j][1] >= rp.p_perm[j][1] and rp.p_perm[j][1] >= 1 / 200)
  end
  -- one group is Student's t; wrong lengths and a group fitted exactly raise
  local one = {}
  for i = 1, #g do one[i] = 1 end
  T.eq(nl.stats.glm(f.two_Y, X, { 1, -1 }, { variance_groups = one }).test, "t")
  T.raises(function() nl.stats.glm(f.two_Y, X, { 1, -1 }, { variance_groups = { 1, 2 } }) end,
    "variance_groups has 2 entries but the data have 18 rows")
  local odd = {}
  for i = 1, #g do odd[i] = g[i] end
  odd[1] = "alone"
  local Xo = {}
  for i = 1, #g do Xo[i] = { X[i][1], X[i][2], i == 1 and 1 or 0 } end
  Xo[1][1] = 0
  T.raises(function() nl.stats.glm(f.two_Y, Xo, { 1, -1, 0 }, { variance_groups = odd }) end,
    "variance group 'alone' has no residual degrees of freedom")
end)


T.test("glm_contrasts: joint FWE holds the level under the null; v contrasts join on |v|", function()
  -- 300 null data sets of 20 rows x 8 tests, three groups, two t contrasts (B - A, C - A),
  -- 100 rearrangements each. The joint family-wise error rate is the fraction of data
  -- sets with any p_fwe_joint <= 0.05 over both contrasts (Monte-Carlo sd 0.0126: band
  -- 0.05 +- 3 sd); the per-contrast FWE alone would exceed it.
  local X = {}
  for i = 1, 20 do
    local g = (i - 1) % 3
    X[i] = { 1, g == 1 and 1 or 0, g == 2 and 1 or 0 }
  end
  local hits, single = 0, 0
  for s = 1, 300 do
    local Y = nl.matrix.randn(20, 8, 1000 + s)
    local r = nl.stats.glm_contrasts(Y, X, { { 0, 1, 0 }, { 0, 0, 1 } },
                                     { permutations = 100, seed = s, progress = false })
    local any, any_single = false, false
    for c = 1, 2 do
      for j = 1, 8 do
        any = any or r[c].p_fwe_joint[j][1] <= 0.05
        any_single = any_single or r[c].p_fwe[j][1] <= 0.05
      end
    end
    hits = hits + (any and 1 or 0)
    single = single + (any_single and 1 or 0)
  end
  T.truthy(hits / 300 >= 0.012 and hits / 300 <= 0.088, "joint FWE rate " .. hits / 300)
  T.truthy(single >= hits, "per-contrast FWE rejects at least as often")
  -- variance groups: the joint maximum is taken on |v|, so the joint p is at least the
  -- contrast's own FWE p
  local g = {}
  for i = 1, 20 do g[i] = i <= 10 and "a" or "b" end
  local Y = nl.matrix.randn(20, 5, 7)
  local r = nl.stats.glm_contrasts(Y, X, { { 0, 1, 0 }, { 0, 0, 1 } },
                                   { permutations = 100, seed = 2, variance_groups = g, progress = false })
  T.eq(r[1].test, "v")
  for c = 1, 2 do
    for j = 1, 5 do T.truthy(r[c].p_fwe_joint[j][1] >= r[c].p_fwe[j][1] - 1e-12, "joint p >= own FWE p") end
  end
end)

T.test("checkpoint options: named errors; a damaged or foreign checkpoint is refused, naming the file", function()
  local Y = nl.matrix.randn(12, 30, 3)
  local X = nl.matrix.ones(12, 2)
  for i = 7, 12 do X:set(i, 2, 0) end
  T.raises(function() nl.stats.glm(Y, X, { 0, 1 }, { checkpoint = "x.ckpt" }) end, "it needs 'permutations'")
  T.raises(function() nl.stats.glm(Y, X, { 0, 1 }, { permutations = 10, checkpoint_every = 1 }) end,
           "option 'checkpoint_every' needs option 'checkpoint'")
  T.raises(function() nl.stats.glm(Y, X, { 0, 1 }, { permutations = 10, checkpoint = "" }) end,
           "option 'checkpoint' must be a file path")
  T.raises(function() nl.stats.glm(Y, X, { 0, 1 }, { permutations = 10, checkpoint = "a", checkpoint_every = -1 }) end,
           "option 'checkpoint_every' must be between")
  local path = os.tmpname()
  local f = assert(io.open(path, "w")); f:write("not a checkpoint"); f:close()
  T.raises(function() nl.stats.glm(Y, X, { 0, 1 }, { permutations = 10, checkpoint = path }) end, path)
  os.remove(path)
  -- A finished run removes its checkpoint and equals the run without one.
  local a = nl.stats.glm(Y, X, { 0, 1 }, { permutations = 200, seed = 2, checkpoint = path, checkpoint_every = 0.001 })
  local b = nl.stats.glm(Y, X, { 0, 1 }, { permutations = 200, seed = 2 })
  T.truthy(a.max_stat == b.max_stat and a.p_fwe == b.p_fwe, "same maxima and p with and without a checkpoint")
  T.eq(io.open(path, "r"), nil, "the checkpoint is gone after the run")
end)

T.done()
