-- Tests of the network-connectivity replication (scripts/limbic, seed 003): the
-- t-tests against SciPy, and the whole analysis on a small simulated
-- cohort: the planted effects are recovered (ground_truth.tsv), the visual network is
-- unchanged, the motion outlier is excluded, and network_fc.lua runs end to end on a
-- user's tables.
local T = require "testing"
local nl = require "neurolua"

local L = dofile("../../scripts/limbic/common.lua")

local check_report = T.check_report

T.test("the t-tests (nl.stats) agree with SciPy", function()
  -- scipy 1.10: ttest_ind (Student and Welch), ttest_rel.
  local a, b = { 0.31, 0.42, 0.29, 0.55, 0.47, 0.38 }, { 0.21, 0.35, 0.18, 0.26, 0.30 }
  local s = L.t_test(a, b)
  T.near(s.t, 2.7448051094268897, 1e-12)
  T.near(s.p, 0.022668651340016253, 1e-10)
  T.eq(s.df, 9)
  T.eq(s.n_x, 6)
  T.near(s.mean_x - s.mean_y, 0.1433333333333333, 1e-12)
  local w = L.t_test(a, b, true)
  T.near(w.t, 2.8433830703323073, 1e-12)
  T.near(w.p, 0.01976773714509082, 1e-10)
  -- Paired: post - pre.
  local p = L.paired_t({ 29, 31, 27, 33, 25, 30 }, { 12, 20, 9, 14, 22, 10 })
  T.near(p.t, -5.5, 1e-12)
  T.near(p.p, 0.002715084889555306, 1e-10)
  T.eq(p.df, 5)
end)

T.test("arguments: unknown options and bad values are refused", function()
  T.raises(function() L.args{ "nosuch=1" } end, "unknown option 'nosuch'")
  T.raises(function() L.args{ "discard=ten" } end, "option 'discard' must be a number")
  T.raises(function() L.args{ "gsr=yes" } end, "option 'gsr' must be true or false")
  T.raises(function() L.args{ "p.tsv" } end, "needs its sessions table")
  local o = L.args{ "a.tsv", "b.tsv", "fd=0.3", "gsr=false" }
  T.eq(o.participants, "a.tsv")
  T.eq(o.sessions, "b.tsv")
  T.eq(o.fd, 0.3)
  T.eq(o.gsr, false)
  T.eq(o.discard, 10)
  T.eq(o.detrend, 2)
end)

if not T.atlas_installed("aal") then T.skip_rest("AAL not installed") end

-- A small cohort: 12 patients (6 responders, all with a second baseline scan and a post
-- scan) and 8 controls, 6 mm, 120 frames, the planted differences doubled (effect = 2)
-- for the few subjects; one post run with excessive motion.
local dir = T.tmpname("_limbic")
local c0 = os.clock()
local p, sessions = nl.sim.fmri{ seed = 4, dir = dir, resolution = 6, frames = 120, effect = 2,
                                 subjects = { patients = 12, controls = 8, responders = 6 },
                                 sessions = { pre2 = 12 }, motion_outliers = 1 }
T.eq(#p, 20)
T.eq(#sessions, 12 * 3 + 8)
print(("simulated in %.1f s CPU"):format(os.clock() - c0))

local o = L.defaults{ participants = dir .. "/participants.tsv", sessions = dir .. "/sessions.tsv",
                      networks = dir .. "/networks.tsv", wm = dir .. "/masks/wm.nii.gz",
                      csf = dir .. "/masks/csf.nii.gz", brain = dir .. "/masks/brain.nii.gz",
                      out = dir .. "/out" }
c0 = os.clock()
local r = L.analyse(o)
print(("analysed in %.1f s CPU"):format(os.clock() - c0))

T.test("runs are cleaned, the outlier excluded, scores averaged per subject", function()
  T.eq(#r.runs, #sessions)
  local excluded = 0
  for i = 1, #r.runs do
    if r.runs.excluded[i] then
      excluded = excluded + 1
      T.eq(r.runs.session[i], "post")
      T.truthy(r.runs.max_translation[i] > 2)
      T.eq(r.runs.dmn[i], nil)
    else
      T.truthy(r.runs.frames_kept[i] > 80 and r.runs.frames_kept[i] <= 110, "frames kept " .. r.runs.frames_kept[i])
      T.truthy(r.runs.sgacc_dmn[i] > -1 and r.runs.sgacc_dmn[i] < 2)
    end
  end
  T.eq(excluded, 1)
  -- 12 patients with an outcome: 12 baselines + 11 post observations.
  T.eq(#r.long, 23)
  T.eq(r.lmm.sgacc_dmn.n, 23)
  T.near(r.lmm.sgacc_dmn.time.df, 20, 1e-12)
  -- A subject's baseline is the mean of its two baseline sessions.
  local id = r.subjects.participant_id[1]
  local s = {}
  for i = 1, #r.runs do
    if r.runs.participant_id[i] == id and r.runs.session[i] ~= "post" then s[#s + 1] = r.runs.limbic[i] end
  end
  T.eq(#s, 2)
  T.near(r.subjects.limbic_pre[1], (s[1] + s[2]) / 2, 1e-12)
end)

T.test("the planted effects are recovered; visual is unchanged", function()
  local text, missed, checks = L.check_truth(r, dir .. "/ground_truth.tsv")
  T.eq(missed, 0, "required effects not recovered:\n" .. text)
  local n = 0
  for _, c in ipairs(checks) do
    if c.required then n = n + 1 end
  end
  T.eq(n, 9)
  local sg, lim, vis = r.lmm.sgacc_dmn, r.lmm.limbic, r.lmm.visual
  T.truthy(sg.time.t < -3, "sgACC-DMN time t " .. sg.time.t)
  T.truthy(sg.interaction.t > 2, "sgACC-DMN interaction t " .. sg.interaction.t)
  T.truthy(lim.time.t < -3, "limbic time t " .. lim.time.t)
  T.truthy(math.abs(lim.interaction.t) < 2, "limbic interaction t " .. lim.interaction.t)
  -- Nothing is planted in the visual network: no result there passes the paper's
  -- Bonferroni threshold (p < 0.05 alone is crossed by chance in 1 of 20 cohorts).
  T.truthy(vis.time.p > 0.00625 and vis.interaction.p > 0.00625,
    ("visual unchanged: t %.2f, %.2f"):format(vis.time.t, vis.interaction.t))
  T.truthy(r.groups.visual.pre_vs_controls.p > 0.00625, "visual patients = controls")
  T.truthy(r.groups.limbic.pre_vs_controls.t > 2, "limbic hyperconnected at baseline")
  T.truthy(r.groups.somatomotor.pre_vs_controls.t < -2, "somatomotor lower in patients")
  T.truthy(r.groups.amygdala_temporal.responders_vs_nonresponders.t > 2, "amygdala-temporal higher in responders")
  -- The mixed model is the one of nl.stats.lmm on the long table.
  local m = nl.stats.lmm{ y = "limbic", fixed = { "time", "time:nonresponder" }, group = "subject", data = r.long }
  T.near(m.coefficients_.t[2], lim.time.t, 1e-12)
  T.eq(m.coefficients_.term[3], "time:nonresponder[true]")
  -- The likelihood-ratio test of the interaction and its profile interval are dual (both
  -- from the ML deviance): the interval excludes 0 exactly when p < 0.05; the planted
  -- sgACC-DMN interaction is found by both, and the interval holds the estimate.
  for _, key in ipairs{ "sgacc_dmn", "limbic", "visual" } do
    local x = r.lmm[key]
    T.truthy(x.lrt and x.profile, key .. ": LRT and profile interval made")
    T.eq(x.profile.parameter, "time:nonresponder[true]")
    T.truthy(x.profile.lower < x.interaction.estimate and x.interaction.estimate < x.profile.upper, key)
    T.eq(x.profile.lower > 0 or x.profile.upper < 0, x.lrt.p < 0.05, key .. ": interval and LRT agree")
  end
  T.truthy(sg.lrt.p < 0.05, "sgACC-DMN interaction by LRT, p " .. sg.lrt.p)
  T.truthy(L.format_lmm_lrt(r):find("95 % profile interval", 1, true))
end)

T.test("tables are written; the printed tables show the paper's figures", function()
  L.save(r, o)
  T.eq(#nl.table.read(o.out .. "/run_scores.tsv"), #sessions)
  T.eq(#nl.table.read(o.out .. "/subject_scores.tsv"), 20)
  local mm = nl.table.read(o.out .. "/mixed_models.tsv")
  T.eq(#mm, 2 * #r.keys)
  local text = L.format_lmm(r)
  T.truthy(text:find("-3.50", 1, true) and text:find("0.028", 1, true), text)
  T.truthy(L.format_groups(r):find("patients pre vs controls", 1, true))
  T.truthy(L.format_clinical(r.clinical):find("16/22", 1, true))
  -- The report: every figure, the scatter of FC change against MADRS change included.
  local path = dofile("../../scripts/limbic/report.lua")(L, o, r)
  check_report(path, { "Clinical course", "Linear mixed models", "Patients vs controls",
    "Network connectivity by group and time point", "FC change and clinical change", "Provenance" }, 9)
end)

T.test("network_fc.lua runs end to end on a user's tables", function()
  -- A tiny cohort: 4 patients, 3 controls, 80 frames.
  local tiny = T.tmpname("_limbic_cli")
  nl.sim.fmri{ seed = 2, dir = tiny, resolution = 6, frames = 80, subjects = { patients = 4, controls = 3 },
               motion_outliers = 1 }
  local script = "../../scripts/limbic/network_fc.lua"
  local ok, text = T.run(script, ("'%s/participants.tsv' '%s/sessions.tsv' networks='%s' wm='%s' csf='%s' "
    .. "brain='%s' out='%s/out'"):format(tiny, tiny, tiny .. "/networks.tsv", tiny .. "/masks/wm.nii.gz",
    tiny .. "/masks/csf.nii.gz", tiny .. "/masks/brain.nii.gz", tiny))
  T.truthy(ok, "exit status 0:\n" .. text)
  for _, s in ipairs{ "Linear mixed models", "sgACC-DMN", "time:nonresponder", "patients pre vs controls",
                      "11 runs of 7 participants, 1 excluded for head motion", "-3.50" } do
    T.truthy(text:find(s, 1, true), "output has '" .. s .. "':\n" .. text)
  end
  T.truthy(L.F.exists(tiny .. "/out/mixed_models.tsv"))
  T.truthy(text:find("Report: " .. tiny .. "/out/report.html", 1, true), text)
  check_report(tiny .. "/out/report.html", { "Clinical course", "Linear mixed models", "Patients vs controls",
    "Network connectivity by group and time point", "Provenance" }, 3)
  ok, text = T.run(script, ("'%s/participants.tsv' '%s/sessions.tsv' out='%s/o2'"):format(tiny, tiny, tiny))
  T.truthy(not ok and text:find("option 'wm'", 1, true), text)
  ok, text = T.run(script, "nosuch=1")
  T.truthy(not ok and text:find("unknown option 'nosuch'", 1, true), text)

  -- Input checks: group values, unknown participants; a session outside baseline and
  -- post is skipped.
  local function list(c) local x = { n = #c } for i = 1, #c do x[i] = c[i] end return x end
  local base = L.defaults{ participants = tiny .. "/participants.tsv", sessions = tiny .. "/sessions.tsv",
                           wm = tiny .. "/masks/wm.nii.gz", csf = tiny .. "/masks/csf.nii.gz",
                           brain = tiny .. "/masks/brain.nii.gz", out = tiny .. "/o3" }
  local pt = nl.table.read(base.participants)
  local g = list(pt.group)
  g[2] = "Patient"
  pt.group = g
  pt:write(tiny .. "/p_bad.tsv")
  local o2 = {}
  for k, v in pairs(base) do o2[k] = v end
  o2.participants = tiny .. "/p_bad.tsv"
  T.raises(function() L.inputs(o2) end, "p_bad.tsv:3 (sub-002): group is 'Patient'; expected patient or control; did you mean 'patient'?")
  local st = nl.table.read(base.sessions)
  local ids, ses = list(st.participant_id), list(st.session)
  ids[3] = "sub-999"
  st.participant_id = ids
  st:write(tiny .. "/s_bad.tsv")
  o2.participants, o2.sessions = base.participants, tiny .. "/s_bad.tsv"
  T.raises(function() L.inputs(o2) end, "s_bad.tsv:4: participant 'sub-999' is not in")
  st = nl.table.read(base.sessions)
  ses[1] = "screening"
  st.session = ses
  st:write(tiny .. "/s_skip.tsv")
  o2.sessions = tiny .. "/s_skip.tsv"
  local runs = L.run_scores(L.inputs(o2), o2)
  T.eq(runs.session[1], "screening")
  T.eq(runs.frames_kept[1], nil)
  T.eq(runs.dmn[1], nil)
  T.truthy(runs.dmn[2] ~= nil)
  os.execute("rm -rf '" .. tiny .. "'")
end)

os.execute("rm -rf '" .. dir .. "'")
T.done()
