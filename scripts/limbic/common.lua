-- scripts/limbic/common.lua: the network-connectivity analysis of the prolonged-ketamine
-- study (seed 003, METHODS.md section 3): arguments, the simulated default cohort,
-- cleaning and network scores per run, linear mixed models, patients vs controls, and
-- printing beside the paper's figures.
--
-- Loaded by the scripts next to it and the tests with dofile; returns a table of
-- functions. Arguments, the simulated cohort, the tables and the cleaning of a run come
-- from scripts/lib/fmri_study.lua (M.F).
local nl = require "neurolua"
-- This file's folder: from its chunk name, or under --sandbox (no debug.getinfo) from
-- the running script, which lies next to it.
local here = (debug.getinfo and debug.getinfo(1, "S").source or "@" .. (arg and arg[0] or "")):match("^@(.*/)") or "./"
local F = dofile(here .. "../lib/fmri_study.lua")

local M = { F = F }

-- ---------------------------------------------------------------- the paper's figures

-- Siegel et al. 2021 (seed 003), Results: mixed models of 40 observations (21
-- patients), DF = 37; patients vs controls from Fig. 4 (p values not given: "p < 0.05"
-- or "n.s."); MADRS and response / remission rates from the text and Fig. 1.
M.paper = {
  lmm = {
    dmn = { time = { t = -3.2, p = 0.003 }, interaction = { t = 2.0, p = 0.051 } },
    sgacc_dmn = { time = { t = -3.5, p = 0.001 }, interaction = { t = 2.3, p = 0.028 } },
    limbic = { time = { t = -3.2, p = 0.003 }, interaction = { t = 0.61, p = 0.54 } },
  },
  observations = 40, subjects = 21, df = 37,
  pre_vs_controls = { dmn = "p < 0.05, higher", sgacc_dmn = "p < 0.05, higher", limbic = "p < 0.05, higher",
                      visual = "n.s." },
  post_vs_controls = { dmn = "n.s.", sgacc_dmn = "n.s.", limbic = "n.s.", visual = "n.s." },
  madrs = { baseline = { 29, 4 }, day1 = { 9, 8 }, week2 = { 13, 8 }, week8 = { 15, 8 } },
  response = { day1 = "16/22", week2 = "11/21", week8 = "11/21" },
  remission = { day1 = "13/22", week2 = "8/21", week8 = "7/21" },
  bonferroni = 8,  -- primary outcomes: 2 clinical + 6 imaging (threshold 0.00625)
}

-- The network scores: label, the networks.tsv networks of the two region sets (b = nil:
-- pairs within a), and which analyses report them.
M.scores = {
  { key = "dmn", label = "DMN", a = "dmn" },
  { key = "sgacc_dmn", label = "sgACC-DMN", a = "sgacc", b = "dmn" },
  { key = "limbic", label = "limbic", a = "limbic" },
  { key = "visual", label = "visual", a = "visual" },
  { key = "somatomotor", label = "somatomotor", a = "somatomotor" },
  { key = "amygdala_temporal", label = "amygdala_L-temporal_R", a = "amygdala", b = "temporal_r" },
}
M.primary = { "dmn", "sgacc_dmn", "limbic" }

-- ---------------------------------------------------------------- arguments

local allowed = { networks = "string", baseline = "string", post = "string", amygdala = "string",
                  temporal = "string" }

-- Positional [participants.tsv sessions.tsv] and key=value options. Unknown keys raise.
function M.args(argv) return M.defaults(F.args(argv, allowed)) end

-- Fills the defaults: METHODS.md section 4's cleaning (F.cleaning_defaults) and the
-- sessions and regions of the network scores.
function M.defaults(o)
  o.out = o.out or "out/limbic"
  o.resolution = o.resolution or 3
  o.baseline = o.baseline or "pre1,pre2"
  o.post = o.post or "post"
  o.amygdala = o.amygdala or "Amygdala_L"
  o.temporal = o.temporal or "Temporal_Sup_R,Temporal_Mid_R"
  return F.cleaning_defaults(o)
end

-- ---------------------------------------------------------------- inputs

-- Reads the participants and sessions tables (the user's or the simulated cohort, seed
-- 003's design, in <out>/sim) and the atlas, network assignment and tissue masks.
-- Returns a study description.
function M.inputs(o)
  local simulated = not o.participants
  if simulated then
    local dir = F.simulate(o, {})
    o.networks = o.networks or dir .. "/networks.tsv"
  end
  local p, known = F.read_participants(o, {})
  if not F.has_column(p, "response") then
    if F.has_column(p, "madrs_baseline") and F.has_column(p, "madrs_week2") then
      local r, pre, post = {}, p.madrs_baseline, p.madrs_week2
      for i = 1, #p do
        if pre[i] ~= nil and post[i] ~= nil and pre[i] ~= nl.table.NA and post[i] ~= nl.table.NA and pre[i] > 0 then
          r[i] = (post[i] - pre[i]) / pre[i] <= -0.5
        else
          r[i] = nl.table.NA
        end
      end
      r.n = #p
      p.response = r
    else
      error(("%s: needs a 'response' column (true / false for patients) or madrs_baseline and madrs_week2"):format(
        o.participants), 0)
    end
  end
  for i = 1, #p do
    local r = p.response[i]
    if r ~= nil and type(r) ~= "boolean" then
      error(("%s: row %d (%s): response is '%s'; expected true, false or empty"):format(o.participants, i,
        tostring(p.participant_id[i]), tostring(r)), 0)
    end
  end
  local phases = {}
  for _, x in ipairs(F.split(o.baseline)) do phases[x] = true end
  for _, x in ipairs(F.split(o.post)) do phases[x] = true end
  local s, ignored = F.read_sessions(o, known, phases)
  for x in pairs(ignored) do
    io.stderr:write(("notice: session '%s' is neither a baseline (%s) nor the post session (%s); its runs are "
      .. "skipped\n"):format(x, o.baseline, o.post))
  end
  local atlas = nl.atlas.load(o.atlas)
  local networks = o.networks and nl.table.read(o.networks) or nl.sim.fmri_networks(atlas)
  for _, c in ipairs{ "name", "network" } do
    if not F.has_column(networks, c) then
      error(("%s: missing column '%s'"):format(o.networks or "networks", c), 0)
    end
  end
  return { participants = p, sessions = s, atlas = atlas, networks = networks, masks = F.mask_list(o),
           simulated = simulated, phases = phases }
end

-- ---------------------------------------------------------------- network scores

-- The region sets of the scores as atlas positions (1-based): {key -> {a = {...}, b =
-- {...} or nil}}, and the union of the positions used (sorted). A score whose regions
-- are missing is left out with a notice.
function M.region_sets(study, o)
  local names = study.atlas:names()
  local pos = {}
  for i, n in ipairs(names) do pos[n] = i end
  local members = {}
  local nt = study.networks
  for i = 1, #nt do
    local n, net = nt.name[i], nt.network[i]
    if pos[n] == nil then
      error(("networks table: region '%s' is not a region of atlas '%s'"):format(n, study.atlas:name()), 0)
    end
    members[net] = members[net] or {}
    table.insert(members[net], pos[n])
  end
  local function named(list)
    local out = {}
    for _, n in ipairs(F.split(list)) do
      if pos[n] then out[#out + 1] = pos[n] end
    end
    return out
  end
  members.amygdala = named(o.amygdala)
  members.temporal_r = named(o.temporal)
  local sets, used, union = {}, {}, {}
  for _, sc in ipairs(M.scores) do
    local a, b = members[sc.a] or {}, sc.b and (members[sc.b] or {}) or nil
    if #a >= (b and 1 or 2) and (not b or #b >= 1) then
      sets[sc.key] = { a = a, b = b }
      for _, x in ipairs(a) do used[x] = true end
      for _, x in ipairs(b or {}) do used[x] = true end
    else
      io.stderr:write(("notice: no regions for the %s score in atlas '%s'; it is left out\n"):format(sc.label,
        study.atlas:name()))
    end
  end
  for x in pairs(used) do union[#union + 1] = x end
  table.sort(union)
  return sets, union
end

-- Mean Fisher z over the pairs of a set; z is the netmat of the `union` columns.
local function set_score(z, col, set)
  local s, n = 0, 0
  if set.b then
    for _, i in ipairs(set.a) do
      for _, j in ipairs(set.b) do
        if i ~= j then s, n = s + z:get(col[i], col[j]), n + 1 end
      end
    end
  else
    for x = 1, #set.a do
      for y = x + 1, #set.a do s, n = s + z:get(col[set.a[x]], col[set.a[y]]), n + 1 end
    end
  end
  return s / n
end

-- One run: loads the image, cleans the region time series and returns the cleaning
-- info and the Fisher-z netmat of the `union` regions (nil for an excluded run).
-- `cache` keeps the tissue masks on the grid of the last image.
local function clean_run(study, o, i, union, cache)
  local v <close>, clean, func = F.load_run(o, study.sessions, i, study.masks, cache)
  local ts = study.atlas:timeseries(v):cols_at(union)
  local sums = ts:sum(1)
  for j = 1, #union do
    local x = sums:get(1, j)
    if x ~= x then
      error(("%s: region '%s' has no voxel in this image (the atlas is resampled to its grid); leave it out "
        .. "of the networks table"):format(func, study.atlas:names()[union[j] ]), 0)
    end
  end
  local cleaned, info = clean(ts)
  return info, not info.exclude and nl.fc.netmat(cleaned, { z = true }) or nil
end

-- Cleans every run of a baseline or post session and computes its network scores.
-- Returns a Table with one row per run: participant_id, session, run, frames_kept,
-- mean_fd, max_translation, max_rotation, excluded, and one column per score (NA for
-- an excluded run; everything NA for a run of another session, which is skipped).
function M.run_scores(study, o)
  local sets, union = M.region_sets(study, o)
  local col = {}
  for k, x in ipairs(union) do col[x] = k end
  local s = study.sessions
  local info_cols = { "frames_kept", "mean_fd", "max_translation", "max_rotation", "excluded" }
  local rows = { participant_id = {}, session = {}, run = {} }
  for _, c in ipairs(info_cols) do rows[c] = {} end
  for _, sc in ipairs(M.scores) do rows[sc.key] = {} end
  local n = #s
  local has_run = F.has_column(s, "run")
  local cache = {}
  local step = nl.progress_line("cleaning runs", n, "runs")
  for i = 1, n do
    rows.participant_id[i] = s.participant_id[i]
    rows.session[i] = s.session[i]
    rows.run[i] = has_run and s.run[i] or 1
    local info, z
    if study.phases[s.session[i] ] then info, z = clean_run(study, o, i, union, cache) end
    rows.frames_kept[i] = info and info.n_kept or nl.table.NA
    rows.mean_fd[i] = info and info.mean_fd or nl.table.NA
    rows.max_translation[i] = info and info.max_translation or nl.table.NA
    rows.max_rotation[i] = info and info.max_rotation or nl.table.NA
    if info then rows.excluded[i] = info.exclude else rows.excluded[i] = nl.table.NA end
    for _, sc in ipairs(M.scores) do
      rows[sc.key][i] = (z and sets[sc.key]) and set_score(z, col, sets[sc.key]) or nl.table.NA
    end
    step()
  end
  local names = { "participant_id", "session", "run", table.unpack(info_cols) }
  for _, sc in ipairs(M.scores) do names[#names + 1] = sc.key end
  return F.table(names, rows, n), sets
end

-- Per subject: the baseline score (the mean over its baseline sessions, each the mean
-- over its runs) and the post score. Returns a Table: participant_id, group, response,
-- then <score>_pre and <score>_post (NA when missing).
function M.subject_scores(study, runs, o)
  local base, post = {}, {}
  for _, x in ipairs(F.split(o.baseline)) do base[x] = true end
  for _, x in ipairs(F.split(o.post)) do post[x] = true end
  -- sums[id][phase][session][score] = {sum, n}
  local acc = {}
  for i = 1, #runs do
    if not runs.excluded[i] then
      local ses = runs.session[i]
      local phase = base[ses] and "pre" or post[ses] and "post" or nil
      if phase then
        local id = runs.participant_id[i]
        acc[id] = acc[id] or { pre = {}, post = {} }
        local bucket = acc[id][phase]
        bucket[ses] = bucket[ses] or {}
        for _, sc in ipairs(M.scores) do
          local v = runs[sc.key][i]
          if v ~= nl.table.NA and v ~= nil then
            local c = bucket[ses][sc.key] or { 0, 0 }
            bucket[ses][sc.key] = { c[1] + v, c[2] + 1 }
          end
        end
      end
    end
  end
  local p = study.participants
  local cols = { participant_id = {}, group = {}, response = {} }
  for _, sc in ipairs(M.scores) do cols[sc.key .. "_pre"], cols[sc.key .. "_post"] = {}, {} end
  for i = 1, #p do
    local id = p.participant_id[i]
    cols.participant_id[i] = id
    cols.group[i] = p.group[i]
    cols.response[i] = p.response[i] == nil and nl.table.NA or p.response[i]
    for _, sc in ipairs(M.scores) do
      for _, phase in ipairs{ "pre", "post" } do
        local sessions = acc[id] and acc[id][phase] or {}
        local s, n = 0, 0
        for _, per in pairs(sessions) do
          local c = per[sc.key]
          if c then s, n = s + c[1] / c[2], n + 1 end
        end
        cols[sc.key .. "_" .. phase][i] = n > 0 and s / n or nl.table.NA
      end
    end
  end
  local names = { "participant_id", "group", "response" }
  for _, sc in ipairs(M.scores) do
    names[#names + 1] = sc.key .. "_pre"
    names[#names + 1] = sc.key .. "_post"
  end
  return F.table(names, cols, #p)
end

-- ---------------------------------------------------------------- statistics

local function moments(xs)
  local n, s = #xs, 0
  for _, x in ipairs(xs) do s = s + x end
  local m = s / n
  local ss = 0
  for _, x in ipairs(xs) do ss = ss + (x - m) ^ 2 end
  return n, m, n > 1 and math.sqrt(ss / (n - 1)) or 0 / 0
end
M.moments = moments

-- Unpaired two-sample t-test of a minus b (nl.stats.ttest_two): Student's (pooled
-- variance, the paper's "unpaired two-tailed t test") or Welch's (welch = true). The
-- result is nl.stats's (t, df, p, estimate, se, ci, mean_x, mean_y, n_x, n_y).
function M.t_test(a, b, welch)
  return nl.stats.ttest_two(a, b, { welch = welch == true })
end

-- Paired t-test of b - a (nl.stats.ttest_paired(b, a)).
function M.paired_t(a, b)
  return nl.stats.ttest_paired(b, a)
end

-- ---------------------------------------------------------------- the analyses

-- The long table of the mixed models: one row per patient with a known response and
-- time point (0 = baseline, 1 = post) with a score.
function M.long_table(subjects)
  local cols = { subject = {}, time = {}, nonresponder = {} }
  for _, sc in ipairs(M.scores) do cols[sc.key] = {} end
  local n = 0
  for i = 1, #subjects do
    local r = subjects.response[i]
    if subjects.group[i] == "patient" and (r == true or r == false) then
      for t, phase in ipairs{ "pre", "post" } do
        local any = false
        for _, sc in ipairs(M.primary) do
          local v = subjects[sc .. "_" .. phase][i]
          any = any or (v ~= nl.table.NA and v ~= nil)
        end
        if any then
          n = n + 1
          cols.subject[n] = subjects.participant_id[i]
          cols.time[n] = t - 1
          cols.nonresponder[n] = not r
          for _, sc in ipairs(M.scores) do cols[sc.key][n] = subjects[sc.key .. "_" .. phase][i] end
        end
      end
    end
  end
  local names = { "subject", "time", "nonresponder" }
  for _, sc in ipairs(M.scores) do names[#names + 1] = sc.key end
  return F.table(names, cols, n)
end

-- FC ~ time + time:nonresponder + (1 | subject) by REML with t-tests on the residual
-- df, per score. Responders are the reference level, so `time` is the responders'
-- change and `time:nonresponder` how much less (or more) the non-responders change: the
-- coding under which the paper's signs agree with its text (time T = -3.5 and
-- interaction T = +2.3 for "responders showed a larger decrease").
function M.mixed_models(long, keys)
  local out = {}
  for _, key in ipairs(keys) do
    local ok, m = pcall(nl.stats.lmm, { y = key, fixed = { "time", "time:nonresponder" }, group = "subject",
                                        data = long })
    if ok then
      local c = m.coefficients_
      out[key] = { model = m, n = m.n_, time = c:row(2), interaction = c:row(3) }
      -- Beyond the paper (issue 20): the interaction by a likelihood-ratio test against
      -- the model without it (both refitted by ML, as lme4's anova), and its 95 %
      -- profile-likelihood interval (lme4's confint). The two are dual: the interval
      -- excludes 0 exactly when the LRT's p < 0.05.
      local ok2, err = pcall(function()
        local m0 = nl.stats.lmm{ y = key, fixed = { "time" }, group = "subject", data = long }
        local l = m:lrt(m0)
        local ci = m:confint()
        local j = #ci  -- the interaction is the last parameter
        out[key].lrt = { chisq = l.chisq[2], df = l.df[2], p = l.p[2] }
        out[key].profile = { lower = ci.lower[j], upper = ci.upper[j], parameter = ci.parameter[j] }
      end)
      if not ok2 then
        io.stderr:write(("notice: the likelihood-ratio test of %s could not be made: %s\n"):format(key, tostring(err)))
      end
    else
      io.stderr:write(("notice: the mixed model of %s could not be fitted: %s\n"):format(key, tostring(m)))
    end
  end
  return out
end

-- Values of column `key` for the rows where `pick(i)` holds and the value is present.
local function values(t, key, pick)
  local out = {}
  local c = t[key]
  for i = 1, #t do
    local v = c[i]
    if pick(i) and v ~= nil and v ~= nl.table.NA then out[#out + 1] = v end
  end
  return out
end
M.values = values

-- The group comparisons: patients (baseline, post) vs controls (baseline) per score,
-- and responders vs non-responders at baseline.
function M.group_tests(subjects)
  local g, r = subjects.group, subjects.response
  local function patient(i) return g[i] == "patient" end
  local function control(i) return g[i] == "control" end
  local out = {}
  for _, sc in ipairs(M.scores) do
    local key = sc.key
    local ctrl = values(subjects, key .. "_pre", control)
    local pre = values(subjects, key .. "_pre", patient)
    local post = values(subjects, key .. "_post", patient)
    local resp = values(subjects, key .. "_pre", function(i) return patient(i) and r[i] == true end)
    local nonr = values(subjects, key .. "_pre", function(i) return patient(i) and r[i] == false end)
    out[key] = {
      pre_vs_controls = (#pre > 1 and #ctrl > 1) and M.t_test(pre, ctrl) or nil,
      post_vs_controls = (#post > 1 and #ctrl > 1) and M.t_test(post, ctrl) or nil,
      responders_vs_nonresponders = (#resp > 1 and #nonr > 1) and M.t_test(resp, nonr) or nil,
    }
  end
  return out
end

-- Clinical course of the patients: MADRS mean (SD) per time point, response (>= 50 %
-- reduction) and remission (< 10) counts, and the paired t-test baseline vs 2 weeks.
function M.clinical(p)
  if not (F.has_column(p, "madrs_baseline") and F.has_column(p, "madrs_week2")) then return nil end
  local function patient(i) return p.group[i] == "patient" end
  local out = { times = {} }
  for _, t in ipairs{ "baseline", "day1", "week2", "week8" } do
    local key = "madrs_" .. t
    if F.has_column(p, key) then
      local xs = values(p, key, patient)
      local n, m, s = moments(xs)
      local resp, remit = 0, 0
      if t ~= "baseline" then
        for i = 1, #p do
          local b, v = p.madrs_baseline[i], p[key][i]
          if patient(i) and b ~= nl.table.NA and v ~= nl.table.NA and b and v then
            if (v - b) / b <= -0.5 then resp = resp + 1 end
            if v < 10 then remit = remit + 1 end
          end
        end
      end
      out.times[#out.times + 1] = { name = t, n = n, mean = m, sd = s, response = resp, remission = remit }
    end
  end
  local a, b = {}, {}
  for i = 1, #p do
    local x, y = p.madrs_baseline[i], p.madrs_week2[i]
    if patient(i) and x ~= nl.table.NA and y ~= nl.table.NA and x and y then a[#a + 1], b[#b + 1] = x, y end
  end
  out.paired = #a > 1 and M.paired_t(a, b) or nil
  return out
end

-- Everything: returns a result table with the run scores, subject scores, long table,
-- mixed models, group tests and clinical summary.
function M.analyse(o)
  local study = M.inputs(o)
  local c0 = os.clock()
  local runs, sets = M.run_scores(study, o)
  local subjects = M.subject_scores(study, runs, o)
  local long = M.long_table(subjects)
  local keys = {}
  for _, sc in ipairs(M.scores) do
    if sets[sc.key] then keys[#keys + 1] = sc.key end
  end
  return {
    study = study, runs = runs, subjects = subjects, long = long, sets = sets, keys = keys,
    lmm = M.mixed_models(long, keys), groups = M.group_tests(subjects), clinical = M.clinical(study.participants),
    cpu = os.clock() - c0,
  }
end

-- ---------------------------------------------------------------- printing

local function label(key)
  for _, sc in ipairs(M.scores) do
    if sc.key == key then return sc.label end
  end
  return key
end
M.label = label

local pfmt = F.pfmt

function M.format_clinical(c)
  if not c then return "(no MADRS columns)" end
  local lines = { ("%-9s %4s %14s %14s %10s %10s %10s %10s"):format("time", "n", "MADRS", "paper", "response",
    "paper", "remission", "paper") }
  for _, t in ipairs(c.times) do
    local pm = M.paper.madrs[t.name]
    lines[#lines + 1] = ("%-9s %4d %14s %14s %10s %10s %10s %10s"):format(t.name, t.n,
      ("%.1f (%.1f)"):format(t.mean, t.sd), pm and ("%d (%d)"):format(pm[1], pm[2]) or "",
      t.name == "baseline" and "" or ("%d/%d"):format(t.response, t.n), M.paper.response[t.name] or "",
      t.name == "baseline" and "" or ("%d/%d"):format(t.remission, t.n), M.paper.remission[t.name] or "")
  end
  if c.paired then
    lines[#lines + 1] = ("MADRS baseline vs 2 weeks: paired t(%d) = %.2f, p = %s (paper: p < 0.001)"):format(
      c.paired.df, c.paired.t, pfmt(c.paired.p))
  end
  return table.concat(lines, "\n")
end

-- The mixed-model table beside the paper's, with the Bonferroni threshold over the 8
-- primary outcomes.
function M.format_lmm(r)
  local thr = 0.05 / M.paper.bonferroni
  local head = ("%-12s %-18s %4s %4s %9s %8s %7s %9s %5s   %7s %7s"):format("score", "term", "n", "df", "estimate",
    "SE", "t", "p", "Bonf", "paper t", "paper p")
  local lines = { head, string.rep("-", #head) }
  for _, key in ipairs{ "dmn", "sgacc_dmn", "limbic", "visual" } do
    local m = r.lmm[key]
    if m then
      for _, term in ipairs{ "time", "interaction" } do
        local c = m[term]
        local pp = M.paper.lmm[key] and M.paper.lmm[key][term]
        local primary = M.paper.lmm[key] ~= nil
        lines[#lines + 1] = ("%-12s %-18s %4d %4d %9.4f %8.4f %7.2f %9s %5s   %7s %7s"):format(
          term == "time" and label(key) or "", term == "time" and "time" or "time:nonresponder", m.n,
          math.floor(c.df + 0.5), c.estimate, c.se, c.t, pfmt(c.p),
          primary and (c.p < thr and "yes" or "no") or "-", pp and ("%.2f"):format(pp.t) or "-",
          pp and pfmt(pp.p) or (key == "visual" and "n.s.*" or "-"))
      end
    end
  end
  lines[#lines + 1] = ("Bonferroni: p < %.5f (0.05 / %d primary outcomes: 2 clinical + 6 imaging, as the paper); "
    .. "the paper reports n = %d observations of %d patients, DF = %d."):format(thr, M.paper.bonferroni,
    M.paper.observations, M.paper.subjects, M.paper.df)
  lines[#lines + 1] = "* the visual network is the paper's negative control (no change expected; no statistics given)."
  return table.concat(lines, "\n")
end

-- The interaction tested by likelihood ratio, with its profile interval (not in the paper).
function M.format_lmm_lrt(r)
  local head = ("%-12s %-24s %9s %21s %8s %3s %9s"):format("score", "term", "estimate", "95 % profile interval",
    "chi2", "df", "LRT p")
  local lines = { head, string.rep("-", #head) }
  for _, key in ipairs{ "dmn", "sgacc_dmn", "limbic", "visual" } do
    local m = r.lmm[key]
    if m and m.lrt then
      lines[#lines + 1] = ("%-12s %-24s %9.4f %21s %8.3f %3d %9s"):format(label(key), "time:nonresponder",
        m.interaction.estimate, ("[%.4f, %.4f]"):format(m.profile.lower, m.profile.upper), m.lrt.chisq,
        m.lrt.df, pfmt(m.lrt.p))
    end
  end
  lines[#lines + 1] = "ML refits (lme4's anova(m0, m1)); the profile interval is lme4's confint(method = \"profile\")."
  return table.concat(lines, "\n")
end

function M.format_groups(r)
  local head = ("%-22s %-28s %4s %4s %8s %8s %7s %5s %9s   %s"):format("score", "comparison", "n1", "n2", "mean1",
    "mean2", "t", "df", "p", "paper")
  local lines = { head, string.rep("-", #head) }
  local function row(key, what, t, paper)
    if not t then return end
    lines[#lines + 1] = ("%-22s %-28s %4d %4d %8.4f %8.4f %7.2f %5d %9s   %s"):format(label(key), what, t.n_x, t.n_y,
      t.mean_x, t.mean_y, t.t, math.floor(t.df + 0.5), pfmt(t.p), paper or "")
  end
  for _, key in ipairs{ "dmn", "sgacc_dmn", "limbic", "visual" } do
    local g = r.groups[key]
    if g and r.sets[key] then
      row(key, "patients pre vs controls", g.pre_vs_controls, M.paper.pre_vs_controls[key])
      row(key, "patients post vs controls", g.post_vs_controls, M.paper.post_vs_controls[key])
    end
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = "Findings of the other two papers, planted in the simulated cohort:"
  if r.sets.somatomotor then
    row("somatomotor", "patients pre vs controls", r.groups.somatomotor.pre_vs_controls,
      "seed 002: lower in patients (HC > MDD)")
  end
  if r.sets.amygdala_temporal then
    row("amygdala_temporal", "responders vs non-resp. (pre)", r.groups.amygdala_temporal.responders_vs_nonresponders,
      "seed 004: higher in responders")
  end
  return table.concat(lines, "\n")
end

-- The planted effects of a simulated cohort (ground_truth.tsv) beside the estimates:
-- each expected contrast in Fisher z at the region-signal level (before voxel noise and
-- cleaning) and whether the estimate has its sign with p < 0.05. The DMN interaction is
-- planted but not required (the paper's was a trend, p = 0.051). Returns the text, the
-- number of required effects not recovered, and the checks.
function M.check_truth(r, truth_path)
  local t = nl.table.read(truth_path)
  local v = {}
  for i = 1, #t do
    v[t.measure[i]] = v[t.measure[i]] or {}
    v[t.measure[i]][t.condition[i]] = t.value[i]
  end
  local function d(m, a, b) return v[m] and v[m][a] and v[m][b] and v[m][a] - v[m][b] or nil end
  local checks = {}
  local function add(what, expected, est, p, t, required)
    if expected == nil or est == nil then return end
    local planted = math.abs(expected) > 1e-9
    local found = planted and est * expected > 0 and p < 0.05
    checks[#checks + 1] = { what = what, expected = expected, est = est, p = p, t = t, planted = planted,
                            required = planted and required ~= false, found = found }
  end
  local function lmm_term(key, term)
    local m = r.lmm[key]
    if m then return m[term].estimate, m[term].p, m[term].t end
  end
  local map = { dmn = "within_dmn", sgacc_dmn = "sgacc_dmn", limbic = "within_limbic", visual = "within_visual" }
  for _, key in ipairs{ "dmn", "sgacc_dmn", "limbic", "visual" } do
    local m = map[key]
    local e, p, t = lmm_term(key, "time")
    add(label(key) .. ": responders' change (time)", d(m, "responder_post", "responder_pre"), e, p, t)
    e, p, t = lmm_term(key, "interaction")
    local dr, dn = d(m, "responder_post", "responder_pre"), d(m, "nonresponder_post", "nonresponder_pre")
    add(label(key) .. ": non-resp. minus resp. change", dn and dr and dn - dr, e, p, t, key ~= "dmn")
    local g = r.groups[key] and r.groups[key].pre_vs_controls
    if g then
      add(label(key) .. ": patients pre - controls", d(m, "nonresponder_pre", "control"), g.mean_x - g.mean_y, g.p,
        g.t)
    end
  end
  local g = r.groups.somatomotor and r.groups.somatomotor.pre_vs_controls
  if g then
    add("somatomotor: patients pre - controls", d("within_somatomotor", "nonresponder_pre", "control"),
      g.mean_x - g.mean_y, g.p, g.t)
  end
  g = r.groups.amygdala_temporal and r.groups.amygdala_temporal.responders_vs_nonresponders
  if g then
    add("amygdala_L-temporal_R: resp. - non-resp. (pre)", d("amygdala_l_temporal_r", "responder_pre",
      "nonresponder_pre"), g.mean_x - g.mean_y, g.p, g.t)
  end
  local lines = { ("%-46s %9s %9s %9s  %s"):format("effect", "planted", "estimate", "p", "recovered") }
  local missed = 0
  for _, c in ipairs(checks) do
    if c.required and not c.found then missed = missed + 1 end
    local verdict = not c.planted and "(none planted)" or c.found and "yes"
                    or c.required and "NO" or "no (a trend in the paper, p = 0.051; not required)"
    lines[#lines + 1] = ("%-46s %9.4f %9.4f %9s  %s"):format(c.what, c.expected, c.est, pfmt(c.p), verdict)
  end
  lines[#lines + 1] = "planted: the contrast in mean Fisher z of the region signals (ground_truth.tsv); recovered: the "
    .. "estimate has its sign and p < 0.05."
  return table.concat(lines, "\n"), missed, checks
end

-- Writes the run, subject and model tables to o.out.
function M.save(r, o)
  nl.mkdir(o.out)
  r.runs:write(o.out .. "/run_scores.tsv")
  r.subjects:write(o.out .. "/subject_scores.tsv")
  local cols = { score = {}, term = {}, n = {}, df = {}, estimate = {}, se = {}, t = {}, p = {} }
  local k = 0
  for _, key in ipairs(r.keys) do
    local m = r.lmm[key]
    if m then
      for _, term in ipairs{ "time", "interaction" } do
        k = k + 1
        local c = m[term]
        cols.score[k], cols.term[k], cols.n[k], cols.df[k] = key, c.term, m.n, c.df
        cols.estimate[k], cols.se[k], cols.t[k], cols.p[k] = c.estimate, c.se, c.t, c.p
      end
    end
  end
  F.table({ "score", "term", "n", "df", "estimate", "se", "t", "p" }, cols, k):write(o.out .. "/mixed_models.tsv")
end

return M
