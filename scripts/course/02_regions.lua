-- Lesson 2: From GM maps to regional volumes: atlases and their pitfalls
--
-- neurolua scripts/course/02_regions.lua runs the whole lesson; in the REPL,
-- neurolua --course and then lesson(2) runs it step by step. Page: docs/course/02_regions.md.
local nl = require "neurolua"
local course = nl.course

-- %% atlas: An atlas is a labelled image
-- AAL labels each 1 mm voxel of MNI space with one of 116 regions. regions() lists them
-- with their size on the atlas' own grid.
local aal = nl.atlas.load("aal")
print(aal)
print(aal:regions():select{ "index", "name", "voxels", "volume_ml" }:format{ width = 100 })
print(aal:find("^vermis"):select{ "index", "name", "voxels", "volume_ml" }:format{ width = 100 })

-- %% simulate: The discovery cohort
-- 99 subjects, GM maps on a 3 mm grid. cohorts = {"discovery"} writes that cohort only.
local dir = course.data("discovery")
local _, truth, simulated = nl.sim.ketamine{ seed = 1, dir = dir, cohorts = { "discovery" }, overwrite = true }
local s = nl.study.participants(dir .. "/participants.tsv")
s.response = nl.study.response(s.madrs_pre, s.madrs_post)
print(("%s subjects, %d responders"):format(course.fact("n_subjects", #s), s.response:sum()))

-- %% summarize: Regional volumes
-- summarize puts the atlas on each map's grid (nearest neighbour) and reduces the voxels of
-- every region: "volume_ml" sums them times the voxel volume, the region's GM volume in ml.
local maps = nl.volume.load_all(s.gm_path)
local X = aal:summarize(maps, "volume_ml")
print(X:select{ "Frontal_Sup_R", "Hippocampus_L", "Vermis_4_5" }:format{ width = 100 })
-- The simulator also returned the volumes it planted in the maps: the two agree.
local diff = (X:matrix() - simulated:matrix()):abs():max()
print(("%d subjects x %d regions; largest difference from the simulator's volumes: %.1e ml"):format(
  X:nrows(), X:ncols(), diff))

-- %% mean: Volume or mean?
-- "mean" averages the GM values of the region's voxels: a density, whatever the size of
-- the region. On one grid the region has a fixed number of voxels, so volume_ml is the
-- mean times a constant: the two carry the same information about differences between
-- subjects.
local M = aal:summarize(maps, "mean")
for _, name in ipairs{ "Frontal_Sup_R", "Vermis_4_5" } do
  print(("%-14s subject 1: %6.3f ml / %.3f = %.3f; subject 2: %6.3f ml / %.3f = %.3f"):format(name,
    X[name][1], M[name][1], X[name][1] / M[name][1], X[name][2], M[name][2], X[name][2] / M[name][2]))
end

-- %% grid: The grid changes the regions
-- A map of ones on the 3 mm grid, summed per region, counts the region's voxels there.
-- Compare with the 1 mm atlas: small regions gain or lose much of their size.
local ones = nl.volume.new(maps[1], 1)
local on_grid = aal:summarize(ones, "volume_ml")
local regions = aal:regions()
local names, ml1, ml3, change, size = {}, {}, {}, {}, {}
local empty, off10 = 0, 0
for i = 1, #regions do
  names[i] = regions.name[i]
  ml1[i] = regions.volume_ml[i]
  ml3[i] = on_grid[names[i]][1]
  change[i] = math.floor(1000 * (ml3[i] / ml1[i] - 1) + 0.5) / 10   -- in %, to 0.1
  size[i] = math.abs(change[i])
  if ml3[i] == 0 then empty = empty + 1 end
  if math.abs(change[i]) > 10 then off10 = off10 + 1 end
end
local grid = nl.table.new{ { "name", names }, { "ml_1mm", ml1 }, { "ml_3mm", ml3 }, { "change_pct", change },
  { "size", size } }
print(grid:sort("-size"):select{ "name", "ml_1mm", "ml_3mm", "change_pct" }:head(6):format{ width = 100 })
print(("regions without a voxel at 3 mm: %s; regions whose size changes by more than 10 %%: %s"):format(
  course.fact("empty_3mm", empty), course.fact("off10_3mm", off10)))
local v12 = grid:where{ name = "Vermis_1_2" }
print(("Vermis_1_2: %.3f ml at 1 mm, %.3f ml (%d voxels of 27 mm^3) at 3 mm: %s %%"):format(v12.ml_1mm[1],
  v12.ml_3mm[1], math.floor(v12.ml_3mm[1] / 0.027 + 0.5), course.fact("vermis12_change", v12.change_pct[1], "%+.0f")))

-- %% tiv: Head size
-- Bigger heads have bigger regions. Proportional scaling divides each volume by the TIV;
-- the alternative keeps the volume and puts TIV in the model as a covariate.
local r_raw = nl.stats.pearson(X.Frontal_Sup_R, s.tiv)
local r_prop = nl.stats.pearson(X.Frontal_Sup_R / s.tiv, s.tiv)
print(("Frontal_Sup_R against TIV: r = %s raw, r = %s after dividing by TIV"):format(
  course.fact("r_tiv_raw", r_raw.r, "%.2f"), course.fact("r_tiv_prop", r_prop.r, "%.2f")))

-- %% sex: Proportional scaling and sex
-- Men have larger heads. Compare men and women on the raw volume, on the volume divided
-- by TIV, and on the volume with TIV regressed out (nl.ml.regress_out, fitted on all 99).
local men, women = s.sex:eq("M"), s.sex:eq("F")
local frontal = X:select{ "Frontal_Sup_R" }:matrix()
local adjusted = nl.ml.regress_out{ "tiv" }:fit(frontal, { covariates = s }):transform(frontal, { covariates = s })
local function men_vs_women(values)
  local t = nl.table.new{ { "v", values } }
  return nl.stats.ttest_two(t:filter(men).v, t:filter(women).v)
end
local t_raw = men_vs_women(X.Frontal_Sup_R)
local t_prop = men_vs_women(X.Frontal_Sup_R / s.tiv)
local t_cov = men_vs_women(adjusted)
print(("men - women, t(97): raw %s, divided by TIV %s, TIV as covariate %s"):format(
  course.fact("t_sex_raw", t_raw.t, "%.2f"), course.fact("t_sex_prop", t_prop.t, "%.2f"),
  course.fact("t_sex_cov", t_cov.t, "%.2f")))

-- %% truth: The planted effect
-- ground_truth.tsv: the regions where responders and non-responders differ, the sign
-- (+1: larger in responders), the standardized effect and the difference in percent.
print(truth:format{ width = 100, rows = 20 })
print(("%d planted regions, standardized effects %s to %s"):format(#truth,
  course.fact("effect_min", truth.effect_size:min(), "%.2f"),
  course.fact("effect_max", truth.effect_size:max(), "%.2f")))

-- %% glm: One test per region
-- A linear model per region: volume ~ response + age + sex + site + TIV, and a t-test
-- of responders - non-responders. nl.stats.glm fits the 116 regions at once.
local male, site_b = {}, {}
for i = 1, #s do
  male[i] = s.sex[i] == "M" and 1 or 0
  site_b[i] = s.site[i] == "B" and 1 or 0
end
local covariates = nl.table.new{ { "age", s.age }, { "male", male }, { "site_B", site_b }, { "tiv", s.tiv } }
local design = nl.stats.design_two_sample(s.response, { levels = { true, false }, covariates = covariates })
local fit = nl.stats.glm(X, design)
print(fit)

-- %% compare: Against the truth
-- Which regions pass FDR q < 0.05, and are they planted?
local planted = {}
for i = 1, #truth do planted[truth.name[i]] = truth.sign[i] end
local res = fit.table
local hits, true_hits, found = {}, 0, {}
for i = 1, #res do
  if res.p_fdr[i] < 0.05 then
    hits[#hits + 1] = res.name[i]
    if planted[res.name[i]] and planted[res.name[i]] * res.t[i] > 0 then
      true_hits = true_hits + 1
      found[res.name[i]] = true
    end
  end
end
local is_planted = {}
for i = 1, #res do is_planted[i] = planted[res.name[i]] ~= nil end
res.planted = is_planted
print(res:sort("p"):select{ "name", "t", "p", "p_fdr", "planted" }:head(15):format{ width = 100, rows = 15 })
print(("%s regions at q < 0.05, %s of them planted (with the right sign), %s of %s planted regions missed"):format(
  course.fact("fdr_hits", #hits), course.fact("fdr_true", true_hits),
  course.fact("fdr_missed", #truth - true_hits), course.fact("n_planted", #truth)))
local missed = truth:filter(function(row) return not found[row.name] end)
print(("missed: %s (largest effect %s)"):format(table.concat(missed.name:to_table(), ", "),
  course.fact("missed_max", missed.effect_size:max(), "%.2f")))

-- %% figure: A figure of the top regions
local top = res:sort("p"):head(20)
nl.plot.bars(course.figure("02_region_t.png"), top.name, top.t, {
  sign_colours = true, sign_labels = { "larger in responders", "larger in non-responders" },
  marks = top.planted, title = "Responders - non-responders: t per region (* planted)",
  xlabel = "t (age, sex, site, TIV as covariates)", height = 6, legend = "lower left" })

-- %% solution1: Exercise 1 - proportional scaling instead of a TIV covariate
local scaled = {}
for _, name in ipairs(X:columns()) do scaled[#scaled + 1] = { name, X[name] / s.tiv } end
local no_tiv = nl.table.new{ { "age", s.age }, { "male", male }, { "site_B", site_b } }
local fit_prop = nl.stats.glm(nl.table.new(scaled),
  nl.stats.design_two_sample(s.response, { levels = { true, false }, covariates = no_tiv }))
local tab, n_hits, n_true = fit_prop.table, 0, 0
for i = 1, #tab do
  if tab.p_fdr[i] < 0.05 then
    n_hits = n_hits + 1
    if planted[tab.name[i]] and planted[tab.name[i]] * tab.t[i] > 0 then n_true = n_true + 1 end
  end
end
print(("proportional scaling: %d regions at q < 0.05, %d of them planted"):format(n_hits, n_true))

-- %% solution2: Exercise 2 - a 4 mm grid
local dir4 = course.data("md_4mm")
local p4 = nl.sim.ketamine{ seed = 1, dir = dir4, cohorts = { "external_md" }, resolution = 4, overwrite = true }
local on_4mm = aal:summarize(nl.volume.new(nl.volume.load(p4.gm_path[1]), 1), "volume_ml")
local empty4, worst, worst_name = 0, 0, ""
for i = 1, #regions do
  local v = on_4mm[regions.name[i]][1]
  if v == 0 then empty4 = empty4 + 1 end
  local c = 100 * (v / regions.volume_ml[i] - 1)
  if math.abs(c) > math.abs(worst) then worst, worst_name = c, regions.name[i] end
end
print(("4 mm: %d regions without a voxel; largest change %s %+.0f %%"):format(empty4, worst_name, worst))
