-- bench/ml/estimators.lua DATA_DIR OUT_DIR: neurolua's side of bench/ml/estimators.sh.
-- Times the estimators of docs/reference/ml.md ("Estimators") on the designs written by
-- estimators_data.py, on one thread, and a nested CV of a ridge pipeline; writes each
-- case's predictions on the 200 test rows so that estimators_summary.py can compare them
-- with scikit-learn's. The cases and their options are listed once, in CASES below;
-- estimators_peer.py holds the same list with scikit-learn's spellings.
--
-- Prints one line per case: `fit <case> <n> <p> <cpu s> <wall s> <calls> <iterations>`
-- and `nested <n> <p> <cpu s> <wall s> <runs> <alphas chosen>`, where the times are
-- medians per call. Writes OUT_DIR/nl_<case>_<n>_<p>.txt (one decision value or
-- prediction per test row, 17 digits), OUT_DIR/nl_nested_<n>_<p>.txt (the nested CV's
-- prediction of each of the n subjects) and OUT_DIR/inner_folds_<n>_<p>.csv (the CV1
-- folds neurolua drew inside each outer fold, which the peer then uses).
-- Environment: SIZES ("100,300,1000"), PS ("116,2000"), CASES_ONLY (a comma list of
-- case names), REPEATS (5: timed batches per case, at least), MIN_SECONDS (0.5: and at
-- least this long), NESTED ("300x116,1000x116,300x2000"; "" for none), NESTED_RUNS (3).
local nl = require "neurolua"
local data, out = assert(arg[1], "usage: estimators.lua DATA_DIR OUT_DIR"), assert(arg[2], "usage: estimators.lua DATA_DIR OUT_DIR")
nl.threads(1)  -- one thread, as the peer (whose BLAS runs on one)

local function list(s)
  local t = {}
  for v in s:gmatch("[^,%s]+") do t[#t + 1] = v end
  return t
end
local sizes = list(os.getenv("SIZES") or "100,300,1000")
local ps = list(os.getenv("PS") or "116,2000")
local repeats = tonumber(os.getenv("REPEATS") or "5")
local min_seconds = tonumber(os.getenv("MIN_SECONDS") or "0.5")
local only = os.getenv("CASES_ONLY")
local nested_sizes = list(os.getenv("NESTED") or "300x116,1000x116,300x2000")
local nested_runs = tonumber(os.getenv("NESTED_RUNS") or "3")

-- The cases: name, kind (labels or targets), constructor given the rbf gamma.
-- C = 0.01 for the linear models keeps every solver well inside its iteration limit on
-- these z-scored designs (the SVC needs at most about 300 passes); tolerances are the
-- same number on both sides (LIBLINEAR's and LIBSVM's eps; scikit-learn passes tol).
local CASES = {
  { "svc", "label", function() return nl.ml.svc{ C = 0.01, weighting = "none", tol = 0.01 } end },
  { "svr", "y", function() return nl.ml.svr{ C = 0.01, epsilon = 0.1, bias = 1, tol = 0.001 } end },
  { "logistic", "label", function() return nl.ml.logistic{ C = 0.01, weighting = "none", bias = true, tol = 0.01 } end },
  { "ridge", "y", function() return nl.ml.ridge{ alpha = 1 } end },
  { "kernel_ridge", "y", function(g) return nl.ml.kernel_ridge{ alpha = 1, kernel = "rbf", gamma = g } end },
  { "kernel_svc", "label", function(g) return nl.ml.kernel_svc{ C = 1, kernel = "rbf", gamma = g, weighting = "none", tol = 0.001 } end },
}
local wanted = {}
for _, c in ipairs(list(only or "")) do wanted[c] = true end

local function median(v)
  table.sort(v)
  local n = #v
  return n % 2 == 1 and v[(n + 1) // 2] or 0.5 * (v[n // 2] + v[n // 2 + 1])
end

-- Median time per call, CPU (os.clock) and wall clock (nl.clock), over batches of calls:
-- one warm-up call, then at least `repeats` batches lasting at least `min_seconds` in
-- all. A batch holds enough calls to last about 2 ms, so that the clocks' own cost is
-- not counted in every call of a fast fit; slow fits are one call per batch.
local function time(fn)
  fn()
  local c0 = os.clock()
  fn()
  local one = os.clock() - c0
  local batch = one < 2e-3 and math.max(1, math.floor(2e-3 / math.max(one, 1e-7))) or 1
  local cpu, wall, start = {}, {}, nl.clock()
  repeat
    local w, c = nl.clock(), os.clock()
    for _ = 1, batch do fn() end
    cpu[#cpu + 1] = (os.clock() - c) / batch
    wall[#wall + 1] = (nl.clock() - w) / batch
  until #cpu >= repeats and nl.clock() - start >= min_seconds
  return median(cpu), median(wall), #cpu * batch
end

local function write_column(path, M)
  local f = assert(io.open(path, "w"))
  for i = 1, M:rows() do f:write(string.format("%.17g\n", M:get(i, 1))) end
  f:close()
end

local function read_number(path)
  local f = assert(io.open(path))
  local v = assert(tonumber(f:read("l")), path)
  f:close()
  return v
end

local N_POOL, N_TEST = 1000, 200
local loaded = {}
local function load(p)
  if not loaded[p] then
    local t = nl.table.read(data .. "/data" .. p .. ".csv")
    local M = t:matrix()
    loaded[p] = { y = M:cols_at(1, 1), label = M:cols_at(2, 2), X = M:cols_at(3, M:cols()),
                  gamma = read_number(data .. "/gamma" .. p .. ".txt") }
  end
  return loaded[p]
end

io.stdout:setvbuf("line")
for _, ps_ in ipairs(ps) do
  local p = tonumber(ps_)
  local d = load(p)
  local Xtest = d.X:rows_at(N_POOL + 1, N_POOL + N_TEST)
  for _, n_ in ipairs(sizes) do
    local n = tonumber(n_)
    local X = d.X:rows_at(1, n)
    for _, case in ipairs(CASES) do
      local name, kind, make = case[1], case[2], case[3]
      if not only or wanted[name] then
        local target = d[kind]:rows_at(1, n)
        local est = make(d.gamma)
        local cpu, wall, calls = time(function() est:fit(X, target) end)
        est = make(d.gamma):fit(X, target)
        write_column(string.format("%s/nl_%s_%d_%d.txt", out, name, n, p), est:decision(Xtest))
        print(string.format("fit %s %d %d %.6g %.6g %d %d", name, n, p, cpu, wall, calls, est.iterations_))
        collectgarbage()
      end
    end
  end
end

-- The nested CV of a ridge pipeline: scale to [-1, 1] (fitted on each training set),
-- ridge over 7 alphas; outer 5 folds x 1 (the folds of outer_folds<n>.csv, shared with
-- the peer), inner 5 folds x 1 (neurolua's draw, written for the peer), MAE criterion.
local ALPHAS = { 0.01, 0.1, 1, 10, 100, 1000, 10000 }
for _, s in ipairs(nested_sizes) do
  local n, p = s:match("^(%d+)x(%d+)$")
  n, p = tonumber(n), tonumber(p)
  local d = load(p)
  local X, y = d.X:rows_at(1, n), d.y:rows_at(1, n)
  local folds = {}
  for i, v in ipairs(nl.table.read(string.format("%s/outer_folds%d.csv", data, n)).fold) do folds[i] = v end
  local pipe = nl.ml.pipeline{ nl.ml.scale{ range = { -1, 1 } }, nl.ml.ridge{ alpha = ALPHAS } }
  local function run()
    return nl.cv.nested(pipe, X, y, { outer = { 5, 1 }, inner = { 5, 1 }, folds = { folds }, seed = 1,
                                     criterion = "mae" })
  end
  local r = run()  -- warm-up, and the result written below
  local cpu, wall = {}, {}
  for _ = 1, nested_runs do
    local w, c = nl.clock(), os.clock()
    run()
    cpu[#cpu + 1], wall[#wall + 1] = os.clock() - c, nl.clock() - w
    collectgarbage()
  end
  write_column(string.format("%s/nl_nested_%d_%d.txt", out, n, p), r.median_)
  local f = assert(io.open(string.format("%s/inner_folds_%d_%d.csv", out, n, p), "w"))
  f:write("outer,subject,fold\n")
  for o = 1, 5 do
    local t = r:inner_folds(1, o)
    local subject, fold = t.subject, t.repeat_1
    for i = 1, #subject do f:write(string.format("%d,%d,%d\n", o, subject[i], fold[i])) end
  end
  f:close()
  local chosen = {}
  for i, a in ipairs(r.chosen_C_) do chosen[i] = string.format("%g", a) end
  print(string.format("nested %d %d %.6g %.6g %d %s", n, p, median(cpu), median(wall), nested_runs,
                      table.concat(chosen, "/")))
end
