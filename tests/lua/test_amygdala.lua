-- Tests of the amygdala seed-map replication (scripts/amygdala, seed 004) on a small
-- simulated cohort: the seed maps are the Fisher-z correlations of the cleaned seed
-- mean, the voxelwise GLM finds the planted Amygdala_L - right temporal cluster (and no
-- other), the cluster table and maps are right, the ROC (circular and leave-one-out)
-- separates responders, seed_maps.lua runs end to end, and bad options or inputs raise.
local T = require "testing"
local nl = require "neurolua"

local A = dofile("../../scripts/amygdala/common.lua")
local F = A.F

local check_report = T.check_report

T.test("arguments: defaults, unknown options and bad values", function()
  local o = A.args{}
  T.eq(o.out, "out/amygdala")
  T.eq(o.seed_region, "Amygdala_L")
  T.eq(o.fwhm, 4)
  T.eq(o.cluster_p, 0.001)
  T.eq(o.connectivity, 26)
  T.eq(o.covariates, "age,sex,motion")
  T.eq(o.loo, true)
  T.eq(o.effect, 2)
  T.raises(function() A.args{ "nosuch=1" } end, "unknown option 'nosuch'")
  T.raises(function() A.args{ "connectivity=8" } end, "option 'connectivity' must be 6, 18 or 26")
  T.raises(function() A.args{ "cluster_p=0" } end, "option 'cluster_p' must be between 0 and 1")
  T.raises(function() A.args{ "loo=1" } end, "option 'loo' must be true or false")
  T.raises(function() A.args{ "permutations=-1" } end, "option 'permutations' must be a non-negative integer")
end)

if not T.atlas_installed("aal") then T.skip_rest("AAL not installed") end

-- 30 patients (15 responders), one baseline run each, 6 mm, 120 frames, the planted
-- coupling difference doubled for the few subjects.
local dir = T.tmpname("_amygdala")
local c0 = os.clock()
nl.sim.fmri{ seed = 5, dir = dir, resolution = 6, frames = 120, effect = 2,
             subjects = { patients = 30, controls = 0, responders = 15 }, sessions = { post = 0 } }
local o = A.defaults{ participants = dir .. "/participants.tsv", sessions = dir .. "/sessions.tsv",
                      wm = dir .. "/masks/wm.nii.gz", csf = dir .. "/masks/csf.nii.gz",
                      brain = dir .. "/masks/brain.nii.gz", mask = dir .. "/masks/brain.nii.gz",
                      out = dir .. "/out", permutations = 200, discard = 5 }
local study = A.inputs(o)
local Z, used, runs, mask, motion = A.seed_maps(study, o)
local r = A.statistics(study, Z, used, mask, motion, o)
print(("simulated and analysed in %.1f s CPU"):format(os.clock() - c0))

T.test("seed maps: Fisher z of the cleaned seed mean with every voxel", function()
  T.eq(Z:rows(), 30)
  T.eq(#used, 30)
  T.eq(Z:cols(), mask:stats().nonzero)
  T.eq(#runs, 30)
  -- Subject 1 again, by hand: smooth, clean voxels and seed alike, correlate.
  local s = study.sessions
  local v, clean = F.load_run(o, s, 1, study.masks, {})
  local sv = v:smooth{ fwhm = 4 }
  local lab = study.atlas:volume():resample_to(v, "nearest")
  local seed = lab:eq(study.atlas:find("^Amygdala_L$").index[1])
  local ts = clean(nl.fc.mask_means(sv, seed))
  local Y = clean(sv:timeseries(mask))
  local z = nl.fc.seed_corr(ts, Y)
  for _, j in ipairs{ 1, 100, Z:cols() } do T.near(Z:get(1, j), z:get(1, j), 1e-5) end
  local saved = nl.volume.load(("%s/seed_maps/%s_pre1_z.nii.gz"):format(o.out, s.participant_id[1]))
  T.near(saved:values(mask):get(100, 1), Z:get(1, 100), 1e-6)
  -- Response is the HAMD-17 reduction > 50 %.
  local p = study.participants
  for k, i in ipairs(used) do
    T.eq(study.response[i], (p.hamd_baseline[i] - p.hamd_week2[i]) / p.hamd_baseline[i] > 0.5, "response " .. k)
  end
end)

T.test("the planted Amygdala_L - right temporal cluster is found, and nothing else", function()
  local c = r.clusters[1]
  T.truthy(c.p_fwe < 0.05, "largest cluster p_FWE " .. c.p_fwe)
  T.truthy(c.peak > 0, "responders > non-responders")
  T.truthy(A.targets[c.peak_region], "peak in " .. c.peak_region)
  T.truthy(c.size >= 20, "cluster size " .. c.size)
  local found, elsewhere = A.check_truth(r)
  T.truthy(found)
  T.eq(elsewhere, 0)
  for k = 2, #r.clusters do T.truthy(r.clusters[k].p_fwe >= 0.05, "cluster " .. k .. " not significant") end
  -- The cluster's voxels are above the cluster-forming threshold in the t map and
  -- 26-connected into one component; the peak coordinates are those of the max t.
  local t = r.res.stat_map:values(mask)
  local best, bj = -math.huge
  for _, j in ipairs(c.voxels) do
    T.truthy(math.abs(t:get(j, 1)) >= r.res.cluster_threshold)
    if t:get(j, 1) > best then best, bj = t:get(j, 1), j end
  end
  T.near(best, c.peak, 1e-6)
  T.near(r.res.stat_map:at(c.x, c.y, c.z), c.peak, 1e-6)
  T.eq(#c.voxels, c.size)
  local text = A.format_clusters(r)
  T.truthy(text:find("Temporal_", 1, true) and text:find("paper: 33 voxels", 1, true), text)
end)

T.test("ROC of the cluster's mean z: circular and leave-one-out", function()
  local c = r.clusters[1]
  T.truthy(c.roc.auc > 0.9, "circular AUC " .. c.roc.auc)
  -- The same as nl.stats.roc on the saved per-subject means.
  local zs, lab = {}, {}
  for k = 1, #used do zs[k], lab[k] = c.subject_z:get(k, 1), r.labels[k] end
  local ref = nl.stats.roc(zs, lab)
  T.near(ref.auc, c.roc.auc, 1e-12)
  T.eq(r.loo.roc.cases + r.loo.roc.controls, 30)
  T.truthy(r.loo.roc.auc > 0.75, "LOO AUC " .. r.loo.roc.auc)
  T.truthy(r.loo.roc.auc <= c.roc.auc + 1e-12, "LOO is not better than the circular AUC")
  T.truthy(c.pearson.r > 0.3, "correlation with the HAMD reduction")
  local text = A.format_roc(r)
  T.truthy(text:find("circular", 1, true) and text:find("leave-one-out", 1, true), text)
end)

T.test("files: t map, cluster maps, tables", function()
  A.save(r, runs, study, used, o)
  local tm = nl.volume.load(o.out .. "/tmap.nii.gz")
  T.near(tm:at(r.clusters[1].x, r.clusters[1].y, r.clusters[1].z), r.clusters[1].peak, 1e-5)
  local cm = nl.volume.load(o.out .. "/cluster_mask.nii.gz")
  T.eq(cm:stats(mask).nonzero, r.clusters[1].size)
  T.eq(#nl.table.read(o.out .. "/clusters.tsv"), #r.clusters)
  local st = nl.table.read(o.out .. "/subjects.tsv")
  T.eq(#st, 30)
  T.near(st.cluster1_z[3], r.clusters[1].subject_z:get(3, 1), 1e-12)
  -- The report of a run with a significant cluster: its ROC (with the bootstrap band),
  -- box plots and correlation with the HAMD reduction.
  local path = dofile("../../scripts/amygdala/report.lua")(A, o, study, r, used)
  T.eq(path, o.out .. "/report.html")
  local html = check_report(path, { "Clusters", "The t map", "Cluster 1: connectivity and response", "Provenance" }, 5)
  T.truthy(html:find("Temporal_", 1, true) and html:find("2000 replicates", 1, true))
end)

T.test("seed_maps.lua end to end on a user's tables; input errors", function()
  local function run(args) return T.run("../../scripts/amygdala/seed_maps.lua", args) end
  -- The first 10 patients' runs only, to keep the test short.
  local st = nl.table.read(o.sessions)
  local first = {}
  for i = 1, 10 do first[i] = i end
  st:take(first):write(dir .. "/sessions10.tsv")
  local base = ("'%s/participants.tsv' '%s/sessions10.tsv' wm='%s/masks/wm.nii.gz' csf='%s/masks/csf.nii.gz' "
    .. "brain='%s/masks/brain.nii.gz'"):format(dir, dir, dir, dir, dir)
  local ok, text = run(base .. (" mask='%s/masks/brain.nii.gz' permutations=0 loo=false discard=5 out='%s/cli'"):format(dir, dir))
  T.truthy(ok, text)
  for _, s in ipairs{ "10 patients (", "26-connectivity", "no significant cluster", "Wrote" } do
    T.truthy(text:find(s, 1, true), "output has '" .. s .. "':\n" .. text)
  end
  T.truthy(F.exists(dir .. "/cli/cluster_mask.nii.gz"))
  T.truthy(text:find("Report: " .. dir .. "/cli/report.html", 1, true), text)
  local html = check_report(dir .. "/cli/report.html", { "Clusters", "The t map", "Provenance" }, 2)
  T.truthy(html:find("niivue", 1, true), "report has the t map viewer")
  ok, text = run(base .. (" out='%s/o2'"):format(dir))
  T.truthy(not ok and text:find("option 'mask'", 1, true), text)
  ok, text = run("fwhm=x")
  T.truthy(not ok and text:find("option 'fwhm' must be a number", 1, true), text)
  local o2 = {}
  for k, v in pairs(o) do o2[k] = v end
  o2.seed_region = "Amygdala_X"
  T.raises(function() A.inputs(o2) end, "option 'seed_region': atlas 'aal' has no region 'Amygdala_X'")
  o2.seed_region, o2.hamd_pre = "Amygdala_L", "hdrs0"
  local pt = nl.table.read(o.participants)
  pt.response = nil
  pt:write(dir .. "/p_noresp.tsv")
  o2.participants = dir .. "/p_noresp.tsv"
  T.raises(function() A.inputs(o2) end, "p_noresp.tsv: needs hdrs0 and hamd_week2 (HAMD-17 before and after) or a "
    .. "'response' column")
  o2.participants, o2.session = o.participants, "day13"
  T.raises(function() A.seed_maps(A.inputs(o2), o2) end, "only 0 usable baseline runs")
end)

os.execute("rm -rf '" .. dir .. "'")
T.done()
