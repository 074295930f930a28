-- scripts/connectome/report.lua: the study report of connectome.lua, <out>/report.html
-- (nl.report): the results table (per netmat and contrast: FWE- and FDR-significant
-- edges, the networks involved, the paper's finding), the significant edges and the post
-- hoc tests; the paper's Fig. 1b (group-mean netmats in Ward order, full z below the
-- diagonal, partial z above); per contrast the edge t statistics as a netmat with the
-- FWE-significant edges, beside the max-|t| permutation null; box plots of the
-- strongest significant edges and of the network-pair means by group and time point.
--
-- Loaded by connectome.lua with dofile; returns function(C, o, r) -> report path, with
-- r the result of C.analyse(o). Figures go to <out>/figures/.
local nl = require "neurolua"
-- this file's folder (also under --sandbox, where debug.getinfo is gone)
local here = (debug.getinfo and debug.getinfo(1, "S").source or "@" .. (arg and arg[0] or "")):match("^@(.*/)") or "./"
local U = dofile(here .. "../lib/report_util.lua")
local note_table, slug, columns = U.note_table, U.slug, U.columns

local netmat_name = { partial = "ridge partial correlation", full = "full correlation" }

-- The results table of C.format_results as a Table: one row per netmat and contrast.
local function results_table(C, r, simulated)
  local names = { "netmat", "contrast", "n", "positive_t", "fwe_edges", "fdr_edges", "min_p_fwe", "networks", "paper" }
  if simulated then names[#names + 1] = "where_planted" end
  local cols = {}
  for _, c in ipairs(names) do cols[c] = {} end
  for k, c in ipairs(r.contrasts) do
    local sig = C.significant(c, r.edges)
    local fdr, minp = 0, 1
    for j = 1, c.res.tests do
      if c.res.p_fdr:get(j, 1) < 0.05 then fdr = fdr + 1 end
      minp = math.min(minp, c.res.p_fwe:get(j, 1))
    end
    cols.netmat[k], cols.contrast[k], cols.n[k], cols.positive_t[k] = c.netmat, c.label, c.n, c.positive
    cols.fwe_edges[k], cols.fdr_edges[k], cols.min_p_fwe[k] = #sig, fdr, minp
    cols.networks[k] = C.networks_text(sig)
    cols.paper[k] = c.netmat == "partial" and (C.paper[c.key] or "") or ""
    if simulated then
      local hits = 0
      for _, s in ipairs(sig) do if C.is_planted(c.key, s) then hits = hits + 1 end end
      cols.where_planted[k] = next(C.planted[c.key] or {}) and ("%d of %d"):format(hits, #sig)
                              or ("%d of %d (nothing planted)"):format(hits, #sig)
    end
  end
  return columns(names, cols, #r.contrasts)
end

local function edges_table(C, r, max)
  local names = { "netmat", "contrast", "edge", "networks", "t", "p_fwe", "p_fdr" }
  local cols = {}
  for _, c in ipairs(names) do cols[c] = {} end
  local n, total = 0, 0
  for _, c in ipairs(r.contrasts) do
    for _, s in ipairs(C.significant(c, r.edges)) do
      total = total + 1
      if n < max then
        n = n + 1
        cols.netmat[n], cols.contrast[n], cols.edge[n] = c.netmat, c.key, s.edge.label
        cols.networks[n], cols.t[n], cols.p_fwe[n], cols.p_fdr[n] = s.edge.pair:gsub("|", "-"), s.t, s.p_fwe, s.p_fdr
      end
    end
  end
  return columns(names, cols, n), total
end

local function post_hoc_table(r)
  local names = { "netmat", "contrast", "edge", "r_tp1_fc_hdrs", "p_tp1_fc_hdrs", "r_dfc_hdrs", "p_dfc_hdrs",
                  "time_remitter_t", "time_remitter_p" }
  local cols = {}
  for _, c in ipairs(names) do cols[c] = {} end
  for k, h in ipairs(r.post_hoc) do
    cols.netmat[k], cols.contrast[k], cols.edge[k] = h.netmat, h.contrast, h.edge
    cols.r_tp1_fc_hdrs[k] = h.r_base and h.r_base.r or nl.table.NA
    cols.p_tp1_fc_hdrs[k] = h.r_base and h.r_base.p or nl.table.NA
    cols.r_dfc_hdrs[k] = h.r_delta and h.r_delta.r or nl.table.NA
    cols.p_dfc_hdrs[k] = h.r_delta and h.r_delta.p or nl.table.NA
    cols.time_remitter_t[k] = h.lmm and h.lmm.t or nl.table.NA
    cols.time_remitter_p[k] = h.lmm and h.lmm.p or nl.table.NA
  end
  return columns(names, cols, #r.post_hoc)
end

return function(C, o, r)
  local out = o.out
  local fig = out .. "/figures"
  nl.mkdir(fig)
  local study = r.study
  local simulated = study.simulated
  local rep = nl.report.new{ title = "The functional connectome of serial ketamine (seed 002)",
    subtitle = "FSLNets netmats and edgewise GLMs (METHODS.md section 2) on " ..
      (simulated and "the simulated default cohort" or o.participants) }

  -- Summary.
  local rem, non = 0, 0
  for _, v in pairs(study.remit) do if v then rem = rem + 1 else non = non + 1 end end
  local nsig = {}
  for _, c in ipairs(r.contrasts) do
    local s = C.significant(c, r.edges)
    if #s > 0 then nsig[#nsig + 1] = ("%s, %s: %d"):format(c.label, c.netmat, #s) end
  end
  rep:heading("Summary", 2)
  rep:text(table.concat({
    ("- %d runs, %d excluded for head motion; %d nodes (atlas %s), %d edges"):format(#r.runs, C.F.excluded(r.runs),
      #r.nodes, study.atlas:name(), #r.edges),
    ("- patients with an outcome: %d remitters, %d non-remitters (paper: 24 of 51 remitted)"):format(rem, non),
    ("- FWE-significant edges (p < 0.05, max-T over the netmat): %s"):format(#nsig > 0 and table.concat(nsig, "; ")
      or "none"),
  }, "\n"))

  -- Tables.
  rep:heading("Edgewise GLMs", 2)
  note_table(rep, results_table(C, r, simulated), ("Per netmat (Fisher z, averaged over runs) and "
    .. "contrast: edges with FWE p < 0.05 (max-T over the %d edges, Freedman-Lane, %d permutations, as FSL randomise "
    .. "-x) and with BH-FDR q < 0.05 over the parametric p; `networks`: the network pairs of the FWE-significant edges "
    .. "with the sign of t and their count; `paper`: Sahib et al. 2020 (ridge partial correlation, 172 ICA nodes)%s.")
    :format(#r.edges, r.contrasts[1] and r.contrasts[1].res.permutations or 0,
      simulated and "; `where_planted`: how many of them lie where the simulator planted an effect of that sign" or ""))
  local et, total = edges_table(C, r, 60)
  rep:heading("Significant edges", 3)
  if total > 0 then
    note_table(rep, et, ("FWE-significant edges, strongest first per contrast%s (all of them are in "
      .. "`significant_edges.tsv`)"):format(total > #et and (": the first %d of %d"):format(#et, total) or ""))
  else
    rep:text("No edge reaches FWE p < 0.05 in any contrast.")
  end
  if #r.post_hoc > 0 then
    rep:heading("Post hoc tests", 3)
    note_table(rep, post_hoc_table(r), "The strongest (up to 3) FWE-significant edges of the patient "
      .. "contrasts: Pearson r of the % HDRS change (TP3 - TP1) / TP1 with TP1 FC and with the change in FC, and the "
      .. "time x remitter term of FC ~ time + remitter + time:remitter + (1 | subject). Paper: " .. C.paper.post_hoc)
  end

  -- Fig. 1b: the group-mean netmats in Ward order.
  local names = {}
  if r.order then
    for k, j in ipairs(r.order) do names[k] = r.nodes[j].name end
    rep:heading("Fig. 1b. Group-mean netmats", 2)
    local n = #r.nodes
    local size = n > 60 and 10 or 7
    -- As FSLNets' nets_hierarchy: each triangle divided by the 99th percentile of its |z|,
    -- so that the smaller partial correlations show on the same colour scale.
    local function p99(lower)
      local v = {}
      for i = 1, n do
        for j = 1, n do
          if (lower and i > j) or (not lower and i < j) then v[#v + 1] = math.abs(r.display:get(i, j)) end
        end
      end
      table.sort(v)
      local h = 0.99 * (#v - 1) + 1
      local lo = math.floor(h)
      return v[lo] + (h - lo) * ((v[lo + 1] or v[lo]) - v[lo])
    end
    local sf, sp = p99(true), p99(false)
    local shown = nl.matrix.zeros(n, n)
    for i = 1, n do
      for j = 1, n do
        if i ~= j then shown:set(i, j, r.display:get(i, j) / (i > j and sf or sp)) end
      end
    end
    local f1 = nl.plot.netmat(fig .. "/fig1b_netmat.png", shown, { order = false, labels = names, vmin = -1, vmax = 1,
      title = ("Group mean at %s: full z (below), partial z (above)"):format(o.tp1),
      colorbar_label = ("z / 99th percentile of |z| (full %.2f, partial %.3f)"):format(sf, sp),
      width = size, height = size - 0.6, dpi = 110 })
    rep:figure(f1, { caption = ("All %d subjects at %s, nodes in the Ward order of FSLNets' clustering of the full "
      .. "correlation (`nl.fc.hierarchy`, as `nodes.tsv`); below the diagonal the mean Fisher-z full correlation, above "
      .. "it the mean ridge partial correlation (rho %g), each divided by the 99th percentile of its absolute values "
      .. "(%.2f and %.3f) as FSLNets' `nets_hierarchy` shows them; the unscaled values are in `netmat_ward.tsv`. The "
      .. "paper's nodes were 172 ICA components."):format(#r.netmats[o.tp1].ids, o.tp1, r.rho, sf, sp) })
  end

  -- Per contrast: the edge t statistics and the max-|t| null.
  rep:heading("Edge statistics per contrast", 2)
  rep:text("For each contrast: the t statistic of every edge in the Ward order (below the diagonal) and of the "
    .. "FWE-significant edges only (above it; 0 elsewhere), and the permutation distribution of the largest |t| over "
    .. "the netmat, whose 95th percentile is the FWE threshold.")
  for _, c in ipairs(r.contrasts) do
    local res = c.res
    local n = #r.nodes
    local stat = {}
    local maxt = 0
    for j = 1, res.tests do
      stat[j] = res.stat:get(j, 1)
      maxt = math.max(maxt, math.abs(stat[j]))
    end
    local sig = {}
    for j = 1, res.tests do sig[j] = res.p_fwe:get(j, 1) < 0.05 and stat[j] or 0 end
    local order = r.order or (function() local x = {} for j = 1, n do x[j] = j end return x end)()
    local T = nl.fc.from_edges(nl.matrix(stat, 1, #stat), n):rows_at(order):cols_at(order)
    local S = nl.fc.from_edges(nl.matrix(sig, 1, #sig), n):rows_at(order):cols_at(order)
    local shown = nl.matrix.zeros(n, n)
    for i = 1, n do
      for j = 1, n do
        if i > j then shown:set(i, j, T:get(i, j)) elseif i < j then shown:set(i, j, S:get(i, j)) end
      end
    end
    local nfwe = #C.significant(c, r.edges)
    local minp = 1
    for j = 1, res.tests do minp = math.min(minp, res.p_fwe:get(j, 1)) end
    local null = {}
    -- max_stat holds the observed maximum first: the null is the other rearrangements.
    for k = 2, res.max_stat:rows() do null[#null + 1] = res.max_stat:get(k, 1) end
    local title = ("%s, %s"):format(c.label, netmat_name[c.netmat])
    local what = ("edge t (+ = %s): all | FWE p < 0.05 (%d)"):format(c.positive, nfwe)
    local hist = { kind = "histogram", values = null, observed = maxt, p = minp, label_observed = "largest |t| observed",
                   xlabel = "largest |t| over the edges", title = ("max-|t| null, %d permutations"):format(#null) }
    rep:heading(title, 3)
    local caption = ("n = %s; %d FWE-significant edges, smallest p_FWE %s"):format(c.n, nfwe, C.F.pfmt(minp))
    local stem = ("%s/tstat_%s_%s"):format(fig, c.netmat, c.key)
    if nfwe > 0 and #names > 0 then
      -- Significant edges: the netmat large enough for the node names, the null beside.
      local size = n > 60 and 9.5 or 7
      local m = nl.plot.netmat(stem .. "_netmat.png", shown, { order = false, labels = names, cmap = "RdBu_r",
        title = title .. ": " .. what, colorbar_label = "t", width = size, height = size - 0.6, dpi = 110 })
      rep:figure(m, { caption = caption .. ". Below the diagonal the t of every edge, above it the t of the "
        .. "FWE-significant edges (0 elsewhere); nodes in the Ward order of Fig. 1b" })
      local h = nl.plot.histogram(stem .. "_null.png", null, { observed = maxt, p = minp,
        label_observed = "largest |t| observed", xlabel = "largest |t| over the edges", width = 6, height = 3.6,
        title = ("%s: max-|t| null, %d permutations"):format(c.label, #null) })
      rep:figure(h, { caption = "Permutation distribution of the largest |t| over the netmat; the line is the observed "
        .. "largest |t|", width = "60%" })
    else
      local path = nl.plot.figure{ path = stem .. ".png", rows = 1, cols = 2, width = 12, height = 5.6, title = title,
        panels = { { kind = "netmat", Z = shown, order = false, cmap = "RdBu_r", title = what }, hist } }
      rep:figure(path, { caption = caption })
    end
  end

  -- Box plots: the strongest significant edges, and the network-pair means.
  local p = study.participants
  local function group_rows(c)
    -- {label, session, participant rows} of the groups a contrast compares.
    local t1, t3 = r.netmats[o.tp1], r.netmats[o.tp3]
    if c.key == "hc_vs_mdd" then
      local a, b = {}, {}
      for _, i in ipairs(t1.rows) do
        if p.group[i] == "control" then a[#a + 1] = i else b[#b + 1] = i end
      end
      return { { "controls", o.tp1, a }, { "patients", o.tp1, b } }, "group"
    elseif c.key == "tp1_vs_tp3" or c.key == "tp1_vs_tp2" then
      local later = c.key == "tp1_vs_tp3" and o.tp3 or o.tp2
      return { { "TP1", o.tp1, c.rows }, { c.key == "tp1_vs_tp3" and "TP3" or "TP2", later, c.rows } }, "time"
    else
      local a, b = {}, {}
      for _, i in ipairs(c.rows) do
        if study.remit[i] then a[#a + 1] = i else b[#b + 1] = i end
      end
      if c.key == "remit_change" and t3 then
        return { { "remitters", "change", a }, { "non-remitters", "change", b } }, "group"
      end
      return { { "remitters", o.tp1, a }, { "non-remitters", o.tp1, b } }, "group"
    end
  end
  local function value(ses, what, i, j)
    if ses == "change" then
      local t1, t3 = r.netmats[o.tp1], r.netmats[o.tp3]
      return t3[what]:get(t3.index[i], j) - t1[what]:get(t1.index[i], j)
    end
    local m = r.netmats[ses]
    return m[what]:get(m.index[i], j)
  end
  local boxes = {}
  for _, c in ipairs(r.contrasts) do
    local sig = C.significant(c, r.edges)
    if #sig > 0 then
      local groups, hue = group_rows(c)
      local panels = {}
      local ylabel = (c.key == "remit_change" and "change in " or "") .. "Fisher z (" .. c.netmat .. ")"
      for k = 1, math.min(4, #sig) do
        local cols = { [hue] = {}, z = {} }
        local n = 0
        for _, g in ipairs(groups) do
          for _, i in ipairs(g[3]) do
            n = n + 1
            cols[hue][n], cols.z[n] = g[1], value(g[2], c.netmat, i, sig[k].j)
          end
        end
        panels[k] = { kind = "box", data = columns({ hue, "z" }, cols, n), x = hue, y = "z",
                      title = sig[k].edge.label:gsub("%-%-", " - "), ylabel = k == 1 and ylabel or nil }
      end
      local path = nl.plot.figure{ path = ("%s/box_edges_%s_%s.png"):format(fig, c.netmat, c.key), rows = 1,
        cols = #panels, panels = panels, width = 3.2 * #panels + 0.6, height = 3.8, font_size = 8,
        title = ("Strongest FWE-significant edges: %s, %s"):format(c.label, netmat_name[c.netmat]) }
      boxes[#boxes + 1] = { path, ("The %d strongest of the %d FWE-significant edges of %s (%s), one point per "
        .. "subject%s"):format(math.min(4, #sig), #sig, c.label, netmat_name[c.netmat],
        c.key == "remit_change" and ": the change TP3 - TP1" or "") }
    end
  end

  -- Network-pair means (over the pair's edges) by group and time point.
  local what = r.netmats[o.tp1].full and "full" or o.netmats[1]
  local wanted = { "somatomotor|somatomotor", "dmn|dmn", "dmn|sgacc", "limbic|limbic", "limbic|sgacc", "visual|visual" }
  local edges_of = {}
  for j, e in ipairs(r.edges) do
    edges_of[e.pair] = edges_of[e.pair] or {}
    table.insert(edges_of[e.pair], j)
  end
  local cols = { network = {}, group = {}, z = {} }
  local n = 0
  local t1, t3 = r.netmats[o.tp1], r.netmats[o.tp3]
  local sessions = { { "controls " .. o.tp1, t1, "control" }, { "patients " .. o.tp1, t1, "patient" } }
  if t3 then sessions[3] = { "patients " .. o.tp3, t3, "patient" } end
  local shown_pairs = {}
  for _, pair in ipairs(wanted) do
    local idx = edges_of[pair]
    if idx then
      shown_pairs[#shown_pairs + 1] = pair:gsub("|", "-")
      local label = pair:gsub("|", "-"):gsub("^(%w+)%-%1$", "%1")
      for _, s in ipairs(sessions) do
        local M = s[2][what]:cols_at(idx):mean(2)
        for k, i in ipairs(s[2].rows) do
          if p.group[i] == s[3] then
            n = n + 1
            cols.network[n], cols.group[n], cols.z[n] = label, s[1], M:get(k, 1)
          end
        end
      end
    end
  end
  if n > 0 then
    local path = nl.plot.box(fig .. "/box_networks.png", columns({ "network", "group", "z" }, cols, n),
      { x = "network", y = "z", hue = "group", ylabel = "mean Fisher z (" .. what .. ")",
        title = "Network-pair connectivity by group and time point", width = 9, height = 4.6 })
    boxes[#boxes + 1] = { path, ("Each subject's mean %s-correlation z over the edges of a network pair (a single "
      .. "name: within the network)%s"):format(what, simulated and "; the simulator planted effects in all pairs but "
      .. "visual (the negative control)" or "") }
  end
  if #boxes > 0 then
    rep:heading("Connectivity by group and time point", 2)
    for _, b in ipairs(boxes) do rep:figure(b[1], { caption = b[2] }) end
  end

  rep:provenance{ seeds = { permutations = math.tointeger(o.seed), simulator = simulated and math.tointeger(o.sim_seed)
    or nil } }
  return rep:write(out .. "/report.html")
end
