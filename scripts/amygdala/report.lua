-- scripts/amygdala/report.lua: the study report of seed_maps.lua, <out>/report.html
-- (nl.report): the cluster table, the cluster figure (the voxelwise t map over the
-- template, ortho at the peak and a lightbox, cluster peaks marked), an interactive
-- viewer of the t map, and for the significant cluster the ROC of each subject's mean z
-- (with its bootstrap band, and the leave-one-out ROC), box plots of the cluster
-- connectivity by response group and its correlation with the HAMD-17 reduction.
--
-- Loaded by seed_maps.lua with dofile; returns function(A, o, study, r, used) -> report
-- path, with r the result of A.statistics and the maps already saved by A.save. Figures
-- go to <out>/figures/.
local nl = require "neurolua"
-- this file's folder (also under --sandbox, where debug.getinfo is gone)
local here = (debug.getinfo and debug.getinfo(1, "S").source or "@" .. (arg and arg[0] or "")):match("^@(.*/)") or "./"
local U = dofile(here .. "../lib/report_util.lua")
local note_table, columns = U.note_table, U.columns

-- A curve of nl.plot.roc from an nl.stats.roc result.
local function curve(roc, label)
  local c = { curve = roc.curve, auc = roc.auc, ci = roc.ci, label = label }
  if roc.band then
    local b = roc.band
    local fpr, lo, hi = {}, {}, {}
    for k = 1, b.specificity:rows() do
      fpr[k], lo[k], hi[k] = 1 - b.specificity:get(k, 1), b.lower:get(k, 1), b.upper:get(k, 1)
    end
    c.band = { fpr = fpr, lo = lo, hi = hi }
  end
  return c
end

return function(A, o, study, r, used)
  local out = o.out
  local fig = out .. "/figures"
  nl.mkdir(fig)
  local simulated = study.simulated
  local P = A.paper
  local res = r.res
  local pfmt = A.F.pfmt
  local rep = nl.report.new{ title = "Amygdala connectivity and ketamine response (seed 004)",
    subtitle = ("Left amygdala seed-to-voxel connectivity at baseline (METHODS.md section 4) on %s"):format(
      simulated and "the simulated default cohort" or o.participants) }

  local sig = {}
  for _, c in ipairs(r.clusters) do if c.p_fwe < 0.05 then sig[#sig + 1] = c end end
  local main = r.clusters[1] and r.clusters[1].roc and r.clusters[1] or nil

  rep:heading("Summary", 2)
  local lines = {
    ("- %d patients (%d responders, HAMD-17 reduction > 50 %%; paper %d of %d), seed %s, session %s"):format(r.n,
      r.responders, P.responders, P.n, o.seed_region, o.session),
    ("- voxelwise GLM responders - non-responders (covariates %s), clusters at two-sided p < %g (|t| >= %.2f, df %d), "
      .. "%d-connectivity, FWE by cluster size over %d permutations"):format(o.covariates, o.cluster_p,
      res.cluster_threshold, math.floor(res.df + 0.5), math.tointeger(o.connectivity), res.permutations or 0),
    ("- %d cluster(s), %d with FWE p < 0.05"):format(#r.clusters, #sig),
  }
  if main then
    lines[#lines + 1] = ("- the largest: %d voxels, peak t = %.2f at (%.0f, %.0f, %.0f) in %s; ROC AUC %.3f (circular)%s"):format(
      main.size, main.peak, main.x, main.y, main.z, main.peak_region, main.roc.auc,
      r.loo and (", %.3f leave-one-out"):format(r.loo.roc.auc) or "")
  end
  lines[#lines + 1] = ("- paper: %d voxels, peak t = %.2f at (%d, %d, %d), %s, cluster pFDR = %.3f; AUC %.3f (circular), "
    .. "r = %.2f with the HAMD reduction"):format(P.size, P.t, P.peak[1], P.peak[2], P.peak[3], P.region, P.p_fdr,
    P.auc, P.r)
  if simulated then
    local found, elsewhere = A.check_truth(r)
    lines[#lines + 1] = ("- ground truth: the planted Amygdala_L - right temporal coupling is %s; %d significant "
      .. "cluster(s) elsewhere"):format(found and "found" or "NOT found", elsewhere)
  end
  rep:text(table.concat(lines, "\n"))

  -- The cluster table.
  rep:heading("Clusters", 2)
  local names = { "cluster", "voxels", "volume_mm3", "peak_t", "x", "y", "z", "peak_region", "regions", "p_fwe",
                  "p_fdr" }
  local cols = {}
  for _, c in ipairs(names) do cols[c] = {} end
  local n = math.min(#r.clusters, 20)
  for k = 1, n do
    local c = r.clusters[k]
    local parts = {}
    for m = 1, math.min(3, #c.regions) do
      parts[#parts + 1] = ("%s %.0f%%"):format(c.regions[m].name, 100 * c.regions[m].share)
    end
    cols.cluster[k], cols.voxels[k], cols.volume_mm3[k], cols.peak_t[k] = c.cluster, c.size, c.volume_mm3, c.peak
    cols.x[k], cols.y[k], cols.z[k], cols.peak_region[k] = c.x, c.y, c.z, c.peak_region
    cols.regions[k], cols.p_fwe[k], cols.p_fdr[k] = table.concat(parts, ", "), c.p_fwe, c.p_fdr
  end
  if n > 0 then
    note_table(rep, columns(names, cols, n), ("Clusters of |t| >= %.2f by decreasing size%s; peak "
      .. "in world mm; regions: the atlas regions of the cluster's voxels (share); p_FWE by cluster size "
      .. "(Freedman-Lane), p_FDR over the clusters' uncorrected p. Paper: %d voxels, peak t = %.2f at (%d, %d, %d), %s, "
      .. "pFDR = %.3f (SPM, height p < 0.001)."):format(res.cluster_threshold, #r.clusters > n and
      (" (the first %d of %d)"):format(n, #r.clusters) or "", P.size, P.t, P.peak[1], P.peak[2], P.peak[3], P.region,
      P.p_fdr))
  else
    rep:text(("No voxel passes the cluster-forming threshold |t| >= %.2f."):format(res.cluster_threshold))
  end

  -- The cluster figure: the t map over the template.
  rep:heading("The t map", 2)
  local tmap = out .. "/tmap.nii.gz"
  local opts = { threshold = res.cluster_threshold, title = "Responders - non-responders, t", width = 9, height = 3.4 }
  -- The peaks of the FWE-significant clusters (of all clusters of the table when none is
  -- significant): the single-voxel clusters of chance would crowd the projected markers.
  local peaks = {}
  for _, c in ipairs(sig) do peaks[#peaks + 1] = { c.x, c.y, c.z } end
  if #peaks == 0 and #res.clusters > 0 then peaks = res.clusters end
  if #peaks > 0 then opts.peaks = peaks end
  if main then opts.coords = { main.x, main.y, main.z } end
  local ortho = nl.plot.brain(fig .. "/tmap_ortho.png", tmap, opts)
  rep:figure(ortho, { caption = ("The voxelwise t map (|t| >= %.2f shown) over the MNI-space template (neurological "
    .. "convention: left is left), cut %s; markers at the peaks of the %s of the table (projected onto each view)"):format(
    res.cluster_threshold, main and ("through the peak of the largest cluster (%.0f, %.0f, %.0f)"):format(main.x,
    main.y, main.z) or "through the largest suprathreshold cluster", #sig > 0 and "FWE-significant clusters" or
    "clusters") })
  local box = nl.plot.brain(fig .. "/tmap_lightbox.png", tmap, { display = "lightbox", slices = 12,
    threshold = res.cluster_threshold, peaks = opts.peaks, width = 9, height = 5.5 })
  rep:figure(box, { caption = "Axial slices (z in mm); peaks within half a slice spacing are marked" })
  rep:viewer(tmap, { background = "template", threshold = res.cluster_threshold, caption = "Interactive t map "
    .. "(`tmap.nii.gz`): drag to move the crosshair, scroll to change slice" })

  -- The significant cluster: ROC, box plots, correlation.
  if main then
    rep:heading(("Cluster %d: connectivity and response"):format(main.cluster), 2)
    local zs, lab, grp = {}, {}, {}
    for k = 1, #used do
      zs[k], lab[k] = main.subject_z:get(k, 1), r.labels[k]
      grp[k] = r.labels[k] and "responders" or "non-responders"
    end
    local roc = nl.stats.roc(zs, lab, { direction = main.peak > 0 and "<" or ">", band = true,
                                        seed = math.tointeger(o.seed) })
    local curves = { curve(roc, "cluster mean z (circular)") }
    if r.loo then curves[2] = curve(r.loo.roc, "leave-one-out") end
    local path = nl.plot.roc(fig .. "/roc_cluster.png", curves, { title = ("ROC: cluster %d (%s)"):format(main.cluster,
      main.peak_region), width = 5.2, height = 5.2 })
    rep:figure(path, { caption = ("Responders vs non-responders by each subject's mean z in the cluster: the curve with "
      .. "a pointwise 95 %% band (stratified bootstrap, %d replicates, seed %d) and DeLong's AUC interval; circular, "
      .. "as the paper's (the cluster was found on the same subjects). %s Paper: AUC %.3f (%.3f-%.3f)."):format(
      roc.band.boot, roc.band.seed, r.loo and "The leave-one-out curve scores each subject by the cluster found "
      .. "without it." or "", P.auc, P.ci[1], P.ci[2]), width = "50%" })
    -- Connectivity by response group.
    local bc = { group = {}, z = {} }
    local m = 0
    for _, want in ipairs{ "responders", "non-responders" } do
      for k = 1, #used do
        if grp[k] == want then m = m + 1; bc.group[m], bc.z[m] = grp[k], zs[k] end
      end
    end
    local panels = { { kind = "box", data = columns({ "group", "z" }, bc, m), x = "group", y = "z",
                       title = ("cluster %d mean z"):format(main.cluster), ylabel = "Fisher z (seed - cluster)" } }
    if r.loo then
      local lc = { group = {}, score = {} }
      m = 0
      for _, want in ipairs{ "responders", "non-responders" } do
        for k = 1, #used do
          if grp[k] == want then m = m + 1; lc.group[m], lc.score[m] = grp[k], r.loo.scores[k] end
        end
      end
      panels[2] = { kind = "box", data = columns({ "group", "score" }, lc, m), x = "group", y = "score",
                    title = "leave-one-out score", ylabel = "z minus training midpoint" }
    end
    path = nl.plot.figure{ path = fig .. "/box_cluster.png", rows = 1, cols = #panels, panels = panels,
      width = 4.2 * #panels, height = 4.2, title = "Amygdala - cluster connectivity by response" }
    rep:figure(path, { caption = "One point per patient: the mean Fisher z of the seed with the cluster's voxels"
      .. (r.loo and "; right, the leave-one-out score (its mean z in the cluster found without it, minus the "
      .. "midpoint of the training groups' means)" or ""), width = r.loo and "80%" or "45%" })
    if main.pearson then
      local x, y = {}, {}
      for k, i in ipairs(used) do
        if study.reduction[i] then x[#x + 1], y[#y + 1] = zs[k], study.reduction[i] end
      end
      path = nl.plot.scatter(fig .. "/cluster_vs_hamd.png", x, y, { fit = "linear", annotate = true,
        xlabel = ("cluster %d mean z"):format(main.cluster), ylabel = "HAMD-17 reduction (%)",
        title = "Cluster connectivity and improvement", width = 5.5, height = 4.2 })
      rep:figure(path, { caption = ("Baseline connectivity against the HAMD-17 reduction: OLS line with the 95 %% band "
        .. "of the mean; paper r = %.2f"):format(P.r), width = "50%" })
    end
  end

  rep:provenance{ seeds = { permutations = math.tointeger(o.seed), roc_band = main and math.tointeger(o.seed) or nil,
                            simulator = simulated and math.tointeger(o.sim_seed) or nil } }
  return rep:write(out .. "/report.html")
end
