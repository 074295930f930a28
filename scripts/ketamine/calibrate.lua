-- scripts/ketamine/calibrate.lua: the calibration record of nl.sim.ketamine, and the
-- seed-spread record the main job's report draws.
--
--   neurolua scripts/ketamine/calibrate.lua [first_seed [last_seed]] [record=path] [workdir=dir] [threads=n]
--
-- For each simulator seed (default 1-20): simulate the four cohorts (AAL, 3 mm) into
-- <workdir>/nl_ketamine_calibration/seed<k> (workdir: $TMPDIR or /tmp), read them back
-- (nl.study.participants, atlas:summarize "volume_ml"), then run the paper's analysis
-- (METHODS.md section 1) exactly as scripts/ketamine/replicate.lua does, without
-- permutations: the discovery model in nested CV (outer {3, 5}, inner {3, 5}, C grid
-- 2^-6..2^4, seed 1), and its 225 base models applied to the saline and the pooled
-- external (MD + NY) cohorts (CVResult:apply). Prints one line per seed, the mean and
-- the SD over seeds beside the paper's figures.
--
-- record=path writes the rows (sim_seed, discovery_bac, discovery_auc, saline_bac,
-- saline_auc, external_bac, external_auc; ratios with 6 decimals) as a TSV headed by
-- '#' comment lines saying how and from which commit it was made; the committed record
-- is scripts/ketamine/seed_spread.tsv (read it with common.lua's read_spread;
-- tests/lua/test_ketamine.lua re-runs two of its seeds).
local nl = require "neurolua"
local dir = (arg and arg[0] or ""):match("^(.*/)") or "./"
local K = dofile(dir .. "common.lua")
local Args = dofile(dir .. "../lib/args.lua")

local a = Args.parse(arg, { options = { record = "string", workdir = "string", threads = "number" },
                            names = { "record", "workdir", "threads" }, positional = { "first", "last" },
                            usage = "[first_seed [last_seed]] [key=value ...]" })
local first = math.tointeger(tonumber(a.first or "1"))
local last = math.tointeger(tonumber(a.last or (a.first and a.first or "20")))
if a.first and not a.last then last = first end
if not first or not last or first < 0 or last < first then
  error("first_seed and last_seed must be non-negative integers, first <= last", 0)
end
if a.threads then nl.threads(a.threads) end
local workdir = (a.workdir or os.getenv("TMPDIR") or "/tmp") .. "/nl_ketamine_calibration"

local cols = K.spread_columns
local rows = {}
print(("%-5s %9s %6s %12s %8s %11s %8s"):format("seed", "disc BAC", "AUC", "saline BAC", "AUC", "ext BAC", "AUC"))
local function line(label, r)
  return ("%-5s %8.1f%% %6.3f %11.1f%% %8.3f %10.1f%% %8.3f"):format(label, 100 * r.discovery_bac, r.discovery_auc,
    100 * r.saline_bac, r.saline_auc, 100 * r.external_bac, r.external_auc)
end
for seed = first, last do
  local o = K.args{ "out=" .. ("%s/seed%d"):format(workdir, seed), "permutations=0", "sim_seed=" .. seed }
  os.execute("rm -rf '" .. o.out .. "'")  -- a fresh simulation each time
  local r = K.spread_row(o)
  os.execute("rm -rf '" .. o.out .. "'")
  rows[#rows + 1] = r
  print(line(tostring(seed), r))
  io.stdout:flush()
end

local mean, sd = {}, {}
for j = 2, #cols do
  local c, s, ss = cols[j], 0, 0
  for _, r in ipairs(rows) do s = s + r[c] end
  mean[c] = s / #rows
  for _, r in ipairs(rows) do ss = ss + (r[c] - mean[c]) ^ 2 end
  sd[c] = #rows > 1 and math.sqrt(ss / (#rows - 1)) or 0
end
print(line("mean", mean))
print(line("SD", sd))
local P = K.paper
print(line("paper", { discovery_bac = P.discovery.BAC / 100, discovery_auc = P.discovery.AUC,
                      saline_bac = P.saline.BAC / 100, saline_auc = P.saline.AUC,
                      external_bac = P.external.BAC / 100, external_auc = P.external.AUC }))

if a.record then
  -- Provenance: the command and the commit of the checkout this script lies in.
  local function run(cmd)
    local ok, p = pcall(io.popen, cmd)
    if not ok or not p then return nil end
    local s = p:read("a")
    p:close()
    return s and s:gsub("%s+$", "") or nil
  end
  local git = "git -C '" .. dir .. "' "
  local commit = run(git .. "rev-parse --short=12 HEAD 2>/dev/null")
  if commit == "" then commit = nil end
  local dirty = commit and run(git .. "status --porcelain -- ../../engine ../../bindings 2>/dev/null") or ""
  local text = {
    string.format("# nl.sim.ketamine seed spread: the main job's Table 2 rows (scripts/ketamine/replicate.lua, "
      .. "without permutations) for simulator seeds %d-%d", first, last),
    string.format("# produced by: build/neurolua scripts/ketamine/calibrate.lua %d %d record=%s (from the repository root)",
      first, last, a.record),
    string.format("# neurolua %s, commit %s%s", nl.version, commit or "unknown",
      dirty ~= "" and " (with uncommitted engine changes)" or ""),
    "# AAL at 3 mm, effect 1, nested-CV seed 1; BAC and AUC are ratios (median scores, METHODS.md section 1)",
    string.format("# mean (SD) over these seeds: discovery %.3f (%.3f) / %.3f (%.3f), saline %.3f (%.3f) / %.3f (%.3f), "
      .. "external %.3f (%.3f) / %.3f (%.3f) (BAC / AUC)", mean.discovery_bac, sd.discovery_bac, mean.discovery_auc,
      sd.discovery_auc, mean.saline_bac, sd.saline_bac, mean.saline_auc, sd.saline_auc, mean.external_bac,
      sd.external_bac, mean.external_auc, sd.external_auc),
    string.format("# paper (Table 2): discovery %.3f / %.2f, saline %.3f / %.2f, external %.3f / %.2f (BAC / AUC)",
      P.discovery.BAC / 100, P.discovery.AUC, P.saline.BAC / 100, P.saline.AUC, P.external.BAC / 100, P.external.AUC),
    table.concat(cols, "\t"),
  }
  for _, r in ipairs(rows) do text[#text + 1] = K.spread_line(r) end
  local tmp = a.record .. ".tmp"
  local f = assert(io.open(tmp, "wb"))
  f:write(table.concat(text, "\n"), "\n")
  f:close()
  assert(os.rename(tmp, a.record))
  print("record written to " .. a.record)
end
