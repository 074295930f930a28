-- bench/ml/bench_ml.lua: per-call fit times of nl.ml estimators on the shapes of the
-- ketamine study (66 training subjects; 13 components or 136 regions).
--   neurolua bench/ml/bench_ml.lua DATA_DIR
-- Reads X13.csv, X136.csv and y.csv written by run.sh (so both tools see the same
-- numbers) and prints one line per case: name, microseconds per call.
local nl = require "neurolua"
local dir = assert(arg[1], "usage: bench_ml.lua DATA_DIR")

local function load(name)
  local t = nl.table.read(dir .. "/" .. name)
  return t:matrix(t:columns())
end
local y = load("y.csv")
local cases = {
  { "svc 66x13", load("X13.csv") },
  { "svc 66x136", load("X136.csv") },
}

local function time(fn, min_seconds)
  local reps, t0 = 0, os.clock()
  repeat
    fn()
    reps = reps + 1
  until os.clock() - t0 >= min_seconds
  return (os.clock() - t0) / reps
end

for _, c in ipairs(cases) do
  local X = c[2]
  local svc = nl.ml.svc{ C = 1, weighting = "balanced", tol = 0.01 }
  local dt = time(function() svc:fit(X, y) end, 1.0)
  print(string.format("%-14s %10.1f", c[1], dt * 1e6))
end
local X136 = load("X136.csv")
for _, step in ipairs{ { "pca 66x136", nl.ml.pca }, { "robpca 66x136", nl.ml.robpca } } do
  if step[2] then
    local t = step[2]{ k = 13 }
    local dt = time(function() t:fit(X136) end, 1.0)
    print(string.format("%-14s %10.1f", step[1], dt * 1e6))
  end
end
