-- scripts/ketamine/external_validation.lua: the discovery model applied to the pooled
-- external ketamine cohorts (MD and NY, other sites and scanners; n = 51).
--
--   neurolua scripts/ketamine/external_validation.lua [participants.tsv [atlas]] [key=value ...]
--
-- Uses <out>/discovery.model when discovery.lua trained it from the same table and
-- options, else trains it first (rows with cohort = "discovery"). Every cohort whose
-- name starts with "external" is validated, pooled. Options as for discovery.lua.
-- Printed with both methods: NeuroMiner's (the new sites corrected as the reference
-- site, as zero dummy columns would) and leak-free (the new sites corrected by the
-- training-average site effect; docs/methods-notes.md).
local nl = require "neurolua"
local dir = (arg and arg[0] or ""):match("^(.*/)") or "./"
local K = dofile(dir .. "common.lua")

local o = K.args(arg)
local t = K.participants(o)
if not K.has_column(t, "cohort") then error(K.participants_path(o) .. " has no cohort column to find external_* cohorts in", 0) end
local cohorts, seen = {}, {}
for _, c in ipairs(t.cohort:unique()) do
  if type(c) == "string" and c:match("^external") and not seen[c] then
    seen[c] = true
    cohorts[#cohorts + 1] = c
  end
end
table.sort(cohorts)
if #cohorts == 0 then error(K.participants_path(o) .. " has no external_* cohort", 0) end
K.load(o, cohorts)  -- checked before the discovery model is (re)trained
local rows = K.table2_rows(o, K.methods.neurominer, { external = true }, cohorts)
local rows_strict = K.table2_rows(o, K.methods.strict, { external = true }, cohorts)
rows[1].name, rows_strict[1].name = "external (" .. table.concat(cohorts, " + ") .. ")", "external (pooled)"
print(K.both_tables(o, rows, rows_strict))
