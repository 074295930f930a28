-- scripts/ketamine/external_validation.lua: the discovery model applied to the pooled
-- external ketamine cohorts (MD and NY, other sites and scanners; n = 51).
--
--   neurolua scripts/ketamine/external_validation.lua [participants.tsv [atlas]] [key=value ...]
--
-- Uses <out>/discovery.model when discovery.lua trained it from the same table and
-- options, else trains it first (rows with cohort = "discovery"). Every cohort whose
-- name starts with "external" is validated, pooled. Options as for discovery.lua.
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
local r = K.discovery(o, false)
local p = K.validate(o, r, cohorts)
print(K.table2{ K.row("external (" .. table.concat(cohorts, " + ") .. ")", p,
  not o.participants and K.paper.external or nil, o.permutations) })
