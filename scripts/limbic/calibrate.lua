-- scripts/limbic/calibrate.lua: the calibration record of nl.sim.fmri against
-- network_fc.lua.
--
--   neurolua scripts/limbic/calibrate.lua [first_seed] [last_seed] [resolution] [workdir]
--
-- For each simulator seed: simulate the default cohort (seed 003's design, AAL, the
-- given resolution, default 3 mm) into workdir/seed<k>, run the analysis of
-- network_fc.lua on it (cleaning, network scores, mixed models, t-tests), print the t
-- values of the planted effects and whether every required effect was recovered, then
-- delete the images. Ends with the mean t and the recovery rate of each effect.
local dir = (arg and arg[0] or ""):match("^(.*/)") or "./"
local L = dofile(dir .. "common.lua")

local first = math.tointeger(tonumber(arg and arg[1]) or 1)
local last = math.tointeger(tonumber(arg and arg[2]) or first + 4)
local resolution = tonumber(arg and arg[3]) or 3
local workdir = (arg and arg[4] or os.getenv("TMPDIR") or "/tmp") .. "/nl_limbic_calibration"
if not first or not last or last < first then
  io.stderr:write("usage: neurolua scripts/limbic/calibrate.lua [first_seed] [last_seed] [resolution] [workdir]\n")
  os.exit(2)
end

-- The columns: the t value of each check (see L.check_truth), short names.
local short = {
  ["DMN: responders' change (time)"] = "dmn.t", ["DMN: non-resp. minus resp. change"] = "dmn.i",
  ["DMN: patients pre - controls"] = "dmn.pc", ["sgACC-DMN: responders' change (time)"] = "sg.t",
  ["sgACC-DMN: non-resp. minus resp. change"] = "sg.i", ["sgACC-DMN: patients pre - controls"] = "sg.pc",
  ["limbic: responders' change (time)"] = "lim.t", ["limbic: non-resp. minus resp. change"] = "lim.i",
  ["limbic: patients pre - controls"] = "lim.pc", ["visual: responders' change (time)"] = "vis.t",
  ["visual: non-resp. minus resp. change"] = "vis.i", ["visual: patients pre - controls"] = "vis.pc",
  ["somatomotor: patients pre - controls"] = "sm.pc", ["amygdala_L-temporal_R: resp. - non-resp. (pre)"] = "amy",
}
local order = { "sg.t", "sg.i", "sg.pc", "lim.t", "lim.i", "lim.pc", "dmn.t", "dmn.i", "dmn.pc", "vis.t", "vis.i",
                "vis.pc", "sm.pc", "amy" }

local head = ("%-5s"):format("seed")
for _, k in ipairs(order) do head = head .. ("%7s"):format(k) end
print(head .. "  all required")
local sum, found, planted, n, all = {}, {}, {}, 0, 0
for seed = first, last do
  local o = L.defaults{ out = ("%s/seed%d"):format(workdir, seed), sim_seed = seed, resolution = resolution }
  os.execute("rm -rf '" .. o.out .. "'")
  local r = L.analyse(o)
  local _, missed, checks = L.check_truth(r, o.truth)
  local line = ("%-5d"):format(seed)
  local byname = {}
  for _, c in ipairs(checks) do byname[short[c.what]] = c end
  for _, k in ipairs(order) do
    local c = byname[k]
    local t = c and c.t or 0 / 0
    line = line .. ("%7.2f"):format(t)
    sum[k] = (sum[k] or 0) + t
    if c and c.planted then
      planted[k] = true
      found[k] = (found[k] or 0) + (c.found and 1 or 0)
    end
  end
  n = n + 1
  if missed == 0 then all = all + 1 end
  print(line .. "  " .. (missed == 0 and "yes" or ("no (" .. missed .. " missed)")))
  os.execute("rm -rf '" .. o.out .. "/sim/func'")
end
local mean = ("%-5s"):format("mean")
local rate = ("%-5s"):format("found")
for _, k in ipairs(order) do
  mean = mean .. ("%7.2f"):format(sum[k] / n)
  rate = rate .. (planted[k] and ("%6d%%"):format(math.floor(100 * found[k] / n + 0.5)) or ("%7s"):format("-"))
end
print(mean)
print(rate .. ("  %d of %d seeds"):format(all, n))
