-- scripts/connectome/connectome.lua: the whole-brain functional connectome before and
-- after serial ketamine (seed 002, Sahib et al. 2020; METHODS.md section 2).
--
--   neurolua scripts/connectome/connectome.lua [participants.tsv sessions.tsv] [key=value ...]
--
-- Without tables it simulates the default cohort (nl.sim.fmri with seed 002's sizes:
-- 40 controls, 61 patients, 51 of them rescanned after treatment) into <out>/sim.
-- Every run is cleaned with nl.fc (METHODS.md section 4's defaults), the nodes are the
-- atlas regions, and each run gives an FSLNets ridge partial correlation netmat (rho
-- 0.1) and a full correlation netmat, Fisher z, averaged over a session's runs. The
-- subjects x edges matrices go into edgewise GLMs with Freedman-Lane permutations and
-- max-T FWE: controls vs patients (age, sex), TP1 vs TP3 (and TP2) paired, remitters
-- vs non-remitters at TP1 and on the change (age, sex); post hoc correlations with the
-- % HDRS change and a time x remitter mixed model for the significant edges.
--
-- Options (docs/connectome.md): out (out/connectome), sim_seed (1), resolution (4),
-- frames (240), effect (1), atlas (aal), networks, wm, csf, brain, discard (10),
-- detrend (2), low (0.01), high (0.1), gsr (true), scrub (true), fd (0.5), tp1 (pre1),
-- tp2 (none), tp3 (post), hdrs_pre (hamd_baseline), hdrs_post (hamd_week2),
-- remission (7), covariates (age,sex), netmat (partial,full), rho (0.1), permutations
-- (5000), seed (1), tfce (0; 1 adds edge-level TFCE), threads.
--
-- Writes to out: runs.tsv, nodes.tsv, netmat_ward.tsv, edges_*.tsv, glm_*.tsv,
-- significant_edges.tsv, and report.html (report.lua: the tables, the paper's Fig. 1b,
-- the edge statistics per contrast and box plots; figures in <out>/figures/).
local dir = (arg and arg[0] or ""):match("^(.*/)") or "./"
local C = dofile(dir .. "common.lua")

local o = C.args(arg)
local w0 = os.time()
local r = C.analyse(o)
C.save(r, o)

print(("Functional connectome (seed 002): %d runs, %d excluded for head motion; %d nodes (%s), %d edges; %s"):format(
  #r.runs, C.F.excluded(r.runs), #r.nodes, r.study.atlas:name(), #r.edges,
  r.study.simulated and "simulated default cohort" or o.participants))
local rem, non = 0, 0
for _, v in pairs(r.study.remit) do if v then rem = rem + 1 else non = non + 1 end end
print(("Patients with an outcome: %d remitters, %d non-remitters (paper: 24 of 51 remitted)"):format(rem, non))
print()
print("Table. Edgewise GLMs on the netmats (Fisher z, averaged over runs), FWE p < 0.05 across the netmat")
print(C.format_results(r, r.study.simulated))
print()
print("Strongest significant edges")
print(C.format_edges(r))
print()
print("Post hoc (significant edges of the patient contrasts; % HDRS change = (TP3 - TP1) / TP1)")
print(C.format_post_hoc(r))
print()
print(("Wrote %s/runs.tsv, nodes.tsv, netmat_ward.tsv, edges_*.tsv, glm_*.tsv, significant_edges.tsv "
  .. "(%d s, CPU %.1f s)"):format(o.out, os.time() - w0, r.cpu))
-- The report: tables, Fig. 1b, edge statistics and box plots in one offline HTML file.
print("Report: " .. dofile(dir .. "report.lua")(C, o, r))
