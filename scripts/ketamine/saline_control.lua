-- scripts/ketamine/saline_control.lua: the negative control. The discovery model
-- (all 225 base models with their own preprocessing) is applied to the saline-treated
-- cohort of the same trial; its performance should be at chance.
--
--   neurolua scripts/ketamine/saline_control.lua [participants.tsv [atlas]] [key=value ...]
--
-- Uses <out>/discovery.model when discovery.lua trained it from the same table and
-- options, else trains it first (rows with cohort = "discovery"). The control cohort
-- is the rows with cohort = "saline". Options as for discovery.lua. Printed with both
-- methods (NeuroMiner's, and leak-free: discovery.lua).
local dir = (arg and arg[0] or ""):match("^(.*/)") or "./"
local K = dofile(dir .. "common.lua")

local o = K.args(arg)
K.load(o, { "saline" })  -- checked before the discovery model is (re)trained
local rows = K.table2_rows(o, K.methods.neurominer, { saline = true })
local rows_strict = K.table2_rows(o, K.methods.strict, { saline = true })
print(K.both_tables(o, rows, rows_strict))
