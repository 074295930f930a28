-- scripts/limbic/network_fc.lua: network functional connectivity before and after a
-- prolonged ketamine infusion (seed 003, Siegel et al. 2021; METHODS.md section 3).
--
--   neurolua scripts/limbic/network_fc.lua [participants.tsv sessions.tsv] [key=value ...]
--
-- Without tables it simulates the default cohort (nl.sim.fmri, seed 003's design) into
-- <out>/sim. Each run is cleaned with nl.fc (discard 10 frames, linear + quadratic
-- detrending, Friston 24, white-matter, CSF and global signals, 0.01-0.1 Hz band-pass,
-- scrubbing at FD > 0.5 mm, exclusion beyond 2 mm / 2 degrees), region means come from
-- atlas:timeseries, FC is the Fisher-z Pearson correlation, and the network scores are
-- mean z within the DMN, between the sgACC and the DMN, within the limbic set and within
-- the visual network (negative control). Per score a mixed model FC ~ time +
-- time:nonresponder + (1 | subject) (REML, residual df) on the patients, and unpaired
-- t-tests patients vs controls; results are printed beside the paper's.
--
-- Your own data: participants.tsv with participant_id, group (patient / control) and
-- response (true / false; or madrs_baseline and madrs_week2), sessions.tsv with
-- participant_id, session, func_path, motion_path (SPM rp_*.txt layout) and optionally
-- run; options atlas (default aal), networks (a table name, network; default the
-- built-in assignment of nl.sim.fmri_networks), wm, csf, brain (masks), baseline
-- (sessions averaged as baseline, default pre1,pre2), post (default post).
-- Other options: out (out/limbic), sim_seed (1), resolution (3), frames (240), effect
-- (1), discard (10), detrend (2), low (0.01), high (0.1), gsr (true), scrub (true), fd
-- (0.5), amygdala (Amygdala_L), temporal (Temporal_Sup_R,Temporal_Mid_R), threads.
--
-- Writes to out: run_scores.tsv, subject_scores.tsv, mixed_models.tsv, and report.html
-- (report.lua: the clinical course, the tables, box plots of the network scores by
-- group and time, the mixed models' effects, FC change vs MADRS change; figures in
-- <out>/figures/).
local dir = (arg and arg[0] or ""):match("^(.*/)") or "./"
local L = dofile(dir .. "common.lua")

local o = L.args(arg)
local w0 = os.time()
local r = L.analyse(o)
L.save(r, o)

print(("Network FC (seed 003): %d runs of %d participants, %d excluded for head motion (> 2 mm or > 2 deg); "
  .. "%s"):format(#r.runs, #r.subjects, L.F.excluded(r.runs),
  r.study.simulated and "simulated default cohort" or o.participants))
print()
print("Clinical course of the patients (MADRS; response: >= 50 % reduction, remission: < 10)")
print(L.format_clinical(r.clinical))
print()
print("Table. Linear mixed models, patients: FC ~ time + time:nonresponder + (1 | subject), REML, residual df")
print("(responders are the reference: time = the responders' change, time:nonresponder = how much more the")
print(" non-responders' FC rises; FC = mean Fisher z over the network's region pairs)")
print(L.format_lmm(r))
print()
print("Beyond the paper: the interaction by likelihood-ratio test, with its 95 % profile-likelihood interval")
print(L.format_lmm_lrt(r))
print()
print("Patients vs controls, unpaired two-tailed Student t-tests (uncorrected)")
print(L.format_groups(r))
if r.study.simulated then
  print()
  print("Ground truth of the simulated cohort")
  local text, missed = L.check_truth(r, o.truth)
  print(text)
  print(missed == 0 and "All planted effects are recovered." or ("%d planted effect(s) NOT recovered."):format(missed))
end
print()
print(("Wrote %s/run_scores.tsv, subject_scores.tsv, mixed_models.tsv (%d s, CPU %.1f s)"):format(o.out,
  os.time() - w0, r.cpu))
-- The report: tables, box plots, mixed-model effects and scatter plots in one offline HTML file.
print("Report: " .. dofile(dir .. "report.lua")(L, o, r))
