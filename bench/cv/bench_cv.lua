-- bench/cv/bench_cv.lua DATA.tsv MODE [ARG]: the discovery analysis of the ketamine
-- study (METHODS.md section 1) on the data set written by make_data.py, timed.
--   pca [REPEATS]       the like-for-like case: nested CV 3x5 / 3x5 with plain PCA and
--                       no wrapper, REPEATS times (default 3) on 1 thread and on all
--                       threads, after one warm-up run each
--   whole [FULL_PERMS]  the whole analysis (RobPCA, forward wrapper, 1000 NeuroMiner-
--                       mode permutations); the nested CV alone; FULL_PERMS (default 4)
--                       full-mode permutations, whose cost is their time minus the
--                       nested CV's, divided by FULL_PERMS
--   profile             on one thread: the nested CV with the C grid cut to 1 and 8
--                       values (what the large C values cost in the engine's loop),
--                       and the CPU time of each stage on CV1 partitions of the
--                       engine's shape (44 training, 22 validation, 33 outer-test)
-- Prints `key value` lines; times are seconds: wall clock and CPU (os.clock, summed
-- over threads).
local nl = require "neurolua"
local path, mode = assert(arg[1], "usage: bench_cv.lua DATA.tsv pca|whole|profile [N]"), arg[2] or "pca"

local function now()  -- wall clock (os.clock is CPU time summed over threads)
  local p = io.popen("date +%s.%N")
  local t = tonumber(p:read("l"))
  p:close()
  return t
end

local function timed(fn)
  local w0, c0 = now(), os.clock()
  local r = fn()
  return r, now() - w0, os.clock() - c0
end

local function out(key, value, fmt)
  print(string.format("%s " .. (fmt or "%.4f"), key, value))
end

local t = nl.table.read(path)
local regions = {}
for _, c in ipairs(t:columns()) do
  if c:match("^r%d+$") then regions[#regions + 1] = c end
end
local X = t:matrix(regions)
local y = t:matrix{ "response" }
local covariates = { "age", "sex", "site", "tiv" }
-- The covariates as a participants table would hold them (not the 136 volumes).
local participants = t:select{ "subject", "response", "age", "sex", "site", "tiv" }
local C_grid = nl.ml.pow2(-6, 4)

local function pipeline(reduce, wrapper)
  local steps = { nl.ml.scale{ range = { -1, 1 } }, nl.ml.prune{}, nl.ml.regress_out(covariates), reduce,
                  nl.ml.scale{ range = { -1, 1 } } }
  if wrapper then steps[#steps + 1] = nl.ml.forward_select{ step = 0.10, stop = 0.80 } end
  steps[#steps + 1] = nl.ml.svc{ C = C_grid }
  return nl.ml.pipeline(steps)
end

-- NeuroMiner's retraining (the CV1-train preprocessing kept), as the peer implements it
-- and as the paper ran it (docs/methods-notes.md); REFIT=1 in the environment times
-- neurolua's default (refit_preprocessing) instead.
local refit = os.getenv("REFIT") == "1"
local function nested(pipe, extra)
  local o = { covariates = participants, outer = { 3, 5 }, inner = { 3, 5 }, seed = 1, refit_preprocessing = refit }
  for k, v in pairs(extra or {}) do o[k] = v end
  return nl.cv.nested(pipe, X, y, o)
end

local function median(v)
  table.sort(v)
  local n = #v
  return n % 2 == 1 and v[(n + 1) // 2] or 0.5 * (v[n // 2] + v[n // 2 + 1])
end

local all_threads = nl.threads()
out("nl_threads", all_threads, "%d")

if mode == "pca" then
  local repeats = tonumber(arg[3]) or 3
  local pipe = pipeline(nl.ml.pca{ k = 13 }, false)
  local r
  for _, th in ipairs{ 1, all_threads } do
    nl.threads(th)
    nested(pipe)  -- warm-up
    for _ = 1, repeats do
      local w, c
      r, w, c = timed(function() return nested(pipe) end)
      out("nl_pca_wall_t" .. th, w)
      out("nl_pca_cpu_t" .. th, c)
    end
  end
  nl.threads(all_threads)
  out("nl_pca_bac", r.metrics_.bac)
  out("nl_pca_auc", r.metrics_.auc)
  local cs = {}
  for i, c in ipairs(r.chosen_C_) do cs[i] = string.format("%g", c) end
  print("nl_pca_chosen_C " .. table.concat(cs, ","))

elseif mode == "whole" then
  local full_perms = tonumber(arg[3]) or 4
  local pipe = pipeline(nl.ml.robpca{ k = 13 }, true)
  local r, w, c = timed(function() return nested(pipe, { permutations = 1000, mode = "neurominer" }) end)
  local nl_whole_w, nl_whole_c = w, c
  out("nl_whole_wall", w)
  out("nl_whole_cpu", c)
  out("nl_whole_bac", r.metrics_.bac)
  out("nl_whole_auc", r.metrics_.auc)
  out("nl_whole_p", r.p_, "%.4g")  -- (count + 1) / (n + 1)
  out("nl_whole_count", r.permutation_count_, "%d")
  local cs = {}
  for i, C in ipairs(r.chosen_C_) do cs[i] = string.format("%g", C) end
  print("nl_whole_chosen_C " .. table.concat(cs, ","))
  local walls, cpus = {}, {}
  for _ = 1, 3 do
    r, w, c = timed(function() return nested(pipe) end)
    walls[#walls + 1], cpus[#cpus + 1] = w, c
  end
  local nested_w, nested_c = median(walls), median(cpus)
  out("nl_nested_wall", nested_w)
  out("nl_nested_cpu", nested_c)
  -- NeuroMiner mode: each permutation retrains the 225 base SVCs only.
  out("nl_nm_perm_wall", (nl_whole_w - nested_w) / 1000, "%.6f")
  out("nl_nm_perm_cpu", (nl_whole_c - nested_c) / 1000, "%.6f")
  r, w, c = timed(function() return nested(pipe, { permutations = full_perms, mode = "full" }) end)
  out("nl_full_perms", full_perms, "%d")
  out("nl_full_perm_wall", (w - nested_w) / full_perms)
  out("nl_full_perm_cpu", (c - nested_c) / full_perms)

elseif mode == "profile" then
  nl.threads(1)
  -- (1) The engine's own nested CV, on one thread, with the C grid cut short: the
  -- differences are the cost of the dropped C values in the real loop.
  local grids = { { "C1", { 2 ^ -6 } }, { "C8", nl.ml.pow2(-6, 1) }, { "C11", C_grid } }
  for _, variant in ipairs{ { "pca", function() return nl.ml.pca{ k = 13 } end, false, 3 },
                            { "robpca_wrapper", function() return nl.ml.robpca{ k = 13 } end, true, 1 } } do
    for _, g in ipairs(grids) do
      local saved = C_grid
      C_grid = g[2]
      local pipe = pipeline(variant[2](), variant[3])
      C_grid = saved
      local cs = {}
      for _ = 1, variant[4] do
        local _, _, c = timed(function() return nested(pipe) end)
        cs[#cs + 1] = c
      end
      out(string.format("prof_nested_%s_%s", variant[1], g[1]), median(cs))
    end
  end
  -- (2) The CPU time of each stage on CV1 partitions of the engine's shape (33 outer-
  -- test subjects; the 66 others split 44 / 22, stratified), averaged over PARTS
  -- random partitions. Times include the Lua call (about 1-2 us).
  local PARTS = 6
  local pos, neg = {}, {}
  for i = 1, #t do
    if y:get(i, 1) > 0 then pos[#pos + 1] = i else neg[#neg + 1] = i end
  end
  local function clock(fn, min_seconds)
    local reps, c0 = 0, os.clock()
    repeat
      fn()
      reps = reps + 1
    until os.clock() - c0 >= (min_seconds or 0.02)
    return (os.clock() - c0) / reps
  end
  local acc, order = {}, {}
  local function add(key, v)
    if not acc[key] then acc[key], order[#order + 1] = 0, key end
    acc[key] = acc[key] + v / PARTS
  end
  math.randomseed(7)
  for _ = 1, PARTS do
    local tr, val, te = {}, {}, {}
    for _, class in ipairs{ { pos, 17, 12 }, { neg, 16, 10 } } do
      local idx = { table.unpack(class[1]) }
      for k = #idx, 2, -1 do
        local j = math.random(k)
        idx[k], idx[j] = idx[j], idx[k]
      end
      for k, i in ipairs(idx) do
        local dest = k <= class[2] and te or (k <= class[2] + class[3] and val or tr)
        dest[#dest + 1] = i
      end
    end
    local Xtr, Xval, Xte = X:rows_at(tr), X:rows_at(val), X:rows_at(te)
    local ytr, yval = y:rows_at(tr), y:rows_at(val)
    local ctr, cval, cte = participants:take(tr), participants:take(val), participants:take(te)
    for _, reduce in ipairs{ { "pca", nl.ml.pca }, { "robpca", nl.ml.robpca } } do
      local r = reduce[1]
      local steps = { { "scale", nl.ml.scale{} }, { "prune", nl.ml.prune{} },
                      { "regress_out", nl.ml.regress_out(covariates) }, { r, reduce[2]{ k = 13 } },
                      { "scale2", nl.ml.scale{} } }
      local Y, Yval, Yte = Xtr, Xval, Xte
      for _, st in ipairs(steps) do
        local opts = { covariates = ctr }
        local f = clock(function() st[2]:fit(Y, opts) end)
        local a = clock(function()
          st[2]:transform(Y, opts)
          st[2]:transform(Yval, { covariates = cval })
          st[2]:transform(Yte, { covariates = cte })
        end)
        add(string.format("prof_%s_fit_%s", r, st[1]), f)
        add(string.format("prof_%s_preprocessing", r), f + a)
        st[2]:fit(Y, opts)
        Y, Yval, Yte = st[2]:transform(Y, opts), st[2]:transform(Yval, { covariates = cval }),
                       st[2]:transform(Yte, { covariates = cte })
      end
      local fs = nl.ml.forward_select{ step = 0.10, stop = 0.80 }
      for _, C in ipairs(C_grid) do
        local svc = nl.ml.svc{ C = C }
        local d = clock(function() svc:fit(Y, ytr):decision(Yval) end)
        add(string.format("prof_%s_svc_C%g", r, C), d)
        add(string.format("prof_%s_svc_iter_C%g", r, C), svc.iterations_)
        add(string.format("prof_%s_svc_grid", r), d)
        local f = clock(function() fs:select(Y, ytr, Yval, yval, svc) end)
        add(string.format("prof_%s_wrapper_C%g", r, C), f)
        add(string.format("prof_%s_wrapper_grid", r), f)
        add(string.format("prof_%s_wrapper_selected", r), #fs:select(Y, ytr, Yval, yval, svc) / #C_grid)
      end
      local U, yU = Y:vcat(Yval), ytr:vcat(yval)
      local base = nl.ml.svc{ C = 1 }
      add(string.format("prof_%s_base_model", r), clock(function() base:fit(U, yU):decision(Yte) end))
      local sel = fs:select(Y, ytr, Yval, yval, base)
      local Us, Ts = U:cols_at(sel), Yte:cols_at(sel)
      add(string.format("prof_%s_base_model_selected", r), clock(function() base:fit(Us, yU):decision(Ts) end))
    end
  end
  out("prof_partitions", PARTS, "%d")
  for _, key in ipairs(order) do out(key, acc[key], "%.7f") end
end
