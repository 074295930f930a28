-- docs/make_figures.lua: draws the example figures of docs/reference/plot.md into
-- docs/figures/ with the neurolua being documented. Run from the repository root:
--
--   build/neurolua docs/make_figures.lua
--
-- Every input is made here from seeded streams, so the figures are the same on every run.
local nl = require "neurolua"

local out = (arg and arg[1]) or "docs/figures"
nl.mkdir(out)
local function path(name) return out .. "/" .. name end

local function column(m)  -- an n x 1 Matrix as a Lua list
  local t = {}
  for i = 1, m:rows() do t[i] = m:get(i, 1) end
  return t
end

-- lines: a learning curve with a band and a stepped series
local n = { 20, 40, 60, 80, 100, 120 }
nl.plot.lines(path("lines.png"), {
  { x = n, y = { 0.58, 0.63, 0.67, 0.69, 0.71, 0.72 }, label = "validation BAC",
    band = { lo = { 0.50, 0.56, 0.61, 0.64, 0.66, 0.68 }, hi = { 0.66, 0.70, 0.73, 0.74, 0.76, 0.76 } } },
  { x = n, y = { 0.91, 0.86, 0.82, 0.80, 0.78, 0.77 }, label = "training BAC", style = "dashed" },
}, { title = "Learning curve", xlabel = "training subjects", ylabel = "balanced accuracy", legend = "upper right" })

-- roc: two cohorts, from nl.stats.roc, with DeLong intervals
local function cohort(seed, shift, m)
  local z = column(nl.matrix.randn(m, 1, seed))
  local scores, labels = {}, {}
  for i = 1, m do
    labels[i] = i % 2
    scores[i] = z[i] + (labels[i] == 1 and shift or 0)
  end
  return nl.stats.roc(scores, labels)
end
local disc, val = cohort(11, 1.2, 60), cohort(12, 0.7, 40)
local function curve(r, label)
  return { curve = r.curve, auc = r.auc, ci = r.ci, label = label }  -- an nl.stats.roc result, labelled
end
nl.plot.roc(path("roc.png"), { curve(disc, "discovery"), curve(val, "validation") }, { title = "Response prediction" })

-- histogram: a permutation null with the observed statistic
local null = column(nl.matrix.randn(1000, 1, 3) * 0.05 + 0.5)
nl.plot.histogram(path("histogram.png"), null, { observed = 0.66, p = 0.002, label_observed = "observed BAC",
  xlabel = "balanced accuracy", title = "Permutation test (1000 permutations)" })

-- bars: Figure 2 of the paper, top-25 region weights
local regions = { "Frontal_Sup_Medial_L", "Hippocampus_R", "Amygdala_L", "Insula_R", "Cingulum_Ant_L",
  "Precuneus_R", "Thalamus_L", "Caudate_R", "Putamen_L", "Temporal_Pole_Sup_R", "Frontal_Mid_Orb_L",
  "ParaHippocampal_R", "Cerebelum_Crus1_L", "Occipital_Mid_R", "Parietal_Inf_L", "Angular_R",
  "SupraMarginal_L", "Postcentral_R", "Precentral_L", "Rolandic_Oper_R", "Heschl_L", "Lingual_R",
  "Fusiform_L", "Calcarine_R", "Cuneus_L" }
local weights, marks = {}, {}
for i = 1, 25 do
  weights[i] = (26 - i) / 25 * 0.8 * ((i % 3 == 0) and -1 or 1)
  marks[i] = i <= 7
end
nl.plot.bars(path("bars.png"), regions, weights, { sign_colours = true, sign_labels = { "response", "non-response" },
  marks = marks, title = "Top-25 region weights", xlabel = "weight", height = 6 })

-- scatter: change in symptoms against a connectivity change
local x = column(nl.matrix.randn(50, 1, 4) * 6 - 12)
local e = column(nl.matrix.randn(50, 1, 5) * 0.15)
local y, group = {}, {}
for i = 1, 50 do
  y[i] = -0.02 * x[i] + e[i]
  group[i] = i % 2 == 0 and "ketamine" or "placebo"
end
nl.plot.scatter(path("scatter.png"), x, y, { fit = "linear", annotate = true, groups = group,
  xlabel = "MADRS change", ylabel = "DMN FC change (z)", title = "Symptoms and connectivity" })

-- box: network FC by group and time, from a Table
local fc, grp, time = {}, {}, {}
local z = column(nl.matrix.randn(120, 1, 6))
local times = { "baseline", "24 h", "7 d" }
for i = 1, 120 do
  grp[i] = i <= 60 and "ketamine" or "placebo"
  time[i] = times[(i - 1) % 3 + 1]
  fc[i] = 0.1 * z[i] + ((grp[i] == "ketamine" and time[i] ~= "baseline") and 0.2 or 0)
end
local t = nl.table.new { { "fc", fc }, { "group", grp }, { "time", time } }
nl.plot.box(path("box.png"), t, { x = "time", y = "fc", hue = "group", ylabel = "DMN FC (z)",
  title = "Network FC by group and time" })

-- heatmap and netmat: a 12-node netmat with three planted networks
local names = { "DMN_1", "DMN_2", "DMN_3", "DMN_4", "SN_1", "SN_2", "SN_3", "SN_4", "CEN_1", "CEN_2", "CEN_3", "CEN_4" }
local noise = nl.matrix.randn(12, 12, 7) * 0.15
local Z = nl.matrix.zeros(12, 12)
local perm = { 5, 9, 1, 12, 6, 2, 10, 3, 7, 11, 4, 8 }  -- nodes shuffled, so the ordering has work to do
for i = 1, 12 do
  for j = 1, 12 do
    local a, b = perm[i], perm[j]
    local same = (a - 1) // 4 == (b - 1) // 4
    Z:set(i, j, (same and 0.6 or -0.05) + (noise:get(i, j) + noise:get(j, i)) / 2)
  end
end
local shuffled = {}
for i = 1, 12 do shuffled[i] = names[perm[i]] end
nl.plot.heatmap(path("heatmap.png"), Z, { labels = shuffled, order = "hierarchy", dendrogram = true,
  colorbar_label = "z", title = "Heat map, rows clustered" })
nl.plot.netmat(path("netmat.png"), Z, { labels = shuffled, colorbar_label = "z", title = "Group netmat" })

-- figure: several panels in one file
nl.plot.figure { path = path("figure.png"), rows = 2, cols = 2, width = 10, height = 8, title = "Ketamine response",
  panels = {
    { kind = "roc", curves = { curve(disc, "discovery") } },
    { kind = "histogram", values = null, observed = 0.66, p = 0.002, xlabel = "balanced accuracy" },
    { kind = "scatter", x = x, y = y, fit = "linear", xlabel = "MADRS change", ylabel = "DMN FC change" },
    { kind = "netmat", Z = Z, labels = shuffled },
  } }

print("figures written to " .. out)
