-- scripts/limbic/report.lua: the study report of network_fc.lua, <out>/report.html
-- (nl.report): the clinical course (table and MADRS by time point and response), the
-- mixed-model table (mixed_models.tsv beside the paper), the patients-vs-controls
-- t-tests, box plots of each network score by group and time point, the fixed effects
-- of each mixed model (LMM:plot_effects), and FC change against MADRS change.
--
-- Loaded by network_fc.lua with dofile; returns function(L, o, r) -> report path, with
-- r the result of L.analyse(o). Figures go to <out>/figures/.
local nl = require "neurolua"
-- this file's folder (also under --sandbox, where debug.getinfo is gone)
local here = (debug.getinfo and debug.getinfo(1, "S").source or "@" .. (arg and arg[0] or "")):match("^@(.*/)") or "./"
local U = dofile(here .. "../lib/report_util.lua")
local note_table, columns = U.note_table, U.columns

local function present(v) return v ~= nil and v ~= nl.table.NA and v == v end

local function new_cols(names)
  local cols = {}
  for _, c in ipairs(names) do cols[c] = {} end
  return cols
end

-- The group of subject i of the subjects table: responders, non-responders, controls
-- (nil: a patient without an outcome).
local function group_of(s, i)
  if s.group[i] == "control" then return "controls" end
  local r = s.response[i]
  if r == true then return "responders" elseif r == false then return "non-responders" end
end

return function(L, o, r)
  local out = o.out
  local fig = out .. "/figures"
  nl.mkdir(fig)
  local study = r.study
  local simulated = study.simulated
  local P = L.paper
  local rep = nl.report.new{ title = "Network connectivity and prolonged ketamine (seed 003)",
    subtitle = "Network FC before and after a 96-hour ketamine infusion (METHODS.md section 3) on " ..
      (simulated and "the simulated default cohort" or o.participants) }
  local s = r.subjects

  -- Summary.
  local nresp, nnon, nctrl = 0, 0, 0
  for i = 1, #s do
    local g = group_of(s, i)
    if g == "responders" then nresp = nresp + 1 elseif g == "non-responders" then nnon = nnon + 1
    elseif g == "controls" then nctrl = nctrl + 1 end
  end
  local lines = {
    ("- %d runs of %d participants (%d responders, %d non-responders, %d controls), %d excluded for head motion "
      .. "(> 2 mm or > 2 deg)"):format(#r.runs, #r.subjects, nresp, nnon, nctrl, L.F.excluded(r.runs)),
  }
  for _, key in ipairs(L.primary) do
    local m = r.lmm[key]
    if m then
      lines[#lines + 1] = ("- %s: time t(%d) = %.2f, p = %s (paper %.2f, p = %s); time:nonresponder t = %.2f, p = %s "
        .. "(paper %.2f, p = %s)"):format(L.label(key), math.floor(m.time.df + 0.5), m.time.t, L.F.pfmt(m.time.p),
        P.lmm[key].time.t, L.F.pfmt(P.lmm[key].time.p), m.interaction.t, L.F.pfmt(m.interaction.p),
        P.lmm[key].interaction.t, L.F.pfmt(P.lmm[key].interaction.p))
    end
  end
  rep:heading("Summary", 2)
  rep:text(table.concat(lines, "\n"))

  -- Clinical course.
  local c = r.clinical
  if c then
    rep:heading("Clinical course", 2)
    local names = { "time", "n", "madrs", "paper_madrs", "response", "paper_response", "remission",
                    "paper_remission" }
    local cols = new_cols(names)
    for k, t in ipairs(c.times) do
      local pm = P.madrs[t.name]
      cols.time[k], cols.n[k], cols.madrs[k] = t.name, t.n, ("%.1f (%.1f)"):format(t.mean, t.sd)
      cols.paper_madrs[k] = pm and ("%d (%d)"):format(pm[1], pm[2]) or ""
      cols.response[k] = t.name == "baseline" and "" or ("%d/%d"):format(t.response, t.n)
      cols.remission[k] = t.name == "baseline" and "" or ("%d/%d"):format(t.remission, t.n)
      cols.paper_response[k] = P.response[t.name] or ""
      cols.paper_remission[k] = P.remission[t.name] or ""
    end
    note_table(rep, columns(names, cols, #c.times), "MADRS of the patients, mean (SD); response: "
      .. ">= 50 % reduction from baseline, remission: MADRS < 10; `paper_*`: Siegel et al. 2021" .. (c.paired and
      (". Baseline vs 2 weeks: paired t(%d) = %.2f, p = %s (paper: p < 0.001)"):format(c.paired.df, c.paired.t,
        L.F.pfmt(c.paired.p)) or ""))
    -- MADRS by time point and response group.
    local p = study.participants
    local bc = { time = {}, group = {}, madrs = {} }
    local n = 0
    for _, want in ipairs{ true, false } do
      for _, t in ipairs(c.times) do
        local key = "madrs_" .. t.name
        for i = 1, #p do
          local v = p[key][i]
          if p.group[i] == "patient" and present(v) and p.response[i] == want then
            n = n + 1
            bc.time[n], bc.group[n], bc.madrs[n] = t.name, want and "responders" or "non-responders", v
          end
        end
      end
    end
    if n > 0 then
      local path = nl.plot.box(fig .. "/clinical_madrs.png", columns({ "time", "group", "madrs" }, bc, n),
        { x = "time", y = "madrs", hue = "group", ylabel = "MADRS", xlabel = "time point",
          title = "Clinical course of the patients", width = 7, height = 4.2 })
      rep:figure(path, { caption = "MADRS of each patient by time point and response group (response as defined by the "
        .. "participants table)", width = "70%" })
    end
  end

  -- The mixed-model table.
  rep:heading("Linear mixed models", 2)
  local thr = 0.05 / P.bonferroni
  local names = { "score", "term", "n", "df", "estimate", "se", "t", "p", "bonferroni", "paper_t", "paper_p" }
  local cols = new_cols(names)
  local k = 0
  for _, key in ipairs(r.keys) do
    local m = r.lmm[key]
    if m then
      for _, term in ipairs{ "time", "interaction" } do
        k = k + 1
        local x = m[term]
        local pp = P.lmm[key] and P.lmm[key][term]
        cols.score[k], cols.term[k], cols.n[k], cols.df[k] = L.label(key), x.term, m.n, x.df
        cols.estimate[k], cols.se[k], cols.t[k], cols.p[k] = x.estimate, x.se, x.t, x.p
        cols.bonferroni[k] = P.lmm[key] and (x.p < thr and "yes" or "no") or "-"
        cols.paper_t[k] = pp and pp.t or nl.table.NA
        cols.paper_p[k] = pp and pp.p or nl.table.NA
      end
    end
  end
  note_table(rep, columns(names, cols, k), ("Patients: FC ~ time + time:nonresponder + (1 | subject), "
    .. "REML, t-tests on the residual df (`mixed_models.tsv`). Responders are the reference: `time` is the responders' "
    .. "change, `time:nonresponder` how much more the non-responders' FC rises; FC = mean Fisher z over the network's "
    .. "region pairs. Bonferroni: p < %.5f (0.05 / %d primary outcomes). The paper: n = %d observations of %d "
    .. "patients, DF = %d; visual is its negative control, without statistics."):format(thr, P.bonferroni,
    P.observations, P.subjects, P.df))
  for _, key in ipairs(r.keys) do
    local m = r.lmm[key]
    if m and m.model then
      local path = m.model:plot_effects(("%s/lmm_effects_%s.png"):format(fig, key), { title = "Mixed model: " .. L.label(key), xlabel = "estimate (Fisher z) with 95 % Wald interval",
        width = 6.4, height = 2.4 })
      rep:figure(path, { caption = ("Fixed effects of FC ~ time + time:nonresponder + (1 | subject) for %s (n = %d "
        .. "observations), 95 %% Wald intervals; * = p < 0.05"):format(
        L.label(key), m.n), width = "60%" })
    end
  end

  -- Patients vs controls.
  rep:heading("Patients vs controls", 2)
  names = { "score", "comparison", "n1", "n2", "mean1", "mean2", "t", "df", "p", "paper" }
  cols = new_cols(names)
  k = 0
  local function row(key, what, t, paper)
    if not t then return end
    k = k + 1
    cols.score[k], cols.comparison[k], cols.n1[k], cols.n2[k] = L.label(key), what, t.n_x, t.n_y
    cols.mean1[k], cols.mean2[k], cols.t[k], cols.df[k], cols.p[k] = t.mean_x, t.mean_y, t.t, t.df, t.p
    cols.paper[k] = paper or ""
  end
  for _, key in ipairs{ "dmn", "sgacc_dmn", "limbic", "visual" } do
    local g = r.groups[key]
    if g and r.sets[key] then
      row(key, "patients pre vs controls", g.pre_vs_controls, P.pre_vs_controls[key])
      row(key, "patients post vs controls", g.post_vs_controls, P.post_vs_controls[key])
    end
  end
  if r.sets.somatomotor then
    row("somatomotor", "patients pre vs controls", r.groups.somatomotor.pre_vs_controls,
      "seed 002: lower in patients (HC > MDD)")
  end
  if r.sets.amygdala_temporal then
    row("amygdala_temporal", "responders vs non-responders (pre)",
      r.groups.amygdala_temporal.responders_vs_nonresponders, "seed 004: higher in responders")
  end
  note_table(rep, columns(names, cols, k), "Unpaired two-tailed Student t-tests (uncorrected) of "
    .. "the subject means (group 1 minus group 2). The last rows are findings of the other two papers, planted in "
    .. "the simulated cohort.")

  -- Network scores by group and time point.
  local panels = {}
  for _, key in ipairs{ "dmn", "sgacc_dmn", "limbic", "visual" } do
    if r.sets[key] then
      local bc = { group = {}, time = {}, fc = {} }
      local n = 0
      for _, g in ipairs{ "responders", "non-responders", "controls" } do
        for i = 1, #s do
          if group_of(s, i) == g then
            for _, ph in ipairs{ { "pre", "before" }, { "post", "after" } } do
              local v = s[key .. "_" .. ph[1]][i]
              if present(v) then
                n = n + 1
                bc.group[n], bc.time[n], bc.fc[n] = g, ph[2], v
              end
            end
          end
        end
      end
      if n > 0 then
        panels[#panels + 1] = { kind = "box", data = columns({ "group", "time", "fc" }, bc, n), x = "group", y = "fc",
          hue = "time", title = L.label(key) .. (key == "visual" and " (negative control)" or ""),
          ylabel = "mean Fisher z" }
      end
    end
  end
  if #panels > 0 then
    rep:heading("Network connectivity by group and time point", 2)
    local cols_n = #panels > 1 and 2 or 1
    local rows_n = math.ceil(#panels / cols_n)
    local path = nl.plot.figure{ path = fig .. "/network_scores.png", rows = rows_n, cols = cols_n, panels = panels,
      width = 11, height = 4 * rows_n, title = "Network FC before and after the infusion" }
    rep:figure(path, { caption = "Each participant's mean Fisher z within the DMN, between the sgACC and the DMN, "
      .. "within the limbic set and within the visual network (negative control), before (baseline sessions averaged) "
      .. "and after the infusion; controls have baseline scans only" .. (simulated and "" or " unless rescanned") })
  end

  -- FC change against MADRS change.
  local p = study.participants
  if L.F.has_column(p, "madrs_baseline") and L.F.has_column(p, "madrs_week2") then
    local row_of = {}
    for i = 1, #p do row_of[p.participant_id[i]] = i end
    local sp = {}
    local order = {}  -- responders first, for the colours of the groups
    for _, g in ipairs{ "responders", "non-responders" } do
      for i = 1, #s do if group_of(s, i) == g then order[#order + 1] = i end end
    end
    for _, key in ipairs{ "dmn", "sgacc_dmn", "limbic", "visual" } do
      if r.sets[key] then
        local x, y, g = {}, {}, {}
        for _, i in ipairs(order) do
          local a, b = s[key .. "_pre"][i], s[key .. "_post"][i]
          local j = row_of[s.participant_id[i]]
          local m0, m1 = p.madrs_baseline[j], p.madrs_week2[j]
          local grp = group_of(s, i)
          if s.group[i] == "patient" and present(a) and present(b) and present(m0) and present(m1) and grp then
            x[#x + 1], y[#y + 1], g[#g + 1] = b - a, m1 - m0, grp
          end
        end
        if #x >= 4 then
          sp[#sp + 1] = { kind = "scatter", x = x, y = y, fit = "linear", annotate = true, groups = g,
            title = L.label(key), xlabel = "change in FC (Fisher z, after - before)",
            ylabel = "MADRS change (week 2 - baseline)" }
        end
      end
    end
    if #sp > 0 then
      rep:heading("FC change and clinical change", 2)
      local cols_n = #sp > 1 and 2 or 1
      local rows_n = math.ceil(#sp / cols_n)
      local path = nl.plot.figure{ path = fig .. "/fc_vs_madrs.png", rows = rows_n, cols = cols_n, panels = sp,
        width = 11, height = 4 * rows_n, title = "Change in network FC against change in MADRS" }
      rep:figure(path, { caption = "Patients with both scans and both MADRS scores: the OLS line with the 95 % band "
        .. "of the mean and Pearson's r over all of them (colours: response group). Not an analysis of the paper; "
        .. "exploratory." })
    end
  end

  rep:provenance{ seeds = { simulator = simulated and math.tointeger(o.sim_seed) or nil } }
  return rep:write(out .. "/report.html")
end
