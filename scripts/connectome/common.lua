-- scripts/connectome/common.lua: the whole-brain functional connectome of ketamine
-- treatment (seed 002, Sahib et al. 2020; METHODS.md section 2): node time series per
-- run, FSLNets netmats, subjects x edges matrices, edgewise GLMs with Freedman-Lane
-- permutations and max-T FWE, post hoc tests, and printing beside the paper's figures.
--
-- Loaded by connectome.lua and the tests with dofile; returns a table of functions.
local nl = require "neurolua"
-- This file's folder: from its chunk name, or under --sandbox (no debug.getinfo) from
-- the running script, which lies next to it.
local here = (debug.getinfo and debug.getinfo(1, "S").source or "@" .. (arg and arg[0] or "")):match("^@(.*/)") or "./"
local F = dofile(here .. "../lib/fmri_study.lua")

local C = { F = F }

-- ---------------------------------------------------------------- the paper

-- Sahib et al. 2020 (seed 002), Results and Figs. 2-4: 40 controls and 61 patients at
-- baseline (TP1), 48 after one infusion (TP2), 51 after four (TP3), 24 of them
-- remitters (HDRS-17 <= 7); 172 ICA nodes, ridge partial correlation (rho 0.1), FSL
-- randomise with 5000 permutations, FWE p < 0.05 across the netmat.
C.paper = {
  hc_vs_mdd = "3 edges: within somatomotor (HC > MDD); ventral attention-visual and visual-DMN (MDD > HC)",
  tp1_vs_tp2 = "none",
  tp1_vs_tp3 = "1 edge: cerebellum-salience, decrease after treatment",
  remit_baseline = "none",
  remit_change = "1 edge: cerebellum-striatum (remitters decrease, non-remitters increase)",
  post_hoc = "time x remission F = 3.74, p = 0.027; dFC and baseline FC correlate positively with % HDRS change",
  nodes = 172,
}

-- The simulated default cohort: seed 002's sizes (61 patients of whom 51 finished the
-- four infusions and have a post-treatment scan, 40 controls), one run per session,
-- AAL at 4 mm (region means need no finer grid). No TP2 session is simulated.
C.sim_design = { subjects = { patients = 61, controls = 40, dropouts = 10, responders = 32 },
                 sessions = { pre2 = 0, post = 51, control_repeat = 0 }, motion_outliers = 0 }

-- The planted effects of nl.sim.fmri per contrast, as network pairs (sorted names
-- joined by '|') with the expected sign of the contrast's t; "amygdala_temporal" marks
-- the edges among Amygdala_L, Temporal_Sup_R and Temporal_Mid_R (the shared link u).
C.planted = {
  hc_vs_mdd = { ["somatomotor|somatomotor"] = 1, ["dmn|dmn"] = -1, ["dmn|sgacc"] = -1, ["limbic|limbic"] = -1,
                ["limbic|sgacc"] = -1 },
  tp1_vs_tp3 = { ["somatomotor|somatomotor"] = -1, ["dmn|dmn"] = 1, ["dmn|sgacc"] = 1, ["limbic|limbic"] = 1,
                 ["limbic|sgacc"] = 1 },
  tp1_vs_tp2 = {},
  remit_baseline = { amygdala_temporal = 1 },
  remit_change = { ["dmn|dmn"] = -1, ["dmn|sgacc"] = -1 },
}
C.amygdala_temporal = { Amygdala_L = true, Temporal_Sup_R = true, Temporal_Mid_R = true }

-- ---------------------------------------------------------------- arguments

local allowed = { networks = "string", tp1 = "string", tp2 = "string", tp3 = "string", hdrs_pre = "string",
                  hdrs_post = "string", covariates = "string", permutations = "number", seed = "number",
                  rho = "number", remission = "number", netmat = "string", tfce = "number" }

function C.args(argv) return C.defaults(F.args(argv, allowed)) end

function C.defaults(o)
  o.out = o.out or "out/connectome"
  o.resolution = o.resolution or 4
  o.tp1 = o.tp1 or "pre1"
  o.tp3 = o.tp3 or "post"
  if o.tp2 == "" then o.tp2 = nil end
  o.hdrs_pre = o.hdrs_pre or "hamd_baseline"
  o.hdrs_post = o.hdrs_post or "hamd_week2"
  o.remission = o.remission or 7
  o.covariates = o.covariates or "age,sex"
  o.rho = o.rho or 0.1
  o.netmat = o.netmat or "partial,full"
  o.netmats = F.split(o.netmat)
  for _, x in ipairs(o.netmats) do
    if x ~= "partial" and x ~= "full" then
      error(("option 'netmat' must be partial, full or partial,full; got '%s'"):format(o.netmat), 0)
    end
  end
  return F.cleaning_defaults(F.permutation_defaults(o))
end

-- ---------------------------------------------------------------- inputs

-- Reads the tables (the user's or the simulated cohort's), the atlas and the network
-- of every region; derives remission (HDRS <= o.remission at the end of treatment) and
-- the % HDRS change when the HDRS columns exist, else takes a `remission` column.
function C.inputs(o)
  local simulated = not o.participants
  if simulated then
    local dir = F.simulate(o, C.sim_design, "seed002")
    o.networks = o.networks or dir .. "/networks.tsv"
  end
  local wanted = { [o.tp1] = true, [o.tp3] = true }
  if o.tp2 then wanted[o.tp2] = true end
  local p, s = F.read_tables(o, {}, wanted)
  local remit, change = {}, {}
  if F.has_column(p, o.hdrs_pre) and F.has_column(p, o.hdrs_post) then
    for i = 1, #p do
      local a, b = p[o.hdrs_pre][i], p[o.hdrs_post][i]
      if p.group[i] == "patient" and F.present(a) and F.present(b) and a > 0 then
        remit[i], change[i] = b <= o.remission, 100 * (b - a) / a
      end
    end
  elseif F.has_column(p, "remission") then
    for i = 1, #p do
      local r = p.remission[i]
      if p.group[i] == "patient" and type(r) == "boolean" then remit[i] = r end
    end
  else
    io.stderr:write(("notice: %s has neither %s and %s nor a remission column: the remitter analyses are "
      .. "skipped\n"):format(o.participants, o.hdrs_pre, o.hdrs_post))
  end
  local atlas = nl.atlas.load(o.atlas)
  local net = {}
  local nt
  if o.networks then nt = nl.table.read(o.networks)
  else
    local ok, t = pcall(nl.sim.fmri_networks, atlas)
    nt = ok and t or nil
  end
  if nt then
    for _, c in ipairs{ "name", "network" } do
      if not F.has_column(nt, c) then error(("%s: missing column '%s'"):format(o.networks or "networks", c), 0) end
    end
    for i = 1, #nt do net[nt.name[i]] = nt.network[i] end
  end
  return { participants = p, sessions = s, atlas = atlas, network = net, masks = F.mask_list(o),
           remit = remit, change = change, simulated = simulated }
end

-- ---------------------------------------------------------------- node time series

-- Cleans every run: region means of all atlas regions (atlas:timeseries), then
-- nl.fc.clean. The nodes are the regions with voxels in the first run's image (a
-- notice names the others). Returns the runs Table (participant_id, session, run,
-- frames_kept, mean_fd, max_translation, max_rotation, excluded), the cleaned
-- frames x nodes Matrix of every included run (nil for excluded ones) and the node
-- list {position, name, network}.
function C.node_series(study, o)
  local s = study.sessions
  local names = study.atlas:names()
  local cols = { participant_id = {}, session = {}, run = {}, frames_kept = {}, mean_fd = {},
                 max_translation = {}, max_rotation = {}, excluded = {} }
  local series, nodes, cache = {}, nil, {}
  local has_run = F.has_column(s, "run")
  local step = nl.progress_line("cleaning runs", #s, "runs")
  for i = 1, #s do
    local v <close>, clean, func = F.load_run(o, s, i, study.masks, cache)
    local ts = study.atlas:timeseries(v)
    local sums = ts:sum(1)
    if not nodes then
      nodes = {}
      local lost = {}
      for j = 1, #names do
        local x = sums:get(1, j)
        if x == x then
          nodes[#nodes + 1] = { position = j, name = names[j], network = study.network[names[j]] or "none" }
        else
          lost[#lost + 1] = names[j]
        end
      end
      if #lost > 0 then
        io.stderr:write(("notice: %d regions have no voxel on the images' grid and are left out: %s\n"):format(
          #lost, table.concat(lost, ", ")))
      end
      nodes.positions = {}
      for k, n in ipairs(nodes) do nodes.positions[k] = n.position end
    end
    local Y = ts:cols_at(nodes.positions)
    local ysum = Y:sum()
    if ysum ~= ysum then
      error(("%s: a node region has no voxel in this image (its grid differs from the first run's)"):format(func), 0)
    end
    local Yc, info = clean(Y)
    cols.participant_id[i], cols.session[i] = s.participant_id[i], s.session[i]
    cols.run[i] = has_run and s.run[i] or 1
    cols.frames_kept[i], cols.mean_fd[i] = info.n_kept, info.mean_fd
    cols.max_translation[i], cols.max_rotation[i], cols.excluded[i] = info.max_translation, info.max_rotation,
      info.exclude
    series[i] = not info.exclude and Yc or false
    step()
  end
  local runs = F.table({ "participant_id", "session", "run", "frames_kept", "mean_fd", "max_translation",
                         "max_rotation", "excluded" }, cols, #s)
  return runs, series, nodes
end

-- ---------------------------------------------------------------- netmats

-- Per session: the participants with an included run (in participants order) and
-- their subjects x edges matrices, ridge partial and full correlation, Fisher z,
-- averaged over runs (nl.fc.netmats).
function C.netmats(study, runs, series, o)
  local p = study.participants
  local by = {}
  for i = 1, #runs do
    if series[i] then
      local key = runs.session[i]
      by[key] = by[key] or {}
      local id = runs.participant_id[i]
      by[key][id] = by[key][id] or {}
      table.insert(by[key][id], series[i])
    end
  end
  local out = {}
  for ses, per in pairs(by) do
    local ids, rows, list = {}, {}, {}
    for i = 1, #p do
      local r = per[p.participant_id[i]]
      if r then ids[#ids + 1], rows[#rows + 1], list[#list + 1] = p.participant_id[i], i, r end
    end
    out[ses] = { ids = ids, rows = rows,
                 partial = nl.fc.netmats(list, { method = "ridgep", rho = o.rho }),
                 full = nl.fc.netmats(list, { method = "corr" }) }
    out[ses].index = {}
    for k, i in ipairs(rows) do out[ses].index[i] = k end
  end
  return out
end

-- The edges (i < j, nl.fc.edges order) with their node names and networks.
function C.edge_list(nodes)
  local e = {}
  for a = 1, #nodes do
    for b = a + 1, #nodes do
      local na, nb = nodes[a].network, nodes[b].network
      local pair = na <= nb and (na .. "|" .. nb) or (nb .. "|" .. na)
      e[#e + 1] = { a = a, b = b, label = nodes[a].name .. "--" .. nodes[b].name, pair = pair,
                    amygdala_temporal = C.amygdala_temporal[nodes[a].name] and C.amygdala_temporal[nodes[b].name] }
    end
  end
  return e
end

-- The Ward order of the group-mean full-correlation netmat (FSLNets nets_hierarchy) and
-- the display matrix of the paper's Fig. 1b: group-mean full z below the diagonal,
-- partial z above, both in that order.
function C.ward(nm, nodes)
  local n = #nodes
  local full = nl.fc.from_edges(nm.full:mean(1), n)
  local partial = nl.fc.from_edges(nm.partial:mean(1), n)
  local order = nl.fc.hierarchy(full)
  local F2, P2 = full:rows_at(order):cols_at(order), partial:rows_at(order):cols_at(order)
  local shown = nl.matrix.zeros(n, n)
  for i = 1, n do
    for j = 1, n do
      if i > j then shown:set(i, j, F2:get(i, j)) elseif i < j then shown:set(i, j, P2:get(i, j)) end
    end
  end
  return order, shown, full, partial
end

-- ---------------------------------------------------------------- statistics

-- Rows of matrix M (a session's subjects x edges) for the participants `rows`.
local function pick(ses, rows, what)
  local k = {}
  for j, i in ipairs(rows) do k[j] = ses.index[i] end
  return ses[what]:rows_at(k)
end

-- tfce=1: edge-level TFCE beside max-T (E 1, H 2, edges neighbours when they share a
-- node; issue 20), its FWE p in the results table.
local function glm(Y, design, o)
  local nodes = math.floor((1 + math.sqrt(1 + 8 * Y:cols())) / 2 + 0.5)
  return nl.stats.glm(Y, design, { permutations = math.tointeger(o.permutations), seed = math.tointeger(o.seed),
                                    progress = false, tfce = o.tfce == 1 and { nodes = nodes } or nil })
end

-- The contrasts of METHODS.md section 2 on the `what` ("partial" or "full") netmats:
-- controls vs patients at TP1 (covariates), TP1 vs TP2 and TP1 vs TP3 (paired;
-- rearrangements swap a subject's two time points), remitters vs non-remitters at TP1
-- and on the change TP3 - TP1 (covariates). Returns a list of {key, netmat, label, n,
-- res, positive}.
function C.contrasts(study, nm, o, what)
  local p = study.participants
  local covs = F.split(o.covariates)
  local out = {}
  local t1, t3 = nm[o.tp1], nm[o.tp3]
  if not t1 then error(("no included run of session '%s' (option tp1)"):format(o.tp1), 0) end
  -- Controls vs patients at TP1.
  local rows, group = {}, {}
  for _, i in ipairs(t1.rows) do rows[#rows + 1], group[#group + 1] = i, p.group[i] end
  local nc = 0
  for _, g in ipairs(group) do if g == "control" then nc = nc + 1 end end
  if nc >= 2 and #rows - nc >= 2 then
    local d = nl.stats.design_two_sample(group, { levels = { "control", "patient" },
                                                  covariates = F.covariates(p, rows, covs, o.participants) })
    out[#out + 1] = { key = "hc_vs_mdd", netmat = what, label = "controls - patients (TP1)", n = ("%d + %d"):format(nc, #rows - nc),
                      res = glm(pick(t1, rows, what), d, o), positive = "controls > patients" }
  end
  -- Paired: TP1 - TP2, TP1 - TP3 (patients with both).
  for _, tp in ipairs{ { "tp1_vs_tp2", o.tp2, "TP2" }, { "tp1_vs_tp3", o.tp3, "TP3" } } do
    local t2 = tp[2] and nm[tp[2]]
    if t2 then
      local both = {}
      for _, i in ipairs(t1.rows) do
        if t2.index[i] and p.group[i] == "patient" then both[#both + 1] = i end
      end
      if #both >= 3 then
        local Y = pick(t1, both, what):vcat(pick(t2, both, what))
        out[#out + 1] = { key = tp[1], netmat = what, label = "TP1 - " .. tp[3] .. " (paired)", n = tostring(#both),
                          res = glm(Y, nl.stats.design_paired(#both), o), positive = "decrease after treatment",
                          rows = both }
      end
    end
  end
  -- Remitters vs non-remitters: at TP1, and on the change TP3 - TP1.
  local function remitter_test(key, label, Y, r)
    local rem, lab = 0, {}
    for k, i in ipairs(r) do lab[k] = study.remit[i]; if lab[k] then rem = rem + 1 end end
    if rem < 2 or #r - rem < 2 then return end
    local d = nl.stats.design_two_sample(lab, { levels = { true, false },
                                                covariates = F.covariates(p, r, covs, o.participants) })
    out[#out + 1] = { key = key, netmat = what, label = label, n = ("%d + %d"):format(rem, #r - rem), res = glm(Y, d, o),
                      positive = "remitters > non-remitters", rows = r }
  end
  local r1, rc = {}, {}
  for _, i in ipairs(t1.rows) do
    if study.remit[i] ~= nil then
      r1[#r1 + 1] = i
      if t3 and t3.index[i] then rc[#rc + 1] = i end
    end
  end
  if #r1 > 0 then
    remitter_test("remit_baseline", "remitters - non-remitters (TP1)", pick(t1, r1, what), r1)
  end
  if #rc > 0 then
    remitter_test("remit_change", "remitters - non-remitters (TP3 - TP1)",
      pick(t3, rc, what) - pick(t1, rc, what), rc)
  end
  return out
end

-- The FWE-significant edges of a contrast, strongest first: {edge, t, p_fwe, p_fdr (BH of
-- the parametric p)}.
function C.significant(c, edges, alpha)
  local r = c.res
  local sig = {}
  for j = 1, r.tests do
    local pf = r.p_fwe:get(j, 1)
    if pf < (alpha or 0.05) then
      sig[#sig + 1] = { j = j, edge = edges[j], t = r.stat:get(j, 1), p_fwe = pf, p_fdr = r.p_fdr:get(j, 1) }
    end
  end
  table.sort(sig, function(x, y) return math.abs(x.t) > math.abs(y.t) end)
  return sig
end

-- Counts of significant edges per network pair and direction, largest first, as text.
function C.networks_text(sig)
  local count, keys = {}, {}
  for _, s in ipairs(sig) do
    local k = s.edge.pair:gsub("|", "-") .. (s.t > 0 and " (+)" or " (-)")
    if not count[k] then keys[#keys + 1] = k end
    count[k] = (count[k] or 0) + 1
  end
  table.sort(keys, function(a, b) return count[a] > count[b] or count[a] == count[b] and a < b end)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = ("%s %d"):format(k, count[k]) end
  return #parts > 0 and table.concat(parts, ", ") or "none"
end

-- Whether a significant edge lies where the simulator planted an effect for this
-- contrast (network pair or the amygdala-temporal regions) with the planted sign.
function C.is_planted(key, s)
  local pl = C.planted[key] or {}
  local sign = pl[s.edge.pair] or (s.edge.amygdala_temporal and pl.amygdala_temporal)
  return sign ~= nil and sign * s.t > 0
end

-- Post hoc, for the strongest significant edges of the patient contrasts (at most
-- `max` each): Pearson r of the % HDRS change with TP1 FC and with the change in FC,
-- and the mixed model FC ~ time + remitter + time:remitter + (1 | subject).
function C.post_hoc(study, nm, contrasts, edges, o, max)
  local t1, t3 = nm[o.tp1], nm[o.tp3]
  if not (t1 and t3) then return {} end
  local out = {}
  for _, c in ipairs(contrasts) do
    if c.key ~= "hc_vs_mdd" and c.key ~= "tp1_vs_tp2" then
      for k, s in ipairs(C.significant(c, edges)) do
        if k > (max or 3) then break end
        local base, delta, pct = {}, {}, {}
        local long = { subject = {}, time = {}, remitter = {}, fc = {} }
        local nlong = 0
        for _, i in ipairs(t1.rows) do
          if study.remit[i] ~= nil and t3.index[i] then
            local a = t1[c.netmat]:get(t1.index[i], s.j)
            local b = t3[c.netmat]:get(t3.index[i], s.j)
            if study.change[i] then base[#base + 1], delta[#delta + 1], pct[#pct + 1] = a, b - a, study.change[i] end
            for time, v in ipairs{ a, b } do
              nlong = nlong + 1
              long.subject[nlong], long.time[nlong] = study.participants.participant_id[i], time - 1
              long.remitter[nlong], long.fc[nlong] = study.remit[i], v
            end
          end
        end
        local row = { contrast = c.key, netmat = c.netmat, edge = s.edge.label, t = s.t, p_fwe = s.p_fwe }
        if #pct >= 4 then
          -- % change is negative for improvement: r > 0 means more FC goes with less improvement.
          row.r_base = nl.stats.pearson(base, pct)
          row.r_delta = nl.stats.pearson(delta, pct)
        end
        local ok, m = pcall(nl.stats.lmm, { y = "fc", fixed = { "time", "remitter", "time:remitter" },
                                            group = "subject", data = F.table({ "subject", "time", "remitter", "fc" },
                                                                              long, nlong) })
        if ok then row.lmm = m.coefficients_:row(4) end
        out[#out + 1] = row
      end
    end
  end
  return out
end

-- ---------------------------------------------------------------- everything

function C.analyse(o)
  local study = C.inputs(o)
  local c0 = os.clock()
  local runs, series, nodes = C.node_series(study, o)
  local nm = C.netmats(study, runs, series, o)
  local edges = C.edge_list(nodes)
  local contrasts = {}
  for _, what in ipairs(o.netmats) do
    for _, c in ipairs(C.contrasts(study, nm, o, what)) do contrasts[#contrasts + 1] = c end
  end
  local r = { study = study, runs = runs, nodes = nodes, netmats = nm, edges = edges, contrasts = contrasts,
              rho = o.rho }
  if nm[o.tp1] then r.order, r.display = C.ward(nm[o.tp1], nodes) end
  r.post_hoc = C.post_hoc(study, nm, contrasts, edges, o)
  r.cpu = os.clock() - c0
  return r
end

-- ---------------------------------------------------------------- printing

local pfmt = F.pfmt

-- The results table: per netmat and contrast the FWE-significant edge count, BH-FDR
-- count, the smallest FWE p, the networks involved, the paper's finding, and
-- (simulated cohort) how many significant edges lie where an effect was planted.
function C.format_results(r, simulated)
  local head = ("%-40s %-9s %5s %5s %9s  %s"):format("contrast", "n", "FWE", "FDR", "min pFWE",
    "networks of the FWE-significant edges (sign of t: count)")
  local lines = { head, string.rep("-", #head) }
  local last
  for _, c in ipairs(r.contrasts) do
    if c.netmat ~= last then
      lines[#lines + 1] = c.netmat == "partial" and "ridge partial correlation (rho " .. r.rho .. "; the paper's netmat)"
                          or "full correlation"
      last = c.netmat
    end
    local sig = C.significant(c, r.edges)
    local fdr, minp = 0, 1
    for j = 1, c.res.tests do
      if c.res.p_fdr:get(j, 1) < 0.05 then fdr = fdr + 1 end
      minp = math.min(minp, c.res.p_fwe:get(j, 1))
    end
    local pad = ("%-40s %-9s %5s %5s %9s  "):format("", "", "", "", "")
    if c.res.p_tfce_fwe then
      local k, best = 0, 1
      for j = 1, c.res.tests do
        local q = c.res.p_tfce_fwe:get(j, 1)
        if q < 0.05 then k = k + 1 end
        best = math.min(best, q)
      end
      lines[#lines + 1] = pad .. ("TFCE (%s): %d edges with FWE p < 0.05, min %s"):format(c.res.tfce_settings, k, pfmt(best))
    end
    lines[#lines + 1] = ("%-40s %-9s %5d %5d %9s  %s"):format("  " .. c.label, c.n, #sig, fdr, pfmt(minp),
      C.networks_text(sig))
    if c.netmat == "partial" then
      lines[#lines + 1] = ("%-40s %-9s %5s %5s %9s  paper: %s"):format("    (+ = " .. c.positive .. ")", "", "", "",
        "", C.paper[c.key] or "")
    end
    if simulated then
      local hits = 0
      for _, s in ipairs(sig) do if C.is_planted(c.key, s) then hits = hits + 1 end end
      lines[#lines + 1] = pad .. ("simulation: %d of %d where an effect was planted%s"):format(hits, #sig,
        next(C.planted[c.key] or {}) and "" or " (nothing planted)")
    end
  end
  lines[#lines + 1] = ("FWE: max-T over the %d edges, Freedman-Lane, %d permutations (FSL randomise -x); FDR: "
    .. "Benjamini-Hochberg over the parametric p-values."):format(#r.edges, r.contrasts[1] and r.contrasts[1].res.permutations or 0)
  return table.concat(lines, "\n")
end

-- The strongest significant edges of every contrast.
function C.format_edges(r, max)
  local lines = { ("%-8s %-16s %-44s %-26s %8s %8s %8s"):format("netmat", "contrast", "edge", "networks", "t",
    "p_FWE", "p_FDR") }
  for _, c in ipairs(r.contrasts) do
    local sig = C.significant(c, r.edges)
    for k, s in ipairs(sig) do
      if k > (max or 6) then
        lines[#lines + 1] = ("%-8s %-16s ... and %d more"):format("", "", #sig - k + 1)
        break
      end
      lines[#lines + 1] = ("%-8s %-16s %-44s %-26s %8.2f %8s %8s"):format(k == 1 and c.netmat or "",
        k == 1 and c.key or "", s.edge.label, s.edge.pair:gsub("|", "-"), s.t, pfmt(s.p_fwe), pfmt(s.p_fdr))
    end
  end
  return table.concat(lines, "\n")
end

function C.format_post_hoc(r)
  if #r.post_hoc == 0 then return "(no significant edge in the patient contrasts)" end
  local lines = { ("%-8s %-16s %-44s %20s %20s %18s"):format("netmat", "contrast", "edge", "r(TP1 FC, %HDRS)",
    "r(dFC, %HDRS)", "time:remitter t") }
  for _, h in ipairs(r.post_hoc) do
    local function rr(x) return x and ("%.2f (p %s)"):format(x.r, pfmt(x.p)) or "NA" end
    lines[#lines + 1] = ("%-8s %-16s %-44s %20s %20s %18s"):format(h.netmat, h.contrast, h.edge, rr(h.r_base),
      rr(h.r_delta), h.lmm and ("%.2f (p %s)"):format(h.lmm.t, pfmt(h.lmm.p)) or "NA")
  end
  lines[#lines + 1] = "paper: " .. C.paper.post_hoc
  return table.concat(lines, "\n")
end

-- ---------------------------------------------------------------- files

-- Writes runs.tsv, nodes.tsv (Ward order), netmat_ward.tsv, edges_<netmat>_<session>.tsv
-- (participants x edges), glm_<netmat>_<contrast>.tsv (every edge) and
-- significant_edges.tsv to o.out. Every file is written atomically (Table:write).
function C.save(r, o)
  nl.mkdir(o.out)
  r.runs:write(o.out .. "/runs.tsv")
  local names = {}
  for k, n in ipairs(r.nodes) do names[k] = n.name end
  if r.order then
    local cols = { ward_position = {}, node = {}, name = {}, network = {} }
    for k, j in ipairs(r.order) do
      cols.ward_position[k], cols.node[k], cols.name[k], cols.network[k] = k, j, names[j], r.nodes[j].network
    end
    F.table({ "ward_position", "node", "name", "network" }, cols, #r.order):write(o.out .. "/nodes.tsv")
    local list = { { "node", {} } }
    for k, j in ipairs(r.order) do list[1][2][k] = names[j] end
    for k, j in ipairs(r.order) do list[#list + 1] = { names[j], r.display:col(k) } end
    nl.table.new(list):write(o.out .. "/netmat_ward.tsv")
  end
  local labels = {}
  for j, e in ipairs(r.edges) do labels[j] = e.label end
  for ses, m in pairs(r.netmats) do
    for _, what in ipairs(o.netmats) do
      local list = { { "participant_id", m.ids } }
      local M = m[what]
      for j = 1, #labels do list[#list + 1] = { labels[j], M:col(j) } end
      nl.table.new(list):write(("%s/edges_%s_%s.tsv"):format(o.out, what, ses))
    end
  end
  local sig = { netmat = {}, contrast = {}, edge = {}, network_pair = {}, t = {}, p_fwe = {}, p_fdr = {} }
  local ns = 0
  for _, c in ipairs(r.contrasts) do
    local t = c.res.table
    t.edge = labels
    local pairs_ = {}
    for j, e in ipairs(r.edges) do pairs_[j] = e.pair end
    t.network_pair = pairs_
    t:write(("%s/glm_%s_%s.tsv"):format(o.out, c.netmat, c.key))
    for _, s in ipairs(C.significant(c, r.edges)) do
      ns = ns + 1
      sig.netmat[ns], sig.contrast[ns], sig.edge[ns], sig.network_pair[ns] = c.netmat, c.key, s.edge.label, s.edge.pair
      sig.t[ns], sig.p_fwe[ns], sig.p_fdr[ns] = s.t, s.p_fwe, s.p_fdr
    end
  end
  F.table({ "netmat", "contrast", "edge", "network_pair", "t", "p_fwe", "p_fdr" }, sig, ns):write(o.out .. "/significant_edges.tsv")
end

return C
