-- scripts/ketamine/discovery.lua: the discovery model of the ketamine-response study
-- (METHODS.md section 1): regional GM volumes of the discovery cohort, the paper's
-- pipeline in repeated nested CV (CV2 3x5, CV1 3x5, 11 C values, ROBPCA k = 13,
-- wrapper), 1000 label permutations (NeuroMiner mode, scored against the original
-- labels), the top-25 regions. Run twice and printed both ways (common.lua, M.methods):
-- with NeuroMiner's methods, as the paper ran it, and leak-free (the preprocessing of
-- the retrained base models refitted on their own rows; docs/methods-notes.md).
--
--   neurolua scripts/ketamine/discovery.lua [participants.tsv [atlas]] [key=value ...]
--
-- Without a participants table it uses the built-in simulated cohort. The discovery
-- cohort is the rows with cohort = "discovery" (every row when the table has no
-- cohort column). The table needs participant_id, age, sex, site, tiv, madrs_pre,
-- madrs_post and gm_path (modulated GM maps; relative paths are read relative to the
-- table's folder). Options: out (default
-- out/ketamine), seed (1), permutations (1000), k (13), wrapper (true), threads, and for
-- your own table na (error or drop), na_values, sex (e.g. female:2,male:1), checks
-- (error, warn or off) and grid (an image on the grid every map must be on;
-- docs/your-data.md). The table and maps are checked first. target=change predicts the
-- percentage MADRS change instead of the response class, with model=ridge (default) or
-- model=svr (change.lua; writes discovery_change.model and
-- discovery_strict_change.model).
-- Writes <out>/discovery.model (NeuroMiner methods; reload with nl.cv.load),
-- discovery_strict.model, discovery_weights.tsv and discovery_top25_weights.nii.gz.
local nl = require "neurolua"
local dir = (arg and arg[0] or ""):match("^(.*/)") or "./"
local K = dofile(dir .. "common.lua")

local o = K.args(arg)
if o.target == "change" then
  dofile(dir .. "change.lua")(K, o)
  return
end
local rows, r = K.table2_rows(o, K.methods.neurominer, { fresh = true, discovery = true })
local rows_strict = K.table2_rows(o, K.methods.strict, { fresh = true, discovery = true })
print(string.format("Discovery: %d subjects, %d regions, %d base models", r.median_:rows(), #r.feature_names_,
  r.models_))
print(K.both_tables(o, rows, rows_strict))
print("\nTop 25 regions by mean back-projected weight, NeuroMiner methods (* = sign-consistent at FDR 5 %):")
print((K.top_regions(r, 25)))
print(string.format("\nSaved %s/discovery.model and %s/discovery_strict.model", o.out, o.out))
