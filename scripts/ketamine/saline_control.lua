-- scripts/ketamine/saline_control.lua: the negative control. The discovery model
-- (all 225 base models with their own preprocessing) is applied to the saline-treated
-- cohort of the same trial; its performance should be at chance.
--
--   neurolua scripts/ketamine/saline_control.lua [participants.tsv [atlas]] [key=value ...]
--
-- Uses <out>/discovery.model when discovery.lua trained it from the same table and
-- options, else trains it first (rows with cohort = "discovery"). The control cohort
-- is the rows with cohort = "saline". Options as for discovery.lua.
local dir = (arg and arg[0] or ""):match("^(.*/)") or "./"
local K = dofile(dir .. "common.lua")

local o = K.args(arg)
K.load(o, { "saline" })  -- checked before the discovery model is (re)trained
local r = K.discovery(o, false)
local p = K.validate(o, r, { "saline" })
print(K.table2{ K.row("saline control", p, not o.participants and K.paper.saline or nil, o.permutations) })
