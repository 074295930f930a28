-- scripts/amygdala/common.lua: seed-to-voxel connectivity of the left laterobasal
-- amygdala as a predictor of ketamine response (seed 004; METHODS.md section 4): seed
-- maps per subject at baseline, the voxelwise GLM responders vs non-responders with
-- covariates, cluster-size FWE by permutation, the cluster table, the ROC of the
-- cluster's connectivity, and printing beside the paper's figures.
--
-- Loaded by seed_maps.lua and the tests with dofile; returns a table of functions.
local nl = require "neurolua"
-- This file's folder: from its chunk name, or under --sandbox (no debug.getinfo) from
-- the running script, which lies next to it.
local here = (debug.getinfo and debug.getinfo(1, "S").source or "@" .. (arg and arg[0] or "")):match("^@(.*/)") or "./"
local F = dofile(here .. "../lib/fmri_study.lua")

local A = { F = F }

-- ---------------------------------------------------------------- the paper

-- Seed 004, Results and Fig. 4: 39 patients (19 responders, HAMD-17 reduction > 50 %
-- on day 13), left LBA seed; responders > non-responders in the right STG/MTG: 33
-- voxels, peak MNI (51, -30, 3), t = 5.15, cluster pFDR = 0.019 (height p < 0.001);
-- r = 0.57 with the HAMD-17 reduction; ROC AUC 0.918 (95 % CI 0.832-1.000), sensitivity
-- 89.5 %, specificity 85.0 %.
A.paper = { n = 39, responders = 19, size = 33, peak = { 51, -30, 3 }, t = 5.15, p_fdr = 0.019,
            region = "right STG/MTG", r = 0.57, auc = 0.918, ci = { 0.832, 1.000 }, sensitivity = 0.895,
            specificity = 0.850 }

-- The simulated default cohort: seed 004's patients (39, 19 responders), one baseline
-- run each, AAL at 3 mm, planted effects doubled (effect = 2). nl.sim.fmri plants the Amygdala_L - right temporal coupling
-- (Temporal_Sup_R, Temporal_Mid_R) higher in responders.
A.sim_design = { subjects = { patients = 39, controls = 0, responders = 19, dropouts = 0 },
                 sessions = { pre2 = 0, post = 0, control_repeat = 0 }, motion_outliers = 0 }
A.targets = { Temporal_Sup_R = true, Temporal_Mid_R = true }

-- ---------------------------------------------------------------- arguments

local allowed = { seed_region = "string", session = "string", mask = "string", fwhm = "number",
                  covariates = "string", hamd_pre = "string", hamd_post = "string", cluster_p = "number",
                  connectivity = "number", permutations = "number", seed = "number", loo = "boolean" }

function A.args(argv) return A.defaults(F.args(argv, allowed)) end

function A.defaults(o)
  o.out = o.out or "out/amygdala"
  o.resolution = o.resolution or 3
  -- The simulator's amygdala-temporal coupling at effect 1 (responders 0.45,
  -- non-responders 0.15) is found by region means but not voxel by voxel with 39
  -- patients; at 2 (0.65 and 0.05) the voxelwise study recovers it (docs/amygdala.md).
  o.effect = o.effect or 2
  o.seed_region = o.seed_region or "Amygdala_L"
  o.session = o.session or "pre1"
  o.fwhm = o.fwhm or 4
  o.covariates = o.covariates or "age,sex,motion"
  o.hamd_pre = o.hamd_pre or "hamd_baseline"
  o.hamd_post = o.hamd_post or "hamd_week2"
  o.cluster_p = o.cluster_p or 0.001
  o.connectivity = o.connectivity or 26
  if o.loo == nil then o.loo = true end
  if not (o.cluster_p > 0 and o.cluster_p < 1) then error("option 'cluster_p' must be between 0 and 1", 0) end
  if o.connectivity ~= 6 and o.connectivity ~= 18 and o.connectivity ~= 26 then
    error("option 'connectivity' must be 6, 18 or 26", 0)
  end
  return F.cleaning_defaults(F.permutation_defaults(o))
end

-- ---------------------------------------------------------------- inputs

-- The patients of the baseline session with a known response: HAMD-17 reduction > 50 %
-- (from o.hamd_pre / o.hamd_post) or a `response` column (true / false).
function A.inputs(o)
  local simulated = not o.participants
  if simulated then
    F.simulate(o, A.sim_design, "seed004")
    o.mask = o.mask or o.brain
  end
  local p, s = F.read_tables(o, {}, { [o.session] = true })
  local response, reduction = {}, {}
  local hamd = F.has_column(p, o.hamd_pre) and F.has_column(p, o.hamd_post)
  if not hamd and not F.has_column(p, "response") then
    error(("%s: needs %s and %s (HAMD-17 before and after) or a 'response' column"):format(o.participants,
      o.hamd_pre, o.hamd_post), 0)
  end
  for i = 1, #p do
    if p.group[i] == "patient" then
      if hamd then
        local a, b = p[o.hamd_pre][i], p[o.hamd_post][i]
        if F.present(a) and F.present(b) and a > 0 then
          reduction[i] = 100 * (a - b) / a
          response[i] = reduction[i] > 50
        end
      elseif type(p.response[i]) == "boolean" then
        response[i] = p.response[i]
      end
    end
  end
  local atlas = nl.atlas.load(o.atlas)
  local found = false
  for _, n in ipairs(atlas:names()) do found = found or n == o.seed_region end
  if not found then
    error(("option 'seed_region': atlas '%s' has no region '%s'"):format(atlas:name(), o.seed_region), 0)
  end
  if not o.mask then error("option 'mask' (the brain mask of the voxelwise analysis) is required for your own data", 0) end
  return { participants = p, sessions = s, atlas = atlas, masks = F.mask_list(o), response = response,
           reduction = reduction, simulated = simulated }
end

-- ---------------------------------------------------------------- seed maps

-- One Fisher-z seed map per patient with a response (the first run of the session
-- that is not excluded for head motion): nuisance signals from the image, 4 mm FWHM
-- smoothing, the voxels of the mask and the seed's mean cleaned alike, Pearson r,
-- Fisher z. Returns the subjects x voxels Matrix, the rows of the participants used,
-- a runs Table and the mask and seed Volumes on the images' grid. Maps are written to
-- <out>/seed_maps.
function A.seed_maps(study, o)
  local s, p = study.sessions, study.participants
  local row = {}
  for i = 1, #p do row[p.participant_id[i]] = i end
  local cols = { participant_id = {}, run = {}, frames_kept = {}, mean_fd = {}, max_translation = {},
                 max_rotation = {}, excluded = {} }
  local zrows, used, motion, cache, done = {}, {}, {}, {}, {}
  local mask, seed
  nl.mkdir(o.out .. "/seed_maps")
  local n = 0
  local step = nl.progress_line("seed maps", #s, "runs")
  for i = 1, #s do
    step(i - 1)
    local id = s.participant_id[i]
    local pi = row[id]
    if study.response[pi] ~= nil and not done[id] then
      local v <close>, clean, func = F.load_run(o, s, i, study.masks, cache)
      if not mask or cache.grid ~= mask.grid then
        mask = { vol = nl.volume.load(o.mask):resample_to(v, "nearest"), grid = cache.grid }
        local lab = study.atlas:volume():resample_to(v, "nearest")
        local index
        for _, r in study.atlas:regions():rows() do
          if r.name == o.seed_region then index = r.index end
        end
        seed = lab:eq(index)
        if seed:stats().nonzero == 0 then
          error(("%s: seed region '%s' has no voxel on this image's grid"):format(func, o.seed_region), 0)
        end
      end
      local sv <close> = o.fwhm > 0 and v:smooth{ fwhm = o.fwhm } or v:clone()
      local Yc, info = clean(sv:timeseries(mask.vol))
      n = n + 1
      cols.participant_id[n], cols.run[n] = id, F.has_column(s, "run") and s.run[i] or 1
      cols.frames_kept[n], cols.mean_fd[n] = info.n_kept, info.mean_fd
      cols.max_translation[n], cols.max_rotation[n], cols.excluded[n] = info.max_translation, info.max_rotation,
        info.exclude
      if not info.exclude then
        done[id] = true
        local ts = clean(nl.fc.mask_means(sv, seed))
        local z = nl.fc.seed_map(ts, Yc, mask.vol)
        z:save(("%s/seed_maps/%s_%s_z.nii.gz"):format(o.out, id, o.session))
        zrows[#zrows + 1] = z:values(mask.vol):t()
        used[#used + 1], motion[#used + 1] = pi, info.mean_fd
      end
    end
  end
  step(#s)
  if #zrows < 4 then error(("only %d usable baseline runs of patients with a known response"):format(#zrows), 0) end
  local runs = F.table({ "participant_id", "run", "frames_kept", "mean_fd", "max_translation", "max_rotation",
                         "excluded" }, cols, n)
  return nl.matrix.vcat(table.unpack(zrows)), used, runs, mask.vol, motion
end

-- ---------------------------------------------------------------- statistics

local function design(study, rows, cov)
  local lab = {}
  for k, i in ipairs(rows) do lab[k] = study.response[i] end
  return nl.stats.design_two_sample(lab, { levels = { true, false }, covariates = cov })
end

-- The voxels (positions in the mask's order) of cluster `id` of a GLM result.
local function cluster_voxels(res, mask, id)
  local v, idx = res.cluster_map:values(mask), {}
  for j = 1, v:rows() do
    if v:get(j, 1) == id then idx[#idx + 1] = j end
  end
  return idx
end
A.cluster_voxels = cluster_voxels

-- Region names of the atlas at the peak (world mm) and the share of each region in a
-- cluster's voxels.
local function regions_of(study, res, mask, idx, c)
  local lab = study.labels
  local names = study.region_names
  local at = study.atlas_volume:at(c.x, c.y, c.z)
  local count = {}
  local lv = lab:values(mask)
  for _, j in ipairs(idx) do
    local l = lv:get(j, 1)
    count[l] = (count[l] or 0) + 1
  end
  local list = {}
  for l, k in pairs(count) do list[#list + 1] = { name = names[l] or "(unlabelled)", share = k / #idx } end
  table.sort(list, function(a, b) return a.share > b.share end)
  return (at and names[at]) or "(unlabelled)", list
end

-- Everything after the seed maps: the voxelwise GLM with cluster inference, the
-- cluster table with regions, the ROC of each significant cluster's mean z, the
-- correlation with the HAMD reduction, and (o.loo) the leave-one-out ROC.
function A.statistics(study, Z, used, mask, motion, o)
  local cov = F.covariates(study.participants, used, F.split(o.covariates), o.participants, { motion = motion })
  local res = nl.stats.glm(Z, design(study, used, cov), { permutations = math.tointeger(o.permutations),
    seed = math.tointeger(o.seed), progress = false,
    cluster = { mask = mask, p = o.cluster_p, connectivity = math.tointeger(o.connectivity) } })
  study.atlas_volume = study.atlas:volume()
  study.labels = study.atlas_volume:resample_to(mask, "nearest")
  study.region_names = {}
  for _, r in study.atlas:regions():rows() do study.region_names[r.index] = r.name end
  local labels = {}
  for k, i in ipairs(used) do labels[k] = study.response[i] end
  local out = { res = res, clusters = {}, labels = labels, n = #used }
  for k = 1, #labels do out.responders = (out.responders or 0) + (labels[k] and 1 or 0) end
  local ct = res.clusters
  for c = 1, #ct do
    local row = ct:row(c)
    local idx = cluster_voxels(res, mask, row.cluster)
    row.peak_region, row.regions = regions_of(study, res, mask, idx, row)
    row.voxels = idx
    if row.p_fwe < 0.05 then
      row.subject_z = Z:cols_at(idx):mean(2)
      local zs = {}
      for k = 1, #used do zs[k] = row.subject_z:get(k, 1) end
      row.roc = nl.stats.roc(zs, labels, { direction = row.peak > 0 and "<" or ">" })
      local red, zr = {}, {}
      for k, i in ipairs(used) do
        if study.reduction[i] then red[#red + 1], zr[#zr + 1] = study.reduction[i], zs[k] end
      end
      if #red >= 4 then row.pearson = nl.stats.pearson(zr, red) end
    end
    out.clusters[#out.clusters + 1] = row
  end
  if o.loo and out.clusters[1] and out.clusters[1].roc then out.loo = A.loo(study, Z, used, mask, cov, o, out) end
  return out
end

-- Leave-one-out ROC (the circularity-free version): for each subject, the GLM on the
-- others (same threshold and connectivity, no permutations) gives the largest cluster
-- whose peak has the sign of the primary cluster's; the left-out subject's score is its
-- mean z there minus the midpoint of the training responders' and non-responders'
-- means (sign-oriented), 0 when the training data give no such cluster.
function A.loo(study, Z, used, mask, cov, o, out)
  local sign = out.clusters[1].peak > 0 and 1 or -1
  local n = #used
  local scores, empty = {}, 0
  for i = 1, n do
    local rows, train = {}, {}
    for k = 1, n do if k ~= i then rows[#rows + 1], train[#train + 1] = k, used[k] end end
    local c
    if cov then
      local list = {}
      for _, name in ipairs(cov:columns()) do
        local v = { n = #rows }
        for k, r in ipairs(rows) do v[k] = cov[name][r] end
        list[#list + 1] = { name, v }
      end
      c = nl.table.new(list)
    end
    local Zt = Z:rows_at(rows)
    local res = nl.stats.glm(Zt, design(study, train, c), { permutations = 0, progress = false,
      cluster = { mask = mask, p = o.cluster_p, connectivity = math.tointeger(o.connectivity) } })
    local best
    for k = 1, #res.clusters do
      if res.clusters.peak[k] * sign > 0 then best = res.clusters.cluster[k] break end
    end
    if best then
      local idx = cluster_voxels(res, mask, best)
      local zm = Zt:cols_at(idx):mean(2)
      local s1, n1, s0, n0 = 0, 0, 0, 0
      for k, r in ipairs(rows) do
        if out.labels[r] then s1, n1 = s1 + zm:get(k, 1), n1 + 1 else s0, n0 = s0 + zm:get(k, 1), n0 + 1 end
      end
      local zi = Z:row(i):cols_at(idx):mean()
      scores[i] = sign * (zi - (s1 / n1 + s0 / n0) / 2)
    else
      scores[i], empty = 0, empty + 1
    end
  end
  return { roc = nl.stats.roc(scores, out.labels, { direction = "<" }), scores = scores, empty = empty }
end

-- ---------------------------------------------------------------- printing

local pfmt = F.pfmt

function A.format_clusters(r, max)
  local head = ("%4s %6s %9s %7s %17s  %-18s %-40s %8s %8s"):format("#", "voxels", "mm3", "peak t", "peak x, y, z (mm)",
    "peak region", "regions (share of voxels)", "p_FWE", "p_FDR")
  local lines = { head, string.rep("-", #head) }
  for k, c in ipairs(r.clusters) do
    if k > (max or 10) then
      lines[#lines + 1] = ("... and %d smaller clusters"):format(#r.clusters - k + 1)
      break
    end
    local parts = {}
    for m = 1, math.min(3, #c.regions) do
      parts[#parts + 1] = ("%s %.0f%%"):format(c.regions[m].name, 100 * c.regions[m].share)
    end
    lines[#lines + 1] = ("%4d %6d %9.0f %7.2f %17s  %-18s %-40s %8s %8s"):format(c.cluster, c.size, c.volume_mm3, c.peak,
      ("%.0f, %.0f, %.0f"):format(c.x, c.y, c.z), c.peak_region, table.concat(parts, ", "), pfmt(c.p_fwe),
      pfmt(c.p_fdr))
  end
  if #r.clusters == 0 then lines[#lines + 1] = "(no voxel passes the cluster-forming threshold)" end
  local P = A.paper
  lines[#lines + 1] = ("paper: %d voxels, peak t = %.2f at (%d, %d, %d), %s, cluster pFDR = %.3f (SPM, height p < 0.001)")
    :format(P.size, P.t, P.peak[1], P.peak[2], P.peak[3], P.region, P.p_fdr)
  return table.concat(lines, "\n")
end

function A.format_roc(r)
  local lines = {}
  local P = A.paper
  local function row(what, roc)
    lines[#lines + 1] = ("%-34s AUC %.3f (95 %% CI %.3f-%.3f), cut-off %.4f: sensitivity %.1f %%, specificity %.1f %%")
      :format(what, roc.auc, roc.ci[1], roc.ci[2], roc.threshold, 100 * roc.sensitivity, 100 * roc.specificity)
  end
  for _, c in ipairs(r.clusters) do
    if c.roc then
      row(("cluster %d (%s), circular"):format(c.cluster, c.peak_region), c.roc)
      if c.pearson then
        lines[#lines + 1] = ("%-34s r = %.2f, p = %s with the HAMD-17 reduction (%%)"):format("", c.pearson.r,
          pfmt(c.pearson.p))
      end
    end
  end
  if #lines == 0 then return "(no significant cluster: no ROC)" end
  if r.loo then
    row("leave-one-out (not circular)", r.loo.roc)
    if r.loo.empty > 0 then
      lines[#lines + 1] = ("%-34s %d folds found no cluster (score 0)"):format("", r.loo.empty)
    end
  end
  lines[#lines + 1] = ("%-34s AUC %.3f (95 %% CI %.3f-%.3f), sensitivity %.1f %%, specificity %.1f %%; r = %.2f")
    :format("paper (circular)", P.auc, P.ci[1], P.ci[2], 100 * P.sensitivity, 100 * P.specificity, P.r)
  return table.concat(lines, "\n")
end

-- For a simulated cohort: whether the largest significant cluster lies in the planted
-- targets (its peak region and most of its voxels) and how many significant clusters
-- lie elsewhere.
function A.check_truth(r)
  local found, elsewhere = false, 0
  for _, c in ipairs(r.clusters) do
    if c.p_fwe < 0.05 then
      local share = 0
      for _, g in ipairs(c.regions) do if A.targets[g.name] then share = share + g.share end end
      if A.targets[c.peak_region] and share > 0.5 and c.peak > 0 then found = true
      elseif share <= 0.5 then elsewhere = elsewhere + 1 end
    end
  end
  return found, elsewhere
end

-- ---------------------------------------------------------------- files

-- Writes runs.tsv, clusters.tsv, subjects.tsv (response, covariates, mean z in each
-- significant cluster, the LOO score), tmap.nii.gz, clusters.nii.gz (cluster numbers)
-- and cluster_mask.nii.gz (the FWE-significant clusters) to o.out; atomically.
function A.save(r, runs, study, used, o)
  nl.mkdir(o.out)
  runs:write(o.out .. "/runs.tsv")
  local res = r.res
  res.stat_map:save(o.out .. "/tmap.nii.gz")
  res.cluster_map:save(o.out .. "/clusters.nii.gz")
  local sigmask = res.cluster_map * 0
  for _, c in ipairs(r.clusters) do
    if c.p_fwe < 0.05 then sigmask = sigmask + res.cluster_map:eq(c.cluster) end
  end
  sigmask:gt(0):save(o.out .. "/cluster_mask.nii.gz")
  local ct = res.clusters
  local pr = {}
  for k, c in ipairs(r.clusters) do pr[k] = c.peak_region end
  if #ct > 0 then ct.peak_region = pr end
  ct:write(o.out .. "/clusters.tsv")
  local cols = { { "participant_id", {} }, { "response", {} } }
  for k, i in ipairs(used) do
    cols[1][2][k], cols[2][2][k] = study.participants.participant_id[i], study.response[i]
  end
  for _, c in ipairs(r.clusters) do
    if c.subject_z then cols[#cols + 1] = { ("cluster%d_z"):format(c.cluster), c.subject_z } end
  end
  if r.loo then cols[#cols + 1] = { "loo_score", r.loo.scores } end
  nl.table.new(cols):write(o.out .. "/subjects.tsv")
end

return A
