-- Tests of the connectome replication (scripts/connectome, seed 002) on a small
-- simulated cohort: netmats and subjects x edges matrices, the GLMs find the planted
-- somatomotor hypoconnectivity (controls > patients) and nothing where nothing is
-- planted, the files are written, connectome.lua runs end to end on a user's tables,
-- and bad options or inputs raise clear errors.
local T = require "testing"
local nl = require "neurolua"

local C = dofile("../../scripts/connectome/common.lua")
local F = C.F

local check_report = T.check_report

T.test("arguments: defaults, unknown options and bad values", function()
  local o = C.args{}
  T.eq(o.out, "out/connectome")
  T.eq(o.permutations, 5000)
  T.eq(o.rho, 0.1)
  T.eq(o.tp1, "pre1")
  T.eq(o.tp3, "post")
  T.eq(o.tp2, nil)
  T.eq(#o.netmats, 2)
  T.eq(o.detrend, 2)
  T.raises(function() C.args{ "nosuch=1" } end, "unknown option 'nosuch'")
  T.raises(function() C.args{ "rho=big" } end, "option 'rho' must be a number")
  T.raises(function() C.args{ "netmat=tangent" } end, "option 'netmat' must be partial, full or partial,full")
  T.raises(function() C.args{ "permutations=2.5" } end, "option 'permutations' must be a non-negative integer")
  T.raises(function() C.args{ "discard=2.5" } end, "option 'discard' must be an integer")
  T.raises(function() C.args{ "p.tsv" } end, "needs its sessions table")
  T.raises(function() C.args{ "a", "b", "c" } end, "too many arguments")
  o = C.args{ "p.tsv", "s.tsv", "netmat=full", "tp2=mid", "gsr=false" }
  T.eq(o.participants, "p.tsv")
  T.eq(o.netmats[1], "full")
  T.eq(o.tp2, "mid")
  T.eq(o.gsr, false)
end)

T.test("covariates: numbers as they are, a two-level string as an indicator", function()
  local p = nl.table.new{ { "participant_id", { "a", "b", "c" } }, { "age", { 30, 40, 50 } },
                          { "sex", { "M", "F", "M" } }, { "site", { "x", "y", "z" } } }
  local t = F.covariates(p, { 3, 1 }, { "age", "sex" }, "p.tsv")
  T.eq(t.age[1], 50)
  T.eq(t.sex[1], 1)
  T.eq(t.sex[2], 1)
  t = F.covariates(p, { 2 }, { "sex" }, "p.tsv", nil)
  T.eq(t.sex[1], 0)
  T.raises(function() F.covariates(p, { 1, 2, 3 }, { "site" }, "p.tsv") end, "covariate 'site' has more than two levels")
  T.raises(function() F.covariates(p, { 1 }, { "weight" }, "p.tsv") end, "p.tsv: missing covariate column 'weight'")
end)

if not T.atlas_installed("aal") then T.skip_rest("AAL not installed") end

-- 16 patients (8 responders, all rescanned after treatment) and 14 controls at 6 mm,
-- 100 frames, planted differences doubled for the few subjects.
local dir = T.tmpname("_connectome")
local c0 = os.clock()
local p, sessions = nl.sim.fmri{ seed = 3, dir = dir, resolution = 6, frames = 100, effect = 2,
                                 subjects = { patients = 16, controls = 14, responders = 8 } }
T.eq(#sessions, 16 * 2 + 14)
local o = C.defaults{ participants = dir .. "/participants.tsv", sessions = dir .. "/sessions.tsv",
                      networks = dir .. "/networks.tsv", wm = dir .. "/masks/wm.nii.gz",
                      csf = dir .. "/masks/csf.nii.gz", brain = dir .. "/masks/brain.nii.gz",
                      out = dir .. "/out", permutations = 500, discard = 5 }
local r = C.analyse(o)
print(("simulated and analysed in %.1f s CPU"):format(os.clock() - c0))

T.test("netmats: runs cleaned, one row per subject and session, FSLNets semantics", function()
  T.eq(#r.runs, #sessions)
  T.eq(#r.nodes, 116)
  T.eq(#r.edges, 116 * 115 / 2)
  local t1, t3 = r.netmats.pre1, r.netmats.post
  T.eq(#t1.ids, 30)
  T.eq(#t3.ids, 16)
  T.eq(t1.partial:cols(), #r.edges)
  -- Row 1 of TP1 is the ridge partial netmat of subject 1's one run, Fisher z.
  local k
  for i = 1, #r.runs do
    if r.runs.participant_id[i] == t1.ids[1] and r.runs.session[i] == "pre1" then k = i end
  end
  local study = C.inputs(o)
  local v = nl.volume.load(F.resolve(o.sessions, study.sessions.func_path[k]))
  local _, clean = F.load_run(o, study.sessions, k, study.masks, {})
  local ts = clean(study.atlas:timeseries(v))
  local e = nl.fc.edges(nl.fc.netmat(ts, { method = "ridgep", rho = 0.1, z = true }))
  T.near(e:get(1, 5), t1.partial:get(1, 5), 1e-10)
  T.near(nl.fc.edges(nl.fc.netmat(ts, { z = true })):get(1, 100), t1.full:get(1, 100), 1e-10)
  T.eq(r.edges[1].label, "Precentral_L--Precentral_R")
  T.eq(r.edges[1].pair, "somatomotor|somatomotor")
  -- The Ward order is a permutation of the nodes.
  local seen = {}
  for _, j in ipairs(r.order) do seen[j] = true end
  T.eq(#r.order, 116)
  for j = 1, 116 do T.truthy(seen[j], "node " .. j .. " in the order") end
end)

local function contrast(key, what)
  for _, c in ipairs(r.contrasts) do
    if c.key == key and c.netmat == what then return c end
  end
end

T.test("the planted somatomotor hypoconnectivity is found; nothing where nothing is planted", function()
  local c = contrast("hc_vs_mdd", "full")
  T.eq(c.n, "14 + 16")
  T.eq(c.res.permutations, 500)
  local sig = C.significant(c, r.edges)
  local sm = 0
  for _, s in ipairs(sig) do
    if s.edge.pair == "somatomotor|somatomotor" and s.t > 0 then sm = sm + 1 end
    T.truthy(C.is_planted("hc_vs_mdd", s), "significant edge where nothing is planted: " .. s.edge.label)
  end
  T.truthy(sm >= 3, "somatomotor edges significant: " .. sm)
  -- No edge of the visual network (the negative control) in any contrast.
  for _, x in ipairs(r.contrasts) do
    for _, s in ipairs(C.significant(x, r.edges)) do
      T.truthy(not s.edge.pair:find("visual"), x.key .. " " .. x.netmat .. ": visual edge " .. s.edge.label)
    end
  end
  -- The GLM is nl.stats.glm with the two-sample design and the age and sex covariates.
  T.truthy(contrast("tp1_vs_tp3", "partial") ~= nil and contrast("tp1_vs_tp2", "full") == nil)
  local text = C.format_results(r, true)
  T.truthy(text:find("somatomotor-somatomotor (+)", 1, true), text)
  T.truthy(text:find("paper: 3 edges", 1, true), text)
end)

T.test("paired and remitter contrasts use the right subjects", function()
  local c = contrast("tp1_vs_tp3", "partial")
  T.eq(c.n, "16")
  T.eq(c.res.n, 32)
  -- TP1 - TP3 equals the one-sample t of the differences (nl.stats.ttest_paired).
  local t1, t3 = r.netmats.pre1, r.netmats.post
  local a, b = {}, {}
  for k, i in ipairs(c.rows) do
    a[k] = t1.partial:get(t1.index[i], 7)
    b[k] = t3.partial:get(t3.index[i], 7)
  end
  T.near(c.res.stat:get(7, 1), nl.stats.ttest_paired(a, b).t, 1e-9)
  local rem = contrast("remit_change", "full")
  local n = 0
  for _ in pairs(r.study.remit) do n = n + 1 end
  T.eq(#rem.rows, n)
  T.eq(rem.res.n, n)
end)

T.test("files: edges, GLM tables, Ward netmat", function()
  C.save(r, o)
  local e = nl.table.read(o.out .. "/edges_partial_pre1.tsv")
  T.eq(#e, 30)
  T.eq(#e:columns(), 1 + #r.edges)
  local g = nl.table.read(o.out .. "/glm_full_hc_vs_mdd.tsv")
  T.eq(#g, #r.edges)
  T.eq(g.edge[1], "Precentral_L--Precentral_R")
  local w = nl.table.read(o.out .. "/netmat_ward.tsv")
  T.eq(#w, 116)
  T.eq(#nl.table.read(o.out .. "/nodes.tsv"), 116)
  T.truthy(#nl.table.read(o.out .. "/significant_edges.tsv") >= 3)
end)

T.test("connectome.lua end to end on a user's tables; input errors", function()
  local function run(args) return T.run("../../scripts/connectome/connectome.lua", args) end
  local common = ("'%s/participants.tsv' '%s/sessions.tsv' wm='%s/masks/wm.nii.gz' csf='%s/masks/csf.nii.gz' "
    .. "brain='%s/masks/brain.nii.gz' permutations=50 netmat=full tfce=1"):format(dir, dir, dir, dir, dir)
  local ok, text = run(common .. (" out='%s/cli'"):format(dir))
  T.truthy(ok, text)
  for _, s in ipairs{ "46 runs, 0 excluded", "controls - patients (TP1)", "TP1 - TP3 (paired)", "full correlation",
                      "TFCE (E 1, H 2, dh auto, edges of ", "Wrote" } do
    T.truthy(text:find(s, 1, true), "output has '" .. s .. "':\n" .. text)
  end
  T.truthy(F.exists(dir .. "/cli/glm_full_remit_change.tsv"))
  T.truthy(text:find("Report: " .. dir .. "/cli/report.html", 1, true), text)
  local html = check_report(dir .. "/cli/report.html", { "Edgewise GLMs", "Fig. 1b. Group-mean netmats",
    "Edge statistics per contrast", "controls - patients (TP1), full correlation", "Provenance" }, 6)
  T.truthy(html:find("permutations", 1, true) and html:find("netmat_ward.tsv", 1, true))
  ok, text = run(("'%s/participants.tsv' '%s/sessions.tsv' out='%s/o2'"):format(dir, dir, dir))
  T.truthy(not ok and text:find("option 'wm'", 1, true), text)
  ok, text = run("tp1=x nosuch=1")
  T.truthy(not ok and text:find("unknown option 'nosuch'", 1, true), text)

  -- Bad tables: group values, unknown participants, an unknown session.
  local pt = nl.table.read(o.participants)
  local g = {}
  for i = 1, #pt do g[i] = pt.group[i] end
  g[3] = "case"
  pt.group = g
  pt:write(dir .. "/p_bad.tsv")
  local o2 = C.defaults{ participants = dir .. "/p_bad.tsv", sessions = o.sessions, wm = o.wm, csf = o.csf,
                         brain = o.brain, out = dir .. "/o3" }
  T.raises(function() C.inputs(o2) end, "p_bad.tsv:4 (sub-003): group is 'case'; expected patient or control")
  local st = nl.table.read(o.sessions)
  local ids = {}
  for i = 1, #st do ids[i] = st.participant_id[i] end
  ids[2] = "sub-777"
  st.participant_id = ids
  st:write(dir .. "/s_bad.tsv")
  o2.participants, o2.sessions = o.participants, dir .. "/s_bad.tsv"
  T.raises(function() C.inputs(o2) end, "s_bad.tsv:3: participant 'sub-777' is not in")
  -- A functional image that cannot be opened is named with its line before any run is
  -- cleaned (issue 16: validation before any long computation).
  st = nl.table.read(o.sessions)
  local fp = {}
  for i = 1, #st do fp[i] = st.func_path[i] end
  fp[5] = "nowhere/run.nii.gz"
  st.func_path = fp
  st:write(dir .. "/s_gone.tsv")
  o2.sessions = dir .. "/s_gone.tsv"
  local err = T.raises(function() C.inputs(o2) end, "s_gone.tsv: 1 file of the sessions to analyse cannot be opened")
  T.truthy(err:find("s_gone.tsv:6 (" .. st.participant_id[5] .. "): ", 1, true) and
           err:find("nowhere/run.nii.gz: No such file or directory", 1, true), err)
  o2.sessions, o2.tp1 = o.sessions, "baseline"
  local study = C.inputs(o2)
  T.eq(#study.sessions, 16)
  T.raises(function() C.contrasts(study, {}, o2, "full") end, "no included run of session 'baseline' (option tp1)")
end)

os.execute("rm -rf '" .. dir .. "'")
T.done()
