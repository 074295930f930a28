-- scripts/ketamine/calibrate.lua: the calibration record of nl.sim.ketamine.
--
--   neurolua scripts/ketamine/calibrate.lua [first_seed] [last_seed] [workdir]
--
-- For each simulator seed: simulate the four cohorts (AAL, 3 mm) into workdir/seed<k>,
-- read them back (nl.study.participants, atlas:summarize "volume_ml"), then run the
-- paper's pipeline (METHODS.md section 1):
--  * discovery: nl.cv.nested, outer {3, 5}, inner {3, 5}, C grid 2^-6..2^4, seed 1;
--  * saline and pooled external (MD + NY): a model fitted on all of discovery and applied
--    unchanged. It mirrors NeuroMiner's out-of-cohort ensemble: 3 folds x 5 repeats of
--    stratified CV1 partitions of the whole discovery cohort (Lua's math.random, seeded
--    by the simulator seed), each a pipeline fitted on CV1-train with its forward wrapper
--    selecting on CV1-test and the SVC retrained on both, at the C chosen most often by
--    the nested CV's outer folds (ties: the smaller C); a subject's score is the median
--    of the 15 models' decision scores.
-- Prints one line per seed and the mean over seeds.
local nl = require "neurolua"

local first = tonumber(arg and arg[1]) or 1
local last = tonumber(arg and arg[2]) or first + 4
local workdir = arg and arg[3] or os.getenv("TMPDIR") or "/tmp"
workdir = workdir .. "/nl_ketamine_calibration"

local grid = nl.ml.pow2(-6, 4)
local function pipeline(C)
  return nl.ml.pipeline{
    nl.ml.scale{ range = { -1, 1 } },
    nl.ml.prune{},
    nl.ml.regress_out{ "age", "sex", "site", "tiv" },
    nl.ml.robpca{ k = 13 },
    nl.ml.scale{ range = { -1, 1 } },
    nl.ml.forward_select{ step = 0.10, stop = 0.80 },
    nl.ml.svc{ C = C },
  }
end

-- Rows (1-based) of the table whose column `col` is one of the given values.
local function rows_where(t, col, values)
  local set, rows = {}, {}
  for _, v in ipairs(values) do set[v] = true end
  local c = t:column(col)
  for i = 1, #t do if set[c[i]] then rows[#rows + 1] = i end end
  return rows
end

-- Stratified folds: fold[i] in 1..k for each subject, classes dealt in turn.
local function stratified(y, k)
  local pos, neg = {}, {}
  for i = 1, #y do if y[i] then pos[#pos + 1] = i else neg[#neg + 1] = i end end
  local function shuffle(v)
    for i = #v, 2, -1 do
      local j = math.random(i)
      v[i], v[j] = v[j], v[i]
    end
  end
  shuffle(pos); shuffle(neg)
  local fold, f = {}, 0
  for _, list in ipairs{ pos, neg } do
    for _, i in ipairs(list) do
      fold[i] = f + 1
      f = (f + 1) % k
    end
  end
  return fold
end

local function median(v)
  table.sort(v)
  local n = #v
  return n % 2 == 1 and v[(n + 1) // 2] or (v[n // 2] + v[n // 2 + 1]) / 2
end

local function mode_C(chosen)
  local count = {}
  for _, c in ipairs(chosen) do count[c] = (count[c] or 0) + 1 end
  local best
  for _, c in ipairs(grid) do
    if count[c] and (not best or count[c] > count[best]) then best = c end
  end
  return best
end

local atlas = nl.atlas.load("aal")
local results = {}
print(("%-5s %9s %6s %9s %11s %8s %12s %8s"):format("seed", "disc BAC", "AUC", "C", "ext BAC", "AUC",
  "saline BAC", "AUC"))
for seed = first, last do
  local dir = ("%s/seed%d"):format(workdir, seed)
  nl.sim.ketamine{ seed = seed, atlas = atlas, resolution = 3, dir = dir, overwrite = true }
  local s = nl.study.participants(dir .. "/participants.tsv")
  s.response = nl.study.response(s.madrs_pre, s.madrs_post)
  local X = atlas:summarize(nl.volume.load_all(s.gm_path), "volume_ml"):matrix()

  local disc = rows_where(s, "cohort", { "discovery" })
  local ext = rows_where(s, "cohort", { "external_md", "external_ny" })
  local sal = rows_where(s, "cohort", { "saline" })
  local Xd, sd = X:rows_at(disc), s:take(disc)
  local yd = nl.study.response(sd.madrs_pre, sd.madrs_post)

  local r = nl.cv.nested(pipeline(grid), Xd, yd, { covariates = sd, outer = { 3, 5 }, inner = { 3, 5 }, seed = 1 })
  local C = mode_C(r.chosen_C_)

  -- The fitted-on-discovery ensemble, applied to saline and pooled external.
  local targets = { ext = { rows = ext }, sal = { rows = sal } }
  for _, t in pairs(targets) do
    t.X, t.cov = X:rows_at(t.rows), s:take(t.rows)
    t.y = nl.study.response(t.cov.madrs_pre, t.cov.madrs_post)
    t.scores = {}
    for i = 1, #t.rows do t.scores[i] = {} end
  end
  math.randomseed(seed)
  for _ = 1, 5 do
    local fold = stratified(yd, 3)
    for f = 1, 3 do
      local tr, te = {}, {}
      for i = 1, #yd do
        if fold[i] == f then te[#te + 1] = i else tr[#tr + 1] = i end
      end
      local ytr, yte = {}, {}
      for k, i in ipairs(tr) do ytr[k] = yd[i] end
      for k, i in ipairs(te) do yte[k] = yd[i] end
      local p = pipeline(C):fit(Xd:rows_at(tr), ytr, {
        covariates = sd:take(tr),
        validation = { X = Xd:rows_at(te), y = yte, covariates = sd:take(te) },
      })
      for _, t in pairs(targets) do
        local d = p:decision(t.X, { covariates = t.cov })
        for i = 1, #t.rows do table.insert(t.scores[i], d:get(i, 1)) end
      end
    end
  end
  for _, t in pairs(targets) do
    local med = {}
    for i = 1, #t.rows do med[i] = median(t.scores[i]) end
    t.metrics = nl.ml.metrics(med, t.y)
  end
  local m = r.metrics_
  results[#results + 1] = { m.BAC, m.AUC, targets.ext.metrics.BAC, targets.ext.metrics.AUC,
                            targets.sal.metrics.BAC, targets.sal.metrics.AUC }
  print(("%-5d %8.1f%% %6.3f %9g %10.1f%% %8.3f %11.1f%% %8.3f"):format(seed, 100 * m.BAC, m.AUC, C,
    100 * targets.ext.metrics.BAC, targets.ext.metrics.AUC, 100 * targets.sal.metrics.BAC, targets.sal.metrics.AUC))
  io.stdout:flush()
end
local mean = { 0, 0, 0, 0, 0, 0 }
for _, r in ipairs(results) do
  for j = 1, 6 do mean[j] = mean[j] + r[j] / #results end
end
print(("%-5s %8.1f%% %6.3f %9s %10.1f%% %8.3f %11.1f%% %8.3f"):format("mean", 100 * mean[1], mean[2], "",
  100 * mean[3], mean[4], 100 * mean[5], mean[6]))
