-- scripts/lib/fmri_study.lua: what the resting-state study scripts share (the connectome
-- of seed 002, the network scores of seed 003 and the amygdala seed maps of seed 004):
-- key=value arguments, the simulated default cohort, reading participants.tsv /
-- sessions.tsv, and loading and cleaning one run as METHODS.md section 4 describes.
--
-- Loaded with dofile by scripts/<study>/common.lua; returns a table of functions.
local nl = require "neurolua"
-- This folder: from the chunk name, or under --sandbox (no debug.getinfo) from the
-- running script, scripts/<study>/<script>.lua.
local here = debug.getinfo and (debug.getinfo(1, "S").source:match("^@(.*/)") or "./")
             or ((arg and arg[0] or ""):match("^(.*/)") or "./") .. "../lib/"
local Args = dofile(here .. "args.lua")

local F = {}

-- ---------------------------------------------------------------- small helpers

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end
F.exists = exists

local function read_all(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end
F.read_all = read_all

function F.split(s)
  local out = {}
  for x in tostring(s):gmatch("[^,]+") do out[#out + 1] = x end
  return out
end

function F.has_column(t, name)
  for _, c in ipairs(t:columns()) do
    if c == name then return true end
  end
  return false
end

-- A present, non-missing cell.
function F.present(v) return v ~= nil and v ~= nl.table.NA and v == v end

function F.pfmt(p)
  if p == nil or p ~= p then return "NA" end
  if p < 0.001 then return ("%.1e"):format(p) end
  return ("%.3f"):format(p)
end

-- A Table from a list of column names and a map name -> Lua list with n rows.
function F.table(names, cols, n)
  local list = {}
  for _, c in ipairs(names) do
    cols[c].n = n
    list[#list + 1] = { c, cols[c] }
  end
  return nl.table.new(list)
end

-- Covariates as a numeric Table for the rows `rows` of p: number columns as they are, a
-- two-level string column (sex) as the indicator of its second level (sorted, over the
-- whole column);
-- `extra` maps further names to lists of values (one per row), e.g. head motion.
local function covariate_column(p, rows, c, file)
  if not F.has_column(p, c) then error(("%s: missing covariate column '%s'"):format(file, c), 0) end
  local col, vals, levels = p[c], {}, {}
  for k, i in ipairs(rows) do
    local v = col[i]
    if not F.present(v) then
      error(("%s: row %d (%s): covariate '%s' is missing"):format(file, i, p.participant_id[i], c), 0)
    end
    vals[k] = v
  end
  if col:type() ~= "number" then
    for i = 1, #p do
      if F.present(col[i]) then levels[tostring(col[i])] = true end
    end
    local l = {}
    for x in pairs(levels) do l[#l + 1] = x end
    table.sort(l)
    if #l > 2 then
      error(("%s: covariate '%s' has more than two levels (%s)"):format(file, c, table.concat(l, ", ")), 0)
    end
    for k = 1, #vals do vals[k] = tostring(vals[k]) == l[2] and 1 or 0 end
  end
  return vals
end

function F.covariates(p, rows, names, file, extra)
  local list = {}
  for _, c in ipairs(names) do
    local vals
    if extra and extra[c] then
      vals = {}
      for k = 1, #rows do vals[k] = extra[c][k] end
    else
      vals = covariate_column(p, rows, c, file)
    end
    vals.n = #rows
    list[#list + 1] = { c, vals }
  end
  return #list > 0 and nl.table.new(list) or nil
end

-- ---------------------------------------------------------------- arguments

-- The cleaning options every study shares (METHODS.md section 4), with their kinds.
F.cleaning_options = {
  atlas = "string", wm = "string", csf = "string", brain = "string", discard = "number", detrend = "number",
  low = "number", high = "number", fd = "number", gsr = "boolean", scrub = "boolean", threads = "number",
  out = "string", sim_seed = "number", resolution = "number", frames = "number", effect = "number",
}

-- Positional [participants.tsv sessions.tsv] and key=value options: the cleaning
-- options and the study's `options` (each mapped to "string", "number" or "boolean").
-- Unknown keys and bad values raise.
function F.args(argv, options)
  local allowed = {}
  for k, v in pairs(F.cleaning_options) do allowed[k] = v end
  for k, v in pairs(options) do allowed[k] = v end
  local o = Args.parse(argv, { options = allowed, positional = { "participants", "sessions" },
                               usage = "[participants.tsv sessions.tsv] [key=value ...]" })
  if o.participants and not o.sessions then
    error("a participants table needs its sessions table: [participants.tsv sessions.tsv] [key=value ...]", 0)
  end
  return o
end

-- METHODS.md section 4's cleaning as defaults: discard 10 frames, linear and quadratic
-- detrending, Friston 24, white-matter, CSF and global signals, 0.01-0.1 Hz,
-- scrubbing at FD > 0.5 mm with one frame before and after; runs beyond 2 mm / 2
-- degrees are excluded.
function F.cleaning_defaults(o)
  o.atlas = o.atlas or "aal"
  o.sim_seed = o.sim_seed or 1
  o.discard = o.discard or 10
  o.detrend = o.detrend or 2
  o.low = o.low or 0.01
  o.high = o.high or 0.1
  o.fd = o.fd or 0.5
  if o.gsr == nil then o.gsr = true end
  if o.scrub == nil then o.scrub = true end
  if o.threads then nl.threads(o.threads) end
  for _, k in ipairs{ "discard", "detrend", "frames", "sim_seed" } do
    if o[k] and not math.tointeger(o[k]) then error(("option '%s' must be an integer, got %s"):format(k, o[k]), 0) end
  end
  return o
end

-- The permutation options of the studies that permute: o.permutations (default 5000)
-- and its random seed o.seed (default 1).
function F.permutation_defaults(o)
  o.permutations = o.permutations or 5000
  o.seed = o.seed or 1
  if not math.tointeger(o.permutations) or o.permutations < 0 then
    error("option 'permutations' must be a non-negative integer", 0)
  end
  return o
end

-- ---------------------------------------------------------------- the simulated cohort

-- Simulates a cohort with nl.sim.fmri into <o.out>/sim, once: `sim` holds the options
-- of the study's design (subjects, sessions, ...; {} for nl.sim.fmri's own, seed 003's),
-- `design` names it in the key (nil for nl.sim.fmri's own); seed, resolution, frames and
-- effect come from o. A key file records what was simulated, so a changed option
-- simulates again. Returns the directory.
function F.simulate(o, sim, design)
  local dir = o.out .. "/sim"
  local key = ("nl.sim.fmri%s seed=%s resolution=%s frames=%s effect=%s"):format(design and " " .. design or "",
    o.sim_seed, o.resolution, o.frames or 240, o.effect or 1)
  if read_all(dir .. "/sim.source") ~= key or not exists(dir .. "/participants.tsv") then
    io.stderr:write(("simulating the default cohort into %s ...\n"):format(dir))
    nl.mkdir(o.out)
    local opts = { seed = math.tointeger(o.sim_seed), dir = dir, atlas = o.atlas, resolution = o.resolution,
                   frames = o.frames and math.tointeger(o.frames) or nil, effect = o.effect, overwrite = true }
    for k, v in pairs(sim) do opts[k] = v end
    nl.sim.fmri(opts)
    local f = assert(io.open(dir .. "/sim.source", "wb"))
    f:write(key)
    f:close()
  end
  o.participants = dir .. "/participants.tsv"
  o.sessions = dir .. "/sessions.tsv"
  o.wm = o.wm or dir .. "/masks/wm.nii.gz"
  o.csf = o.csf or dir .. "/masks/csf.nii.gz"
  o.brain = o.brain or dir .. "/masks/brain.nii.gz"
  o.truth = dir .. "/ground_truth.tsv"
  return dir
end

-- ---------------------------------------------------------------- tables

-- Paths relative to the folder of `table_path` become relative to the working folder.
function F.resolve(table_path, p)
  if p:sub(1, 1) == "/" then return p end
  local dir = table_path:match("^(.*)/[^/]*$")
  if not dir then return p end
  return (dir == "" and "/" or dir .. "/") .. p
end

-- Reads participants.tsv (participant_id, group = patient / control, and `columns`)
-- with nl.study.participants: errors name the file, its line and the participant, with
-- a did-you-mean for columns and groups. Returns the Table and the map participant_id
-- -> row.
function F.read_participants(o, columns)
  local p = nl.study.participants(o.participants, { required = { "participant_id", "group", table.unpack(columns) },
                                                    quiet = true })
  local known = {}
  for i = 1, #p do
    local g = p.group[i]
    if g ~= "patient" and g ~= "control" then
      local near = type(g) == "string" and (g:lower() == "patient" or g:lower() == "control") and g:lower() or nil
      error(("%s: group is '%s'; expected patient or control%s"):format(nl.study.where(p.participant_id[i]),
        tostring(g), near and ("; did you mean '" .. near .. "'?") or ""), 0)
    end
    known[p.participant_id[i]] = i
  end
  return p, known
end

-- Reads sessions.tsv (participant_id, session, func_path, motion_path, optionally run);
-- a session of a participant not in `known` raises, and so does an image or motion file
-- of a session in `wanted` that cannot be opened (all listed, before any run is
-- cleaned). Errors name the file and its line. Returns the Table and the set of its
-- sessions not in `wanted` (a set).
function F.read_sessions(o, known, wanted)
  local line = "\1line"
  local s = nl.table.read(o.sessions, { types = { participant_id = "string", session = "string",
                                                  func_path = "string", motion_path = "string" }, line_column = line })
  local lines = s:column(line)
  for _, c in ipairs{ "participant_id", "session", "func_path", "motion_path" } do
    if not F.has_column(s, c) then
      local names = {}
      for _, n in ipairs(s:columns()) do if n ~= line then names[#names + 1] = n end end
      local near = require("neurolua.util").closest(c, names)
      error(("%s: missing column '%s' (the file has %s)%s"):format(o.sessions, c, table.concat(names, ", "),
        near and ("; did you mean '" .. near .. "'?") or ""), 0)
    end
  end
  local ignored, absent = {}, {}
  for i = 1, #s do
    local at = ("%s:%d"):format(o.sessions, math.tointeger(lines[i]))
    if not known[s.participant_id[i]] then
      error(("%s: participant '%s' is not in %s"):format(at, tostring(s.participant_id[i]), o.participants), 0)
    end
    if not wanted[s.session[i]] then
      ignored[s.session[i]] = true
    else
      for _, c in ipairs{ "func_path", "motion_path" } do
        local v = s[c][i]
        if v == nil then
          absent[#absent + 1] = ("%s (%s): %s is missing"):format(at, s.participant_id[i], c)
        else
          local path = F.resolve(o.sessions, v)
          local f, why = io.open(path, "rb")
          if f then f:close() else absent[#absent + 1] = ("%s (%s): %s"):format(at, s.participant_id[i], why) end
        end
      end
    end
  end
  if #absent > 0 then
    local shown = {}
    for k = 1, math.min(#absent, 8) do shown[k] = "\n  " .. absent[k] end
    error(("%s: %d file%s of the sessions to analyse cannot be opened (paths are read relative to the table's "
      .. "folder):%s%s"):format(o.sessions, #absent, #absent > 1 and "s" or "", table.concat(shown),
      #absent > 8 and ("\n  ... and %d more"):format(#absent - 8) or ""), 0)
  end
  s[line] = nil
  return s, ignored
end

-- Both tables (F.read_participants, F.read_sessions); the sessions not in `wanted` are
-- dropped with a notice.
function F.read_tables(o, columns, wanted)
  local p, known = F.read_participants(o, columns)
  local s, ignored = F.read_sessions(o, known, wanted)
  local keep = {}
  for i = 1, #s do
    if wanted[s.session[i]] then keep[#keep + 1] = i end
  end
  for x in pairs(ignored) do
    io.stderr:write(("notice: session '%s' is not analysed; its runs are skipped\n"):format(x))
  end
  return p, s:take(keep), known
end

-- The tissue masks of the nuisance signals (white matter, CSF, and the whole brain for
-- the global signal when o.gsr), as {name, path}; each is required.
function F.mask_list(o)
  local masks = {}
  for _, k in ipairs{ "wm", "csf", "brain" } do
    if k ~= "brain" or o.gsr then
      if not o[k] then
        error(("option '%s' (a %s mask on the functional images' grid or in the same space) is required for "
          .. "your own data"):format(k, k == "wm" and "white-matter" or k == "csf" and "CSF" or "brain"), 0)
      end
      masks[#masks + 1] = { name = k, path = o[k] }
    end
  end
  return masks
end

-- The number of runs excluded for head motion in a runs Table (column `excluded`).
function F.excluded(runs)
  local n = 0
  for i = 1, #runs do
    if runs.excluded[i] then n = n + 1 end
  end
  return n
end

-- ---------------------------------------------------------------- one run

-- Loads run i of the sessions table: returns the 4-D Volume, and a function that
-- cleans a frames x signals Matrix of it with the study's options (the same design and
-- kept frames for every call) and the cleaning info. `cache` keeps the tissue masks
-- resampled to the grid of the last image.
function F.load_run(o, sessions, i, masks, cache)
  local func = F.resolve(o.sessions, sessions.func_path[i])
  local v = nl.volume.load(func)
  local A = v:affine()
  local grid = table.concat(v:dims(), "x", 1, 3) .. " " .. table.concat(A[1], ",") .. table.concat(A[2], ",") ..
               table.concat(A[3], ",")
  if grid ~= cache.grid then
    cache.masks = {}
    for _, m in ipairs(masks) do cache.masks[#cache.masks + 1] = nl.volume.load(m.path):resample_to(v, "nearest") end
    cache.grid = grid
  end
  local tr = v:tr()
  if not (tr and tr > 0) then error(("%s: the image header gives no repetition time"):format(func), 0) end
  local opts = { discard = math.tointeger(o.discard), detrend = math.tointeger(o.detrend),
                 motion = nl.fc.read_motion(F.resolve(o.sessions, sessions.motion_path[i])),
                 confounds = nl.fc.mask_means(v, cache.masks), tr = tr, bandpass = { o.low, o.high },
                 scrub = o.scrub, fd_threshold = o.fd }
  return v, function(Y) return nl.fc.clean(Y, opts) end, func
end

return F
