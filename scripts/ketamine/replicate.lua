-- scripts/ketamine/replicate.lua: the whole ketamine-response study, end to end
-- (METHODS.md section 1): Table 1 (demographics per cohort and response group), the
-- discovery model in repeated nested CV with 1000 permutations, the saline negative
-- control, the pooled external validation, Table 2 beside the paper's figures, and the
-- top-25 regions (Figure 2) with a weight map (Figure 3), all gathered in <out>/report.html.
--
--   neurolua scripts/ketamine/replicate.lua [participants.tsv [atlas]] [key=value ...]
--
-- Without arguments it runs on the built-in simulated cohort (written to
-- out/ketamine/sim on first use) and also checks the planted ground truth. Options:
-- Every analysis runs with NeuroMiner's methods (as the paper ran it; Table 2 beside the
-- paper's) and leak-free (docs/methods-notes.md), and both are printed. Options:
-- out (default out/ketamine), seed (1), permutations (1000), k (13), wrapper (true),
-- threads, sim_seed (9; why not 1: docs/ketamine.md), resolution (3). Outputs in
-- <out>: discovery.model, discovery_strict.model, discovery_weights.tsv, discovery_top25_weights.nii.gz,
-- table1.tsv, table2.tsv, report.html and its figures in figures/.
local nl = require "neurolua"
local dir = (arg and arg[0] or ""):match("^(.*/)") or "./"
local K = dofile(dir .. "common.lua")

local o = K.args(arg)
local wall0 = os.time()
local path = K.participants_path(o)
local all = K.participants(o)
all.response = nl.study.response(all.madrs_pre, all.madrs_post)
-- Every cohort's GM maps are read and checked before the long discovery run, so a bad
-- map of the external cohorts stops the run now, not after the permutations.
local has = {}
if K.has_column(all, "cohort") then
  for _, c in ipairs(all.cohort:unique()) do if type(c) == "string" then has[c] = true end end
end
local ext = {}
for c in pairs(has) do if c:match("^external") then ext[#ext + 1] = c end end
table.sort(ext)
K.load(o, K.has_column(all, "cohort") and { "discovery" } or nil)
if has.saline then K.load(o, { "saline" }) end
if #ext > 0 then K.load(o, ext) end

print(string.format("neurolua %s: ketamine-response replication on %s%s\n", nl.version, path,
  o.participants and "" or string.format(" (built-in cohort, simulator seed %d)", o.sim_seed or K.default_sim_seed)))
print("Table 1. Demographics by cohort and response group")
local t1 = nl.study.demographics(all, { by = K.has_column(all, "cohort") and { "cohort", "response" } or { "response" } })
print(t1)
K.mkdir(o.out)
t1:write(o.out .. "/table1.tsv")

-- Both methods (common.lua, M.methods): NeuroMiner's, as the paper ran it, and leak-free.
local which = { fresh = true, discovery = true, saline = has.saline, external = #ext > 0 }
local rows, r = K.table2_rows(o, K.methods.neurominer, which, ext)
local rows_strict = K.table2_rows(o, K.methods.strict, which, ext)

print(string.format("\nTable 2. Classification performance (%d permutations; p = (count+1)/(n+1), count/n beside it)",
  o.permutations))
print(K.both_tables(o, rows, rows_strict))
local t2 = {}
for _, set in ipairs{ { K.methods.neurominer, rows }, { K.methods.strict, rows_strict } } do
  for _, row in ipairs(set[2]) do
    local m = row.metrics
    t2[#t2 + 1] = { methods = set[1].name, analysis = row.name, TP = m.tp, TN = m.tn, FP = m.fp, FN = m.fn,
                    sensitivity = m.sensitivity, specificity = m.specificity, BAC = m.bac, PPV = m.ppv, NPV = m.npv,
                    AUC = m.auc, p = row.p or nl.table.NA,
                    permutation_count = row.p and row.result.permutation_count_ or nl.table.NA,
                    permutations = row.p and row.result.n_permutations_ or nl.table.NA,
                    paper_BAC = row.paper and row.paper.BAC / 100 or nl.table.NA,
                    paper_AUC = row.paper and row.paper.AUC or nl.table.NA }
  end
end
local cols = { "methods", "analysis", "TP", "TN", "FP", "FN", "sensitivity", "specificity", "BAC", "PPV", "NPV", "AUC",
               "p", "permutation_count", "permutations", "paper_BAC", "paper_AUC" }
local spec = {}
for j, c in ipairs(cols) do
  local v = {}
  for i, row in ipairs(t2) do v[i] = row[c] end
  v.n = #t2
  spec[j] = { c, v }
end
local t2_table = nl.table.new(spec)
t2_table:write(o.out .. "/table2.tsv")

print("\nFigure 2. Top 25 regions by mean back-projected weight (* = sign-consistent, BH-FDR 5 %)")
local text, w = K.top_regions(r, 25)
print(text)
print("paper: greater frontal volume (left medial SFG, right SFG, left frontal pole) predicts response;")
print("       greater cerebellar volume (vermal lobules I-V, VI-VII, left cerebellum exterior) non-response")

-- The built-in cohort knows its truth: where do the planted regions rank?
local truth_path = path:gsub("participants%.tsv$", "ground_truth.tsv")
if not o.participants and K.exists(truth_path) then
  local truth = nl.table.read(truth_path)
  local all_w = r:weights()
  local rank = {}
  for i = 1, #all_w do rank[all_w.name[i]] = { i, all_w.mean[i] } end
  print("\nGround truth of the simulated cohort (planted regions, their rank of " .. #all_w .. " and sign):")
  local top25 = 0
  for i = 1, #truth do
    local name, sign = truth.name[i], truth.sign[i]
    local got = rank[name]
    local ok = got and ((got[2] > 0) == (sign > 0))
    if got and got[1] <= 25 and ok then top25 = top25 + 1 end
    print(string.format("  %-24s planted %s  rank %3s  weight %+.4f  %s", name, sign > 0 and "response    " or
      "non-response", got and got[1] or "-", got and got[2] or 0, ok and "sign ok" or "SIGN WRONG"))
  end
  print(string.format("  %d of %d planted regions are in the top 25 with the right sign", top25, #truth))
end

-- The report: tables, figures and the weight map viewer in one offline HTML file.
local spread = dir .. "seed_spread.tsv"
local report = dofile(dir .. "report.lua")(K, o, { t1 = t1, t2 = t2_table, rows = rows, rows_strict = rows_strict, r = r,
  data = path,
  spread = (not o.participants and K.exists(spread)) and spread or nil })

print(string.format("\nOutputs in %s (report.html, figures/, discovery.model, discovery_strict.model, discovery_weights.tsv, "
  .. "discovery_top25_weights.nii.gz, table1.tsv, table2.tsv); wall time %d s", o.out, os.time() - wall0))
print("Open the report: " .. report)
