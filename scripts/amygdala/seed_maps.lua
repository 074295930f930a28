-- scripts/amygdala/seed_maps.lua: left laterobasal amygdala seed-to-voxel connectivity
-- at baseline as a predictor of ketamine response (seed 004; METHODS.md section 4).
--
--   neurolua scripts/amygdala/seed_maps.lua [participants.tsv sessions.tsv] [key=value ...]
--
-- Without tables it simulates the default cohort (nl.sim.fmri: 39 patients, 19
-- responders, one baseline run each, AAL at 3 mm, effect 2) into <out>/sim. Per
-- patient: nuisance signals, 4 mm FWHM smoothing, METHODS.md section 4's cleaning, the
-- seed's mean time series (AAL Amygdala_L, the simulator's LBA analogue), its Fisher-z
-- correlation with every voxel of the brain mask. Then the voxelwise GLM responders -
-- non-responders with age, sex and head motion, clusters at p < 0.001 with
-- 26-connectivity and cluster-size FWE by Freedman-Lane permutation, the cluster
-- table, and the ROC of each subject's mean z in the significant cluster (circular, as
-- the paper's) and its leave-one-out counterpart.
--
-- Options (docs/amygdala.md): out (out/amygdala), sim_seed (1), resolution (3), frames
-- (240), effect (2), atlas (aal), seed_region (Amygdala_L), session (pre1), mask, wm,
-- csf, brain, fwhm (4), discard (10), detrend (2), low (0.01), high (0.1), gsr (true),
-- scrub (true), fd (0.5), hamd_pre (hamd_baseline), hamd_post (hamd_week2), covariates
-- (age,sex,motion), cluster_p (0.001), connectivity (26), permutations (5000), seed
-- (1), loo (true), threads.
--
-- Writes to out: seed_maps/, runs.tsv, clusters.tsv, subjects.tsv, tmap.nii.gz,
-- clusters.nii.gz, cluster_mask.nii.gz, and report.html (report.lua: the cluster table,
-- the t map in slices and in a viewer, the ROC and box plots of the cluster's
-- connectivity; figures in <out>/figures/).
local dir = (arg and arg[0] or ""):match("^(.*/)") or "./"
local A = dofile(dir .. "common.lua")

local o = A.args(arg)
local w0 = os.time()
local study = A.inputs(o)
local c0 = os.clock()
local Z, used, runs, mask, motion = A.seed_maps(study, o)
local r = A.statistics(study, Z, used, mask, motion, o)
A.save(r, runs, study, used, o)

print(("Amygdala seed maps (seed 004): seed %s, session %s; %d patients (%d responders, HAMD-17 reduction > 50 %%; "
  .. "paper %d of %d), %d runs excluded for head motion; %d voxels in the mask; %s"):format(o.seed_region, o.session,
  r.n, r.responders, A.paper.responders, A.paper.n, A.F.excluded(runs), Z:cols(),
  study.simulated and "simulated default cohort" or o.participants))
print()
print(("Table. Responders - non-responders, covariates %s; clusters of |t| at two-sided p < %g (|t| >= %.2f, df %d), "
  .. "%d-connectivity; FWE by cluster size over %d permutations (Freedman-Lane), FDR over the clusters' "
  .. "uncorrected p"):format(o.covariates, o.cluster_p, r.res.cluster_threshold, math.floor(r.res.df + 0.5),
  math.tointeger(o.connectivity), r.res.permutations or 0))
print(A.format_clusters(r))
print()
print("ROC of each subject's mean z in the significant cluster (responders vs non-responders; DeLong CI, Youden cut-off)")
print(A.format_roc(r))
if study.simulated then
  local found, elsewhere = A.check_truth(r)
  print()
  print(("Ground truth: the planted Amygdala_L - right temporal (Temporal_Sup_R, Temporal_Mid_R) coupling is %s; "
    .. "%d significant cluster(s) elsewhere."):format(found and "found" or "NOT found", elsewhere))
end
print()
print(("Wrote %s/seed_maps/, runs.tsv, clusters.tsv, subjects.tsv, tmap.nii.gz, clusters.nii.gz, cluster_mask.nii.gz "
  .. "(%d s, CPU %.1f s)"):format(o.out, os.time() - w0, os.clock() - c0))
-- The report: cluster table, t map figures and viewer, ROC and box plots in one offline HTML file.
print("Report: " .. dofile(dir .. "report.lua")(A, o, study, r, used))
