-- Tests of nl.sim.ketamine (files, reload, options, directory policy) and nl.study
-- (response, participants, demographics).
local T = require "testing"
local nl = require "neurolua"

local data = os.getenv("NL_TEST_DATA") .. "/atlas/"

-- A fresh directory name under /tmp (not created), removed by T.done().
local function tmpdir() return T.tmpname("_sim") end

local function first_line(path)
  local f = assert(io.open(path, "rb"))
  local l = f:read("l")
  f:close()
  return l
end

local header = "participant_id\tcohort\tarm\tage\tsex\tsite\ttiv\tmadrs_pre\tmadrs_post\tgm_path"

local aal = T.atlas_installed("aal") and nl.atlas.load("aal") or nil

T.test("nl.sim.ketamine writes participants, ground truth and maps that sum back", function()
  if not aal then print("skip: AAL not installed") return end
  local dir = tmpdir()
  local p, truth, vols = nl.sim.ketamine{ seed = 2, atlas = "aal", resolution = 3, dir = dir,
                                          cohorts = { "external_md" } }
  T.eq(#p, 22)
  T.eq(table.concat(p:columns(), ","), "participant_id,cohort,arm,age,sex,site,tiv,madrs_pre,madrs_post,gm_path")
  T.eq(p.participant_id[1], "sub-149")
  T.eq(p.site[1], "MD")
  T.eq(p.gm_path[1], dir .. "/gm/sub-149_gm.nii.gz")
  T.eq(first_line(dir .. "/participants.tsv"), header)
  T.eq(first_line(dir .. "/ground_truth.tsv"), "index\tname\tsign\teffect_size\tpercent")
  T.truthy(T.exists(dir .. "/gm/sub-170_gm.nii.gz"))
  T.truthy(not T.exists(dir .. "/gm/sub-001_gm.nii.gz"), "only the chosen cohort's maps")
  T.eq(#truth, 13)
  T.eq(truth.name[1], "Frontal_Sup_L")
  T.eq(truth.sign[1], 1)
  T.eq(truth.name[13], "Vermis_7")
  T.eq(truth.sign[13], -1)
  T.eq(#vols, 22)
  T.eq(vols:ncols(), 116)

  -- participants.tsv holds paths relative to dir; nl.study.participants resolves them.
  local raw = nl.table.read(dir .. "/participants.tsv")
  T.eq(raw.gm_path[1], "gm/sub-149_gm.nii.gz")
  local s = nl.study.participants(dir .. "/participants.tsv")
  T.eq(s.gm_path[22], dir .. "/gm/sub-170_gm.nii.gz")
  T.eq(s.age[3], p.age[3])
  T.eq(s.madrs_post[3], p.madrs_post[3])
  local X = aal:summarize(nl.volume.load_all(s.gm_path), "volume_ml")
  for _, name in ipairs{ "Frontal_Sup_L", "Vermis_1_2", "Hippocampus_L", "Precentral_R" } do
    for i = 1, 22 do T.near(X[name][i], vols[name][i], 1e-6, name) end
  end
  local v = nl.volume.load(s.gm_path[1])
  T.eq(table.concat(v:dims(), "x"), "61x73x61")
  T.eq(v:datatype(), "float32")

  -- Response status follows the MADRS columns, 5 responders as in Table 1.
  local r = nl.study.response(s.madrs_pre, s.madrs_post)
  local n = 0
  for i = 1, #r do if r[i] then n = n + 1 end end
  T.eq(n, 5)
end)

T.test("a subject's files do not depend on the cohorts written or the threads; atlas as an object", function()
  if not aal then print("skip: AAL not installed") return end
  local threads = nl.threads()
  nl.threads(1)
  local a = nl.sim.ketamine{ seed = 5, dir = tmpdir(), cohorts = { "external_md" } }
  nl.threads(2)
  local b, _, vb = nl.sim.ketamine{ seed = 5, atlas = aal, dir = tmpdir(), cohorts = { "external_ny", "external_md" } }
  nl.threads(threads)
  T.truthy(T.read_file(a.gm_path[7]) == T.read_file(b.gm_path[7]), "bit-identical map files")
  T.eq(#b, 51)
  T.eq(b.participant_id[1], "sub-149", "subject order, not option order")
  for i = 1, 22 do
    T.eq(b.age[i], a.age[i]); T.eq(b.tiv[i], a.tiv[i]); T.eq(b.madrs_pre[i], a.madrs_pre[i])
  end
  local c, _, vc = nl.sim.ketamine{ seed = 6, atlas = aal, dir = tmpdir(), cohorts = { "external_md", "external_ny" } }
  T.truthy(vc.Frontal_Sup_L[1] ~= vb.Frontal_Sup_L[1], "another seed, other volumes")
  T.eq(#c, 51)
end)

T.test("directory policy: refuse non-empty, overwrite only a simulator output", function()
  if not aal then print("skip: AAL not installed") return end
  local dir = tmpdir()
  nl.sim.ketamine{ dir = dir, atlas = aal, cohorts = { "external_md" } }
  T.raises(function() nl.sim.ketamine{ dir = dir, atlas = aal, cohorts = { "external_md" } } end,
           "directory is not empty; it holds a previous simulator output: pass overwrite = true")
  T.write_file(dir .. "/notes.txt", "mine")
  local p = nl.sim.ketamine{ dir = dir, atlas = aal, cohorts = { "external_md" }, overwrite = true, seed = 9 }
  T.eq(#p, 22)
  T.eq(T.read_file(dir .. "/notes.txt"), "mine", "unrelated files are kept")
  local other = tmpdir()
  os.execute("mkdir -p " .. other)
  T.write_file(other .. "/data.csv", "x\n1\n")
  T.raises(function() nl.sim.ketamine{ dir = other, atlas = aal, overwrite = true } end,
           "holds no previous simulator output")
  T.raises(function() nl.sim.ketamine{ dir = other, atlas = aal } end, "choose a new or empty directory")
  T.eq(T.read_file(other .. "/data.csv"), "x\n1\n")
  T.raises(function() nl.sim.ketamine{ dir = other .. "/data.csv", atlas = aal } end, "exists and is not a directory")
end)

T.test("nl.sim.ketamine options are checked", function()
  local tiny = nl.atlas.load(data .. "tiny.nii.gz")
  local d = tmpdir()
  T.raises(function() nl.sim.ketamine() end, "bad argument #1 to 'ketamine' (table expected, got no value)")
  T.raises(function() nl.sim.ketamine{ sed = 1, dir = d } end,
           "unknown option 'sed' for ketamine; expected one of: dir, seed, atlas")
  T.raises(function() nl.sim.ketamine{ seed = 1 } end, "option 'dir' (the output directory, a non-empty string) is required")
  T.raises(function() nl.sim.ketamine{ dir = "" } end, "option 'dir'")
  T.raises(function() nl.sim.ketamine{ dir = d, seed = 1.5 } end, "option 'seed' must be an integer, got 1.5")
  T.raises(function() nl.sim.ketamine{ dir = d, seed = -1 } end, "option 'seed' must be a non-negative integer, got -1")
  T.raises(function() nl.sim.ketamine{ dir = d, resolution = 5 } end, "option 'resolution' must be between 1")
  T.raises(function() nl.sim.ketamine{ dir = d, resolution = "3" } end, "option 'resolution' must be a number, got string")
  T.raises(function() nl.sim.ketamine{ dir = d, effect = -1 } end, "option 'effect' must be between 0")
  T.raises(function() nl.sim.ketamine{ dir = d, overwrite = 1 } end, "option 'overwrite' must be true or false")
  T.raises(function() nl.sim.ketamine{ dir = d, atlas = 3 } end,
           "option 'atlas' must be an atlas name, a path or a neurolua.Atlas, got number")
  T.raises(function() nl.sim.ketamine{ dir = d, atlas = "destrieux" } end, "unknown atlas 'destrieux'")
  T.raises(function() nl.sim.ketamine{ dir = d, cohorts = { "discovery", "md" } } end,
           "cohorts[2] is 'md'; expected discovery, saline, external_md or external_ny")
  T.raises(function() nl.sim.ketamine{ dir = d, cohorts = {} } end, "option 'cohorts' must be a non-empty list")
  T.raises(function() nl.sim.ketamine{ dir = d, cohorts = { "saline", "saline" } } end,
           "cohort 'saline' is listed twice")
  T.raises(function() nl.sim.ketamine{ dir = d, planted = { frontal = { "x" } } } end,
           "bad argument #1 to 'ketamine' (unknown option 'frontal' for option 'planted'; expected one of: responders, nonresponders)")
  T.raises(function() nl.sim.ketamine{ dir = d, planted = { responders = { 1 } } } end,
           "planted.responders[1] must be a region name")
  T.raises(function() nl.sim.ketamine{ dir = d, planted = {} } end, "option 'planted' names no region")
  -- An atlas without the built-in names, then with named regions.
  local err = T.raises(function() nl.sim.ketamine{ dir = d, atlas = tiny, resolution = 2 } end,
                       "atlas 'tiny' has no region of the built-in frontal (larger in responders) set")
  T.truthy(err:find("planted = {responders", 1, true), err)
  T.raises(function()
    nl.sim.ketamine{ dir = d, atlas = tiny, resolution = 2, planted = { responders = { "Alpha" } } }
  end, "responder region 'Alpha' is not a region of atlas 'tiny'")
  T.truthy(not T.exists(d .. "/participants.tsv"), "nothing written on error")
  local p, truth, vols = nl.sim.ketamine{ dir = d, atlas = tiny, resolution = 2, cohorts = { "saline" },
                                          planted = { responders = { "Alpha_L" }, nonresponders = { "Gamma" } } }
  T.eq(#p, 49)
  T.eq(#truth, 2)
  T.eq(truth.name[2], "Gamma"); T.eq(truth.sign[2], -1)
  T.eq(vols:ncols(), 3)
  local X = tiny:summarize(nl.volume.load_all(nl.study.participants(d .. "/participants.tsv").gm_path), "volume_ml")
  for i = 1, 49 do T.near(X.Gamma[i], vols.Gamma[i], 1e-6) end
end)

T.test("nl.study.response: lists and columns, the 50 % boundary, bad rows named", function()
  local r = nl.study.response({ 30, 30, 33, 33, 20 }, { 15, 16, 16, 17, 0 })
  T.eq(#r, 5)
  T.eq(r[1], true, "exactly -50 % responds")
  T.eq(r[2], false)
  T.eq(r[3], true)
  T.eq(r[4], false)
  T.eq(r[5], true)
  local t = nl.table.new{ { "pre", { 30, 20 } }, { "post", { 10, 12 } } }
  local c = nl.study.response(t.pre, t.post)
  T.eq(c[1], true); T.eq(c[2], false)
  t.response = c
  T.eq(t:types().response, "bool")
  T.raises(function() nl.study.response({ 30, 0 }, { 10, 0 }) end, "row 2: pre = 0; the relative change needs a finite pre > 0")
  T.raises(function() nl.study.response({ 30, -3 }, { 10, 1 }) end, "row 2: pre = -3")
  T.raises(function() nl.study.response({ 30, 0 / 0 }, { 10, 1 }) end, "row 2: pre = ")
  T.raises(function() nl.study.response({ 30, 20 }, { 10, -1 }) end, "row 2: post = -1; scores must be finite and >= 0")
  T.raises(function() nl.study.response({ 30, nl.table.NA }, { 10, 1 }) end, "row 2: pre is missing")
  T.raises(function() nl.study.response({ n = 2, 30 }, { 10, 1 }) end, "row 2: pre is missing")
  T.raises(function() nl.study.response({ 30, 20 }, { 10, "x" }) end, "row 2: post is not a number (got string)")
  T.raises(function() nl.study.response({ 30 }, { 10, 1 }) end, "pre has 1 values but post has 2")
  T.raises(function() nl.study.response(30, { 10 }) end, "bad argument #1 to 'response' (a neurolua.Column or a list")
  local m = nl.table.new{ { "pre", { 30, nl.table.NA, 20 } }, { "post", { 1, 2, 3 } } }
  T.raises(function() nl.study.response(m.pre, m.post) end, "row 2: pre is missing")
end)

T.test("nl.study.participants: required columns, paths, types", function()
  local dir = tmpdir()
  os.execute("mkdir -p " .. dir .. "/gm")
  local path = dir .. "/participants.tsv"
  -- The maps' files must exist (their contents are read later, by the analysis).
  T.write_file(dir .. "/gm/a.nii.gz", "x")
  T.write_file(dir .. "/b.nii.gz", "x")
  T.write_file(path, header .. "\n" ..
    "sub-1\tdiscovery\tketamine\t30\tF\t1\t1500\t30\t10\tgm/a.nii.gz\n" ..
    "sub-2\tdiscovery\tketamine\t40\tM\t2\t1600\t20\t15\t" .. dir .. "/b.nii.gz\n")
  local s = nl.study.participants(path)
  T.eq(s.gm_path[1], dir .. "/gm/a.nii.gz")
  T.eq(s.gm_path[2], dir .. "/b.nii.gz")
  T.eq(s:types().site, "string", "a numerically coded site stays categorical")
  T.eq(s.site[1], "1")
  T.eq(s:types().age, "number")
  T.write_file(path, "participant_id\tcohort\tage\tsex\tsite\tmadrs_pre\tmadrs_post\tgm_path\n")
  T.raises(function() nl.study.participants(path) end, "participants.tsv: missing column 'tiv'")
  T.write_file(path, header .. "\nsub-1\tdiscovery\tketamine\t30\tF\tA\t1500\t30\t10\tn/a\n")
  T.raises(function() nl.study.participants(path) end, "line 2 (sub-1): gm_path")
  T.raises(function() nl.study.participants(dir .. "/none.tsv") end, "none.tsv")
  T.raises(function() nl.study.participants(3) end, "bad argument #1 to 'participants' (a file path expected, got number)")
end)

T.test("nl.study.demographics: Table-1 rows per group", function()
  local t = nl.table.new{
    { "cohort", { "b", "a", "b", "b", "a", "a" } },
    { "response", { false, true, true, false, false, true } },
    { "age", { 20, 30, 40, 50, nl.table.NA, 34 } },
    { "sex", { "F", "M", "f", "M", "female", "F" } },
    { "madrs_pre", { 30, 32, 34, 36, 28, 30 } },
    { "madrs_post", { 20, 10, 12, 30, 20, 14 } },
  }
  local d = nl.study.demographics(t, { by = { "cohort", "response" }, numeric = true })
  T.eq(#d, 4)
  -- Groups: cohort by first appearance (b, a), responders (true) first.
  T.eq(d.cohort[1], "b"); T.eq(d.response[1], true)
  T.eq(d.cohort[2], "b"); T.eq(d.response[2], false)
  T.eq(d.cohort[3], "a"); T.eq(d.response[3], true)
  T.eq(d.cohort[4], "a"); T.eq(d.response[4], false)
  T.eq(d.n[2], 2)
  T.eq(d.female[2], 1)
  T.eq(d.female_pct[2], 50)
  T.near(d.age_mean[2], 35, 1e-12)
  T.near(d.age_sd[2], math.sqrt(450), 1e-12)
  T.near(d.madrs_post_mean[3], 12, 1e-12)
  T.near(d.madrs_post_sd[3], math.sqrt(8), 1e-12)
  T.near(d.madrs_change_mean[3], -19, 1e-12)
  T.eq(d.n[4], 1)
  T.eq(d.age_mean[4] ~= d.age_mean[4], true, "no age: NaN mean")
  T.eq(d.age_sd[1] ~= d.age_sd[1], true, "one value: NaN SD")
  local text = nl.study.demographics(t, { by = "cohort" })
  T.eq(table.concat(text:columns(), ","), "cohort,n,female,age,madrs_pre,madrs_post")
  T.eq(text.female[1], "2 (66.7%)")
  T.eq(text.age[1], "36.67 (15.28)")
  T.eq(text.madrs_pre[2], "30.00 (2.00)")
  local all = nl.study.demographics(t)
  T.eq(#all, 1); T.eq(all.n[1], 6)
  T.truthy(tostring(text):find("36.67 (15.28)", 1, true))
  T.raises(function() nl.study.demographics(t, { by = { "site" } }) end, "no column 'site' to group by")
  T.raises(function() nl.study.demographics(t, { grp = "x" }) end, "unknown option 'grp'; expected one of: by, numeric")
  T.raises(function() nl.study.demographics({}) end, "bad argument #1 to 'demographics' (a neurolua.Table expected, got table)")
  T.raises(function() nl.study.demographics(t:select{ "cohort", "age" }) end, "the table has no column 'sex'")
end)

T.test("nl.study.demographics: a text value in age names its row (issue 16: '.' crashed in study.lua)", function()
  local t = nl.table.parse("participant_id,age,sex,madrs_pre,madrs_post\nsub-01,30,F,30,10\nsub-02,.,M,32,20\n")
  T.raises(function() nl.study.demographics(t) end,
    "column 'age' is text, not numbers: row 2 (sub-02) has \".\"; mark a missing value as NA")
  local ok = nl.table.parse("participant_id,age,sex,madrs_pre,madrs_post\nsub-01,30,F,30,10\nsub-02,NA,M,32,20\n")
  T.eq(nl.study.demographics(ok, { numeric = true }).age_mean[1], 30)
end)

T.test("nl.study.demographics: sex coded 1/2 is an error until its coding is given (issue 16)", function()
  local t = nl.table.new{
    { "age", { 20, 30, 40, 50 } },
    { "sex", { 1, 2, 2, nl.table.NA } },
    { "madrs_pre", { 30, 32, 34, 36 } },
    { "madrs_post", { 20, 10, 12, 30 } },
  }
  -- before: "female 0 (NA%)" without a word
  T.raises(function() nl.study.demographics(t) end,
    "column 'sex' has values other than F/M/female/male: '1' (1), '2' (2); give their meaning, e.g. "
    .. "demographics(t, { sex = { female = 2, male = 1 } })")
  local d = nl.study.demographics(t, { sex = { female = 2, male = 1 }, numeric = true })
  T.eq(d.female[1], 2)
  T.near(d.female_pct[1], 100 * 2 / 3, 1e-12, "of the three with a known sex")
  T.eq(nl.study.demographics(t, { sex = { female = "1", male = "2" } }).female[1], "1 (33.3%)")
  T.raises(function() nl.study.demographics(t, { sex = { female = 2, male = 3 } }) end,
    "column 'sex' has values the option 'sex' does not code: '1' (1)")
  T.raises(function() nl.study.demographics(t, { sex = { female = 2 } }) end, "option 'sex' must be { female = <code>, male = <code> }")
  T.raises(function() nl.study.demographics(t, { sex = { female = 2, male = 2 } }) end, "female and male have the same code")
  local words = nl.table.new{ { "age", { 20 } }, { "sex", { "woman" } }, { "madrs_pre", { 1 } }, { "madrs_post", { 1 } } }
  T.raises(function() nl.study.demographics(words) end, 'e.g. demographics(t, { sex = { female = "woman", male = "woman" } })')
end)

-- ---------------------------------------------------------------- nl.sim.fmri

local fmri_header = "participant_id\tgroup\tage\tsex\tresponse\tremission\tmadrs_baseline\tmadrs_day1\t"
  .. "madrs_week2\tmadrs_week8\thamd_baseline\thamd_week2"

T.test("nl.sim.fmri writes images, motion files and tables that read back", function()
  if not aal then print("skip: AAL not installed") return end
  local dir = tmpdir()
  local p, s, truth = nl.sim.fmri{ seed = 3, dir = dir, resolution = 6, frames = 80,
                                   subjects = { patients = 4, controls = 2 }, sessions = { pre2 = 1 },
                                   motion_outliers = 1 }
  T.eq(first_line(dir .. "/participants.tsv"), fmri_header)
  T.eq(#p, 6)
  T.eq(p.group[1], "patient"); T.eq(p.group[6], "control")
  T.eq(p.response[6], nil, "controls have no response")
  local resp = 0
  for i = 1, 4 do if p.response[i] then resp = resp + 1 end end
  T.eq(resp, 2, "half of 4 patients respond by default")
  -- Pre1 for all 6, Pre2 for one patient, Post for the 4 patients.
  T.eq(#s, 11)
  T.eq(table.concat(s:columns(), ","), "participant_id,session,run,func_path,motion_path")
  T.eq(s.func_path[1], dir .. "/func/sub-001_ses-pre1_run-1_bold.nii.gz")
  local raw = nl.table.read(dir .. "/sessions.tsv")
  T.eq(raw.func_path[1], "func/sub-001_ses-pre1_run-1_bold.nii.gz")
  local v = nl.volume.load(s.func_path[1])
  T.eq(table.concat(v:dims(), "x"), "31x37x31x80")
  T.eq(v:tr(), 2)
  T.eq(v:datatype(), "int16")
  local excluded = 0
  for i = 1, #s do
    local m = nl.fc.read_motion(s.motion_path[i])
    T.eq(m:rows(), 80); T.eq(m:cols(), 6)
    local info = nl.fc.motion(m)
    if info.exclude then
      excluded = excluded + 1
      T.eq(s.session[i], "post")
    end
  end
  T.eq(excluded, 1)
  T.eq(table.concat(truth:columns(), ","), "effect,measure,condition,value,regions")
  T.eq(truth.effect[#truth], "motion_outlier")
  local nets = nl.table.read(dir .. "/networks.tsv")
  T.eq(#nets, 116)
  T.truthy(aal:timeseries(v):cols() == 116)
  for _, m in ipairs{ "brain", "wm", "csf" } do T.truthy(T.exists(dir .. "/masks/" .. m .. ".nii.gz")) end
  -- The same seed gives the same files; the directory policy protects them.
  local dir2 = tmpdir()
  nl.sim.fmri{ seed = 3, dir = dir2, resolution = 6, frames = 80, subjects = { patients = 4, controls = 2 },
               sessions = { pre2 = 1 }, motion_outliers = 1 }
  local function read(path) local f = assert(io.open(path, "rb")); local x = f:read("a"); f:close(); return x end
  T.eq(read(dir2 .. "/func/sub-002_ses-post_run-1_motion.txt"), read(dir .. "/func/sub-002_ses-post_run-1_motion.txt"))
  T.eq(read(dir2 .. "/func/sub-002_ses-post_run-1_bold.nii.gz"), read(dir .. "/func/sub-002_ses-post_run-1_bold.nii.gz"))
  T.raises(function() nl.sim.fmri{ dir = dir, resolution = 6, frames = 80, subjects = { patients = 2, controls = 0 } } end,
    "pass overwrite = true")
  nl.sim.fmri{ dir = dir, resolution = 6, frames = 80, subjects = { patients = 2, controls = 0 }, overwrite = true }
  T.eq(#nl.table.read(dir .. "/participants.tsv"), 2)
end)

T.test("nl.sim.fmri: the default cohort's layout (seed 003) without writing images", function()
  if not aal then print("skip: AAL not installed") return end
  local t = nl.sim.fmri_networks(aal)
  T.eq(#t, 116)
  T.eq(table.concat(t:columns(), ","), "index,name,network")
  local net = {}
  for i = 1, #t do net[t.name[i]] = t.network[i] end
  T.eq(net.Frontal_Med_Orb_R, "sgacc"); T.eq(net.Hippocampus_L, "limbic"); T.eq(net.Angular_R, "dmn")
  T.eq(net.Lingual_L, "visual"); T.eq(net.Postcentral_R, "somatomotor"); T.eq(net.Olfactory_L, "none")
  T.eq(#nl.sim.fmri_networks("aal"), 116)
  T.raises(function() nl.sim.fmri_networks(5) end, "bad argument #1 to 'fmri_networks'")
end)

T.test("nl.sim.fmri refuses bad options, naming them", function()
  local d = tmpdir()
  T.raises(function() nl.sim.fmri{} end, "option 'dir'")
  T.raises(function() nl.sim.fmri{ dir = d, sede = 1 } end, "unknown option 'sede' for fmri")
  T.raises(function() nl.sim.fmri{ dir = d, resolution = 1 } end, "option 'resolution' must be between 2")
  T.raises(function() nl.sim.fmri{ dir = d, frames = 100.5 } end, "option 'frames' must be an integer")
  T.raises(function() nl.sim.fmri{ dir = d, frames = 30 } end, "option 'frames' must be between 60 and 2000, got 30")
  T.raises(function() nl.sim.fmri{ dir = d, subjects = { patients = 5 } } end, "option 'subjects' needs 'controls'")
  T.raises(function() nl.sim.fmri{ dir = d, subjects = { patients = 5, controls = 1, resp = 2 } } end,
    "unknown option 'resp' for option 'subjects'; expected one of: patients, controls, responders, dropouts")
  T.raises(function() nl.sim.fmri{ dir = d, subjects = { patients = 5, controls = 1, respnders = 2 } } end,
    "unknown option 'respnders' for option 'subjects'; expected one of: patients, controls, responders, dropouts; did you mean 'responders'?")
  T.raises(function() nl.sim.fmri{ dir = d, subjects = { patients = 5.5, controls = 1 } } end,
    "bad argument #1 to 'fmri' (option 'patients' must be an integer, got 5.5)")
  T.raises(function() nl.sim.fmri{ dir = d, subjects = { patients = 5, controls = 1, responders = 5 } } end,
    "option 'responders' must be between 1 and 4, got 5")
  T.raises(function() nl.sim.fmri{ dir = d, sessions = { post = 30 } } end, "option 'post' must be between 0 and 21")
  T.raises(function() nl.sim.fmri{ dir = d, sessions = 3 } end, "option 'sessions' must be a table")
  T.raises(function() nl.sim.fmri{ dir = d, motion_outliers = 99 } end, "option 'motion_outliers'")
  T.raises(function() nl.sim.fmri{ dir = d, compression = 10 } end, "option 'compression' must be between 1 and 9")
  T.raises(function() nl.sim.fmri{ dir = d, effect = 3 } end, "option 'effect' must be between")
  T.raises(function() nl.sim.fmri{ dir = d, overwrite = 1 } end, "option 'overwrite' must be true or false")
  T.raises(function() nl.sim.fmri{ dir = d, atlas = 5 } end, "option 'atlas' must be an atlas name")
  T.raises(function() nl.sim.fmri{ dir = d, seed = -1 } end, "option 'seed' must be a non-negative integer, got -1")
  T.truthy(not T.exists(d), "nothing written when an option is refused")
end)

T.done()
