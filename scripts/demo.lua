-- scripts/demo.lua: a short tour of neurolua, run by ./run.sh until the ketamine
-- replication is the main job.
--
-- Simulates a small cohort (the session's seeded random stream, so every run prints the
-- same numbers), stores it as a TSV table, reads it back, and fits an ordinary least
-- squares model of gray-matter volume on age and sex with Matrix algebra.
--   neurolua scripts/demo.lua [output_dir]
local nl = require "neurolua"

local out_dir = arg and arg[1] or os.getenv("TMPDIR") or "/tmp"
local n = 40
nl.seed(2026)

-- A cohort with a known model: gm = 620 - 1.8 * age + 25 * male + noise.
local noise = nl.matrix.randn(n, 1) * 15
local u = nl.matrix.rand(n, 2)
local ids, age, sex, gm = {}, {}, {}, {}
for i = 1, n do
  ids[i] = string.format("sub-%02d", i)
  age[i] = math.floor(20 + 45 * u:get(i, 1))
  sex[i] = u:get(i, 2) < 0.5 and "F" or "M"
  gm[i] = 620 - 1.8 * age[i] + (sex[i] == "M" and 25 or 0) + noise:get(i, 1)
end

local t = nl.table.new{ { "participant_id", ids }, { "age", age }, { "sex", sex }, { "gm_ml", gm } }
local path = out_dir .. "/neurolua_demo_participants.tsv"
t:write(path)
t = nl.table.read(path)
print(string.format("Wrote and re-read %s:", path))
print(t:head(5))

-- Design matrix [1, age, male] and the OLS fit beta = (X'X)^-1 X'y via solve.
t.male = t.sex:eq("M")
local X = nl.matrix.hcat(nl.matrix.ones(#t, 1), t:matrix{ "age", "male" })
local y = t:matrix{ "gm_ml" }
local beta = (X:t() * X):solve(X:t() * y)
local resid = y - X * beta
local sigma = math.sqrt((resid:t() * resid):get(1, 1) / (#t - X:cols()))
print("\nOLS fit of gm_ml ~ 1 + age + male (true: 620, -1.8, 25; noise SD 15)")
local names = { "intercept", "age", "male" }
for i = 1, 3 do print(string.format("  %-10s %9.3f", names[i], beta:get(i, 1))) end
print(string.format("  residual SD %.2f", sigma))

print("\nMean GM by sex:")
for _, s in ipairs{ "F", "M" } do
  local g = t:where{ sex = s }
  print(string.format("  %s  n = %2d  mean = %.1f ml", s, #g, g.gm_ml:mean()))
end
