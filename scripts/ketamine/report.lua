-- scripts/ketamine/report.lua: the study report of replicate.lua, <out>/report.html
-- (nl.report): Table 1, Table 2 beside the paper's values, for each Table 2 row its
-- ROC curve and permutation null, the top-25 regions (the paper's Figure 2), the
-- weight map in slices (Figure 3) and in an interactive viewer, and, for the built-in
-- cohort, the spread of BAC over 20 simulator seeds with the paper's value marked.
--
-- Loaded by replicate.lua with dofile; returns function(K, o, study) -> report path,
-- where study = { t1 = Table, t2 = Table, rows = { {name, result, paper}, ... } (NeuroMiner
-- methods), rows_strict (the same, leak-free), r = discovery CVResult, data =
-- participants path, spread = seed-spread TSV or nil }.
local nl = require "neurolua"
-- this file's folder (also under --sandbox, where debug.getinfo is gone)
local here = (debug.getinfo and debug.getinfo(1, "S").source or "@" .. (arg and arg[0] or "")):match("^@(.*/)") or "./"
local U = dofile(here .. "../lib/report_util.lua")
local slug = U.slug

return function(K, o, study)
  local out = o.out
  local fig = out .. "/figures"
  nl.mkdir(fig)
  local rep = nl.report.new{ title = "Ketamine-response replication",
                             subtitle = "Linear SVM on regional gray-matter volumes (METHODS.md section 1) on " ..
                               study.data }

  rep:heading("Summary", 2)
  local lines = {}
  for _, set in ipairs{ { K.methods.neurominer, study.rows }, { K.methods.strict, study.rows_strict or {} } } do
    if #set[2] > 0 then
      lines[#lines + 1] = "*" .. set[1].title .. "*"
      lines[#lines + 1] = ""
    end
    for _, row in ipairs(set[2]) do
      local m = row.result.metrics_
      local s = string.format("- **%s**: BAC %.1f %%, AUC %.2f", row.name, 100 * m.bac, m.auc)
      if row.result.p_ then
        s = s .. string.format(", permutation p = %.3f (%d of %d permutations reached the observed BAC)", row.result.p_,
          row.result.permutation_count_, row.result.n_permutations_)
      end
      if row.paper then s = s .. string.format(" (paper: BAC %.1f %%, AUC %.2f, p %s)", row.paper.BAC, row.paper.AUC,
        row.paper.p) end
      lines[#lines + 1] = s
    end
    lines[#lines + 1] = ""
  end
  lines[#lines + 1] = "The two differ in how the retrained base models are preprocessed and how new sites are "
    .. "corrected (docs/methods-notes.md); the paper ran the first."
  rep:text(table.concat(lines, "\n"))

  rep:heading("Table 1. Demographics by cohort and response group", 2)
  rep:table(study.t1, { caption = "n, female (%), mean (SD) of age and MADRS before and after the infusion" })

  rep:heading("Table 2. Classification performance", 2)
  rep:table(study.t2, { caption = string.format("Repeated nested CV (outer and inner 3 x 5), %d label permutations; "
    .. "p = (count + 1) / (n + 1); methods: neurominer (as the paper ran it) or strict (leak-free); paper_BAC and "
    .. "paper_AUC are the paper's Table 2", o.permutations), digits = 3 })

  for _, row in ipairs(study.rows) do
    rep:heading(row.name, 3)
    local label = row.name:match("^(%S+)")
    local roc = row.result:plot_roc(fig .. "/roc_" .. slug(row.name) .. ".png",
      { title = "ROC: " .. row.name, label = label, width = 5, height = 5 })
    rep:figure(roc, { caption = "ROC curve of the median decision scores, pointwise 95 % band (stratified bootstrap, "
      .. "2000 replicates) and the AUC's DeLong interval", width = "45%" })
    if row.result.permutation_bac_ then
      local perm = row.result:plot_permutations(fig .. "/permutations_" .. slug(row.name) .. ".png",
        { title = "Permutation null: " .. row.name, width = 6, height = 4.5 })
      rep:figure(perm, { caption = "Balanced accuracy under permuted labels; the line is the observed BAC",
                         width = "52%" })
    end
  end

  rep:heading("Figure 2. Top 25 regions by mean back-projected weight", 2)
  local f2 = study.r:plot_weights(fig .. "/figure2_top25.png", { top = 25, sign_labels = { "response", "non-response" },
    title = "Top 25 regions (discovery model)", width = 7.5, height = 7 })
  local caveat = study.r:weights_caveat()
  rep:figure(f2, { caption = "Mean weight over the 225 base models, back-projected to the regions; * = sign-consistent "
    .. "(BH-FDR 5 %). Paper: greater frontal volume predicts response, greater cerebellar volume non-response."
    .. (caveat and (" Caveat: " .. caveat .. "; the marks are left out.") or "") })

  rep:heading("Figure 3. The weight map", 2)
  local map = out .. "/discovery_top25_weights.nii.gz"
  local ortho = nl.plot.brain(fig .. "/figure3_ortho.png", map,
    { display = "ortho", title = "Top-25 region weights", width = 9, height = 3.4 })
  rep:figure(ortho, { caption = "Mean weights of the top 25 regions over the MNI-space template (neurological "
    .. "convention: left is left)" })
  local box = nl.plot.brain(fig .. "/figure3_lightbox.png", map, { display = "lightbox", slices = 12, width = 9,
    height = 5.5 })
  rep:figure(box, { caption = "Axial slices (z in mm)" })
  rep:viewer(map, { background = "template", caption = "Interactive: drag to move the crosshair, scroll to change "
    .. "slice" })

  if study.spread then
    rep:heading("Sampling variability: 20 simulated cohorts", 2)
    local t = K.read_spread(study.spread)
    local panels = {}
    for _, c in ipairs{ { "discovery", "discovery_bac", K.paper.discovery },
                        { "saline control", "saline_bac", K.paper.saline },
                        { "external (pooled)", "external_bac", K.paper.external } } do
      local v = {}
      for i = 1, #t do v[i] = 100 * t[c[2]][i] end
      panels[#panels + 1] = { kind = "histogram", values = v, observed = c[3].BAC, label_observed = "paper",
                              label_values = "simulated cohorts",
                              title = c[1], xlabel = "BAC (%)", bins = 8 }
    end
    local spread = nl.plot.figure{ path = fig .. "/seed_spread.png", rows = 1, cols = 3, panels = panels,
                                   width = 11, height = 3.5 }
    rep:figure(spread, { caption = string.format("BAC of each Table 2 row over %d simulator seeds (the same analysis "
      .. "without permutations); the line marks the paper's value. One cohort of this size can land several points "
      .. "away from the truth it was drawn from.", #t) })
  end

  rep:provenance{ seeds = { cv = o.seed, simulator = (not o.participants) and (o.sim_seed or 1) or nil } }
  return rep:write(out .. "/report.html")
end
