-- Lesson 1: The REPL, tables and volumes
--
-- neurolua scripts/course/01_repl.lua runs the whole lesson; in the REPL,
-- neurolua --course and then lesson(1) runs it step by step. Page: docs/course/01_repl.md.
local nl = require "neurolua"
local course = nl.course

-- %% simulate: A simulated cohort
-- nl.sim.ketamine writes the four cohorts of the ketamine study as files: participants.tsv,
-- one gray-matter (GM) map per subject and the planted effect (ground_truth.tsv). The same
-- seed gives the same files on every machine.
local dir = course.data("ketamine")
nl.sim.ketamine{ seed = 1, dir = dir, overwrite = true }
-- Read the participants the way you would read a real study's file: nl.study.participants
-- checks the columns, the values and that every GM map exists.
local s = nl.study.participants(dir .. "/participants.tsv")
print(("%s participants, %d columns: %s"):format(course.fact("n_participants", #s), s:ncols(),
  table.concat(s:columns(), ", ")))

-- %% columns: A typed Table
-- Each column has one type, shown under its name: <str> text, <num> numbers, <bool>
-- true/false. A Table prints its first and last rows; format{width = 100} fixes the
-- layout whatever the size of the terminal. (gm_path, the map of each subject, is left out.)
local clinical = s:select{ "participant_id", "cohort", "age", "sex", "site", "tiv", "madrs_pre", "madrs_post" }
print(clinical:format{ width = 100 })
-- A column is a Column object, with its own methods.
print(s.age)
print(("age: mean %s years, SD %.1f, range %.1f to %.1f"):format(course.fact("age_mean", s.age:mean(), "%.1f"),
  s.age:std(), s.age:min(), s.age:max()))

-- %% response: Response, derived in code
-- participants.tsv has no response column. Response is a >= 50 % reduction of the MADRS
-- after 24 h, computed here from the two ratings, so the definition is written down and
-- can be checked. Assigning a list to s.response adds a bool column.
s.response = nl.study.response(s.madrs_pre, s.madrs_post)
print(s.response:value_counts():format{ width = 100 })

-- %% where: Selecting rows
-- where keeps the rows that match every condition; filter takes a bool Column built from
-- comparisons (ge, lt, eq, ...) combined with & (and), | (or) and ~ (not).
local d = s:where{ cohort = "discovery" }
print(("discovery: %s subjects, %s responders"):format(course.fact("n_discovery", #d),
  course.fact("n_responders", d.response:sum())))
local older = s:filter(s.age:ge(50) & s.response)
print(("responders aged 50 or more, all cohorts: %d"):format(#older))
print(older:select{ "participant_id", "cohort", "age", "madrs_pre", "madrs_post" }:format{ width = 100 })

-- %% describe: One line per column
-- describe summarizes every column: mean, SD and quartiles for numbers, the number of
-- distinct values and the most frequent one for text and bool columns.
local summary = d:select{ "age", "sex", "site", "tiv", "madrs_pre", "madrs_post", "response" }:describe()
print(summary:select{ "name", "type", "n", "missing", "mean", "std", "min", "max", "unique", "top", "freq" }
  :format{ width = 100 })

-- %% groups: Group summaries
-- group_by splits the rows by a key; agg computes one row per group,
-- each entry {output name, column, function}.
local by_response = d:group_by("response"):agg{
  { "n", "age", "count" }, { "age", "age", "mean" }, { "tiv", "tiv", "mean" },
  { "madrs_pre", "madrs_pre", "mean" }, { "madrs_post", "madrs_post", "mean" } }
print(by_response:format{ width = 100 })

-- %% demographics: Table 1
-- nl.study.demographics writes the Table 1 of a paper: n, women, and mean (SD) of age and
-- of the MADRS before and after, per group (responders first).
local t1 = nl.study.demographics(s, { by = { "cohort", "response" } })
print(t1:format{ width = 100 })

-- %% volume: A GM map is a Volume
-- nl.volume.load reads a NIfTI file. The simulated maps are on a 3 mm grid in MNI space.
local v = nl.volume.load(d.gm_path[1])
print(v)
print(("dimensions %s, voxel size %s mm, one voxel is %g mm^3"):format(table.concat(v:dims(), " x "),
  table.concat(v:spacing(), " x "), v:voxel_volume()))
print(("voxel (1, 1, 1) is at x, y, z = %g, %g, %g mm (MNI)"):format(table.unpack(v:origin())))

-- %% values: Voxel values
-- A modulated GM map holds, in each voxel, the fraction of it that is gray matter (after
-- the warp to the template). Outside the brain it is 0. v:gt(0) is a mask of the voxels
-- above 0, and stats summarizes the voxels of a mask.
local brain = v:gt(0)
local st = v:stats(brain)
print(("%d voxels above 0 of %d; GM value mean %.2f, min %.2f, max %.2f"):format(st.n, v:stats().n,
  st.mean, st.min, st.max))
-- The sum times the voxel volume is the subject's GM volume, in ml.
print(("total GM of %s: %s ml"):format(d.participant_id[1],
  course.fact("total_gm", st.sum * v:voxel_volume() / 1000, "%.0f")))
-- at reads the voxel nearest to a world coordinate in mm: here the cerebellar vermis.
print(("GM value at (0, -60, -20): %.3f"):format(v:at(0, -60, -20)))

-- %% figure: Looking at the map
-- Volume:plot draws three slices over the MNI template (nl.plot.brain).
v:plot(course.figure("01_gm_map.png"), { title = d.participant_id[1] .. ": simulated GM map (3 mm)",
  cmap = "viridis", coords = { 0, -60, -20 } })

-- %% help: Help at the prompt
-- help(x) prints the reference entry of a function, a method or an object; help "word"
-- lists the entries that mention the word. Its text goes to the terminal.
help(nl.study.response)
help "Volume:stats"

-- %% solution1: Exercise 1 - age and women per cohort
-- A bool column averages to a proportion.
s.female = s.sex:eq("F")
local per_cohort = s:group_by("cohort"):agg{ { "n", "age", "count" }, { "age", "age", "mean" },
  { "female", "female", "mean" } }
print(per_cohort:format{ width = 100 })

-- %% solution2: Exercise 2 - total GM and head size
-- Load every discovery map (in parallel) and sum each one.
local maps = nl.volume.load_all(d.gm_path)
local total = {}
for i, m in ipairs(maps) do total[i] = m:stats().sum * m:voxel_volume() / 1000 end
print(nl.stats.pearson(total, d.tiv))

-- %% solution3: Exercise 3 - a typo in a condition
print(("s:where{cohort = \"Discovery\"} has %d rows"):format(#s:where{ cohort = "Discovery" }))
local ok, err = pcall(nl.study.select, s, "cohort", "Discovery")
print(err)
