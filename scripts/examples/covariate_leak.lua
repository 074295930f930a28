-- scripts/examples/covariate_leak.lua: the covariate-leak experiment of
-- docs/methods-notes.md. Features that carry nothing but a site and an age effect
-- (40 features = 0.3 x noise + site offset (+-1) + 0.08 x age), labels that depend on
-- site and age (label = sign(site + 0.08 (age - 40) + noise)), and the pipeline scale,
-- regress_out{site, age}, scale, linear SVC in repeated nested CV. Regressing out site
-- and age removes everything the features know about the labels, so chance (BAC 0.5)
-- is the right answer. With NeuroMiner's retraining (refit_preprocessing = false) the
-- base models are retrained on CV1-train + CV1-test with regress_out fitted on CV1-train
-- only: the CV1-test rows keep part of their covariate effect, the SVC learns it, and
-- the BAC rises above chance; with the default (refit_preprocessing = true) it stays at
-- chance.
--
--   neurolua scripts/examples/covariate_leak.lua [seeds=8] [n=120]
--
-- Prints the BAC of both settings for inner folds {2, 5}, {3, 5} and {10, 2}, per seed
-- and as mean and t against 0.5. Also loaded by tests/lua/test_methods.lua (the
-- functions are returned when the file is not run as the main script).
local nl = require "neurolua"

local M = {}

-- One simulated data set: X (n x 40 Matrix), labels (list of +1/-1), covariates
-- (Table: site "A"/"B", age in years). Everything from nl.matrix's seeded generators.
function M.data(seed, n)
  n = n or 120
  local p = 40
  local noise = nl.matrix.randn(n, p, seed)
  local e = nl.matrix.randn(n, 1, seed + 100000)
  local u = nl.matrix.rand(n, 1, seed + 200000)
  local X = nl.matrix.zeros(n, p)
  local site, age, y = {}, {}, {}
  for i = 1, n do
    site[i] = i % 2 == 0 and "A" or "B"
    age[i] = 20 + 40 * u:get(i, 1)
    local s = site[i] == "A" and 1 or -1
    y[i] = s + 0.08 * (age[i] - 40) + e:get(i, 1) > 0 and 1 or -1
    for j = 1, p do X:set(i, j, 0.3 * noise:get(i, j) + s + 0.08 * age[i]) end
  end
  return X, y, nl.table.new{ { "site", site }, { "age", age } }
end

M.pipeline = nl.ml.pipeline{ nl.ml.scale{}, nl.ml.regress_out{ "site", "age" }, nl.ml.scale{},
                             nl.ml.svc{ C = nl.ml.pow2(-6, 4) } }

-- The nested-CV BAC of one data set (outer {3, 5}) with inner = {folds, repeats}.
function M.bac(seed, inner, refit, n)
  local X, y, t = M.data(seed, n)
  local r = nl.cv.nested(M.pipeline, X, y, { covariates = t, inner = inner, seed = seed, refit_preprocessing = refit })
  return r.metrics_.bac
end

-- Mean, and t against 0.5 (SD / sqrt(k)), of a list of BACs.
function M.summary(b)
  local s, ss = 0, 0
  for _, v in ipairs(b) do s = s + v end
  local mean = s / #b
  for _, v in ipairs(b) do ss = ss + (v - mean) ^ 2 end
  local sd = math.sqrt(ss / (#b - 1))
  return mean, (mean - 0.5) / (sd / math.sqrt(#b))
end

local main = arg and arg[0] and arg[0]:match("covariate_leak%.lua$")
if not main then return M end

local o = { seeds = 8, n = 120 }
local Args = dofile((arg[0]:match("^(.*/)") or "./") .. "../lib/args.lua")
Args.parse(arg, { options = { seeds = "number", n = "number" }, names = { "seeds", "n" }, usage = "[key=value ...]" }, o)
print(("Covariate leak: %d subjects, 40 features carrying only site and age, labels from site + age + noise; "
  .. "BAC over seeds 1-%d (chance = 0.5)"):format(o.n, o.seeds))
print(("%-10s %-36s %8s %8s"):format("inner", "retrained base models", "mean BAC", "t"))
for _, inner in ipairs{ { 2, 5 }, { 3, 5 }, { 10, 2 } } do
  for _, refit in ipairs{ false, true } do
    local b = {}
    for s = 1, o.seeds do b[s] = M.bac(s, inner, refit, o.n) end
    local mean, t = M.summary(b)
    print(("%-10s %-36s %8.3f %8.1f"):format(("{%d, %d}"):format(inner[1], inner[2]),
      refit and "preprocessing refitted (default)" or "CV1-train preprocessing (NeuroMiner)", mean, t))
  end
end
