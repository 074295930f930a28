-- bench/ml/bench_ml.lua: per-call fit times of nl.ml estimators on the shapes of the
-- ketamine study (66 training subjects; 13 components or 136 regions).
--   neurolua bench/ml/bench_ml.lua DATA_DIR [large]
-- With "large": only the PCA of the scale issue (see run.sh: thousands of subjects x
-- many voxels, k = 10), X = L diag(d) R + noise from DATA_DIR/L.csv, d.csv and R.csv
-- plus standard normal noise drawn here (peer_sklearn.py draws its own); prints the
-- fastest of three wall-clock fits (the truncated solver runs on nl.threads() threads)
-- and the first eigenvalue for the cross-check.
-- Reads X13.csv, X136.csv and y.csv written by run.sh (so both tools see the same
-- numbers) and prints one line per case: name, microseconds per call (the median over
-- batches of calls). The single-threaded cases are timed in process CPU time (os.clock, like the peers); ROBPCA, whose FAST-MCD
-- starts and outlyingness directions can run on two threads, in wall-clock time
-- (nl.clock) on 1 and on 2 threads.
local nl = require "neurolua"
local dir = assert(arg[1], "usage: bench_ml.lua DATA_DIR")

local function load(name)
  local t = nl.table.read(dir .. "/" .. name)
  return t:matrix(t:columns())
end
if arg[2] == "large" then
  local L, R, d = load("L.csv"), load("R.csv"), load("d.csv")
  for j = 1, d:rows() do
    local c = d:get(j, 1)
    for i = 1, L:rows() do L:set(i, j, L:get(i, j) * c) end
  end
  nl.seed(1)
  local X = L * R + nl.matrix.randn(L:rows(), R:cols())
  local pca, best = nl.ml.pca{ k = 10 }, math.huge
  for _ = 1, 3 do
    local t0 = nl.clock()
    pca:fit(X)
    best = math.min(best, nl.clock() - t0)
  end
  print(string.format("pca_large %.4f", best))
  print(string.format("pca_large_eigenvalue1 %.6g", pca.eigenvalues_:get(1, 1)))
  return
end
local y = load("y.csv")
local cases = {
  { "svc 66x13", load("X13.csv") },
  { "svc 66x136", load("X136.csv") },
}

-- Median time per call over batches of calls repeated for min_seconds. A batch holds
-- enough calls to last about 1 ms, so the clock's own cost (os.clock is a system call)
-- is not counted in every call; the median ignores batches that were descheduled on a
-- shared machine.
local function time(fn, min_seconds, clock)
  clock = clock or os.clock
  fn()  -- warm-up
  local batch, t0 = 1, clock()
  fn()
  local one = clock() - t0
  if one < 1e-3 then batch = math.max(1, math.floor(1e-3 / math.max(one, 1e-7))) end
  local times, start = {}, clock()
  repeat
    t0 = clock()
    for _ = 1, batch do fn() end
    times[#times + 1] = (clock() - t0) / batch
  until clock() - start >= min_seconds
  table.sort(times)
  return times[(#times + 1) // 2]
end

for _, c in ipairs(cases) do
  local X = c[2]
  local svc = nl.ml.svc{ C = 1, weighting = "balanced", tol = 0.01 }
  local dt = time(function() svc:fit(X, y) end, 1.0)
  print(string.format("%-14s %10.1f", c[1], dt * 1e6))
end
local X136 = load("X136.csv")
local pca = nl.ml.pca{ k = 13 }
print(string.format("%-14s %10.1f", "pca 66x136", time(function() pca:fit(X136) end, 1.0) * 1e6))
local threads = nl.threads()
local robpca = nl.ml.robpca{ k = 13 }
for _, n in ipairs{ 1, 2 } do
  nl.threads(n)
  local dt = time(function() robpca:fit(X136) end, 2.0, nl.clock)
  print(string.format("%-14s %10.1f", "robpca/" .. n .. "t", dt * 1e6))
end
nl.threads(threads)
