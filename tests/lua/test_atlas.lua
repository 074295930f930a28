-- Tests of nl.atlas: loading by name and path, label tables, regions, find,
-- summarize, timeseries, paint, regional-value tables (FreeSurfer, CAT12, ABIDE).
-- References: tests/data/atlas/{fixture,tiny}.txt (nibabel/NumPy, made by
-- tests/data/nifti/make_fixtures.py).
local T = require "testing"
local nl = require "neurolua"

local data = os.getenv("NL_TEST_DATA") .. "/atlas/"
local shared = os.getenv("NL_SHARED_DATA") or "../../../shared/data"

T.test("a toy atlas with every label format", function()
  local ref = T.fixture(data .. "tiny.txt")
  for _, labels in ipairs{ "tiny.nii.txt", "tiny.tsv", "tiny_noheader.csv", "tiny_cat12.csv", "tiny.json" } do
    local a = nl.atlas.load(data .. "tiny.nii.gz", data .. labels)
    T.eq(#a, 3, labels)
    local r = a:regions()
    T.eq(r:nrows(), 3)
    for i = 1, 3 do
      T.eq(r.voxels[i], ref["tiny.count." .. i][1], labels .. " voxels")
      T.near(r.centroid_x[i], ref["tiny.centroid." .. i][1], 1e-12)
      T.near(r.centroid_z[i], ref["tiny.centroid." .. i][3], 1e-12)
    end
    T.eq(r.name[3], "Gamma")
  end
  local a = nl.atlas.load(data .. "tiny.nii.gz")   -- finds tiny.nii.txt by itself
  T.eq(tostring(a), "[Atlas tiny: 3 regions, 10x10x10, 2 mm, RAS]")
  T.eq(a:name(), "tiny")
  T.eq(a:names()[2], "Beta_R")
  T.eq(nl.atlas.read_labels(data .. "tiny.json").name[2], "Beta R")
end)

T.test("bad label tables: duplicates and mismatches name the file", function()
  T.raises(function() nl.atlas.load(data .. "tiny.nii.gz", data .. "tiny_dup.txt") end,
           "tiny_dup.txt' line 4: duplicate index 2 (already given on line 2)")
  local err = T.raises(function() nl.atlas.load(data .. "tiny.nii.gz", data .. "tiny_extra.txt") end,
                       "region of the label table has no voxel in the image")
  T.truthy(err:find("tiny_extra.txt", 1, true), err)
  T.raises(function() nl.atlas.load(data .. "tiny.nii.gz", data .. "tiny_missing.txt") end,
           "label 3 occurs in the image")
  T.raises(function() nl.atlas.load(data .. "tiny.nii.gz", data .. "tiny_badindex.txt") end,
           "index 'x' is not an integer")
  local loose = nl.atlas.load(data .. "tiny.nii.gz", data .. "tiny_missing.txt", { strict = false })
  T.eq(loose:names()[3], "label_3")
  T.raises(function() nl.atlas.load(data .. "tiny.nii.gz", { strct = true }) end, "unknown option 'strct' for load; expected one of: strict; did you mean 'strict'?")
  T.raises(function() nl.atlas.load("destrieux") end, "unknown atlas 'destrieux': the known names are aal")
end)

T.test("find, paint, summarize and timeseries on the toy atlas", function()
  local a = nl.atlas.load(data .. "tiny.nii.gz", data .. "tiny.tsv")
  local f = a:find("^BETA")
  T.eq(f:nrows(), 1); T.eq(f.name[1], "Beta R")
  T.eq(a:find("a"):nrows(), 3)
  T.eq(a:find("%d"):nrows(), 0)
  local p = a:paint{ 1.5, -2, 10 }
  T.eq(p:datatype(), "float32")
  local X = a:summarize({ p, p * 2 }, "mean")
  T.eq(X:nrows(), 2)
  T.eq(X.Gamma[1], 10); T.eq(X["Beta R"][2], -4)
  T.eq(a:summarize(p, "sum").Gamma[1], 360)
  T.near(a:summarize(p, "volume_ml").Gamma[1], 360 * 8 / 1000)
  T.eq(a:summarize(p, "median")["Alpha_L"][1], 1.5)
  T.eq(a:summarize(p).Gamma[1], 10, "mean by default")
  -- paint from a map, a Matrix, or a summarize() row
  T.eq(a:paint({ Gamma = 3 }, -1):at(0, 4, 4), 3)
  T.eq(a:paint({ Gamma = 3 }, -1):get(1, 1, 1), -1, "background")
  T.eq(a:paint(nl.matrix{ { 1, 2, 3 } }):at(0, 4, 4), 3)
  T.eq(a:paint(X:head(1)):at(0, 4, 4), 10)
  T.raises(function() a:paint{ 1, 2 } end, "2 values given, the atlas has 3 regions")
  T.raises(function() a:paint{ Delta = 1 } end, "no region named 'Delta'")
  T.raises(function() a:summarize({ p, 3 }, "mean") end, "entry 2 is not a neurolua.Volume")
  T.raises(function() a:summarize(p, "mode") end, "bad argument #2 to 'summarize' (option 'stat' must be one of mean, sum, median, volume_ml, got mode)")
  local out = T.tmpname(".nii.gz")
  p:save(out)
  T.eq(nl.volume.load(out):at(0, 4, 4), 10, "a painted map saves as NIfTI")
  T.eq(a:volume():datatype(), "uint8")
end)

T.test("grids: resampled atlas with a notice, no overlap is an error", function()
  local a = nl.atlas.load(data .. "tiny.nii.gz")
  local p = a:paint{ 1, 2, 3 }
  local far = nl.volume.load(os.getenv("NL_TEST_DATA") .. "/nifti/sform_only.nii")  -- 7x6x5 at x = 78..90
  T.raises(function() a:summarize({ p, far }) end, "volume 2 of 2 ('")
  T.raises(function() a:summarize(far) end, "does not overlap atlas 'tiny' in world space")
  local v4 = nl.volume.load(os.getenv("NL_TEST_DATA") .. "/nifti/nifti2_4d.nii.gz")
  T.raises(function() a:summarize(v4) end, "is 4-D (2 frames)")
end)

T.test("AAL by name: 116 regions, counts and centroids from nibabel", function()
  if not T.atlas_installed("aal") then print("skip: mricron-data not installed") return end
  local ref = T.fixture(data .. "fixture.txt")
  local aal = nl.atlas.load("aal")
  T.eq(#aal, ref["aal.regions"][1])
  local r = aal:regions()
  for _, k in ipairs{ 1, 2, 37, 38, 71, 116 } do
    T.eq(r.index[k], k)
    T.eq(r.voxels[k], ref["aal.count." .. k][1])
    T.near(r.centroid_x[k], ref["aal.centroid." .. k][1], 1e-9)
    T.near(r.centroid_y[k], ref["aal.centroid." .. k][2], 1e-9)
    T.near(r.centroid_z[k], ref["aal.centroid." .. k][3], 1e-9)
  end
  T.eq(aal:find("hippocampus_l").name[1], "Hippocampus_L")
  for _, name in ipairs{ "harvard-oxford", "brodmann", "aicha", "jhu" } do
    if T.atlas_installed(name) then T.truthy(#nl.atlas.load(name) > 40, name) end
  end
end)

T.test("MNI GM over AAL matches NumPy", function()
  local gm_path = shared .. "/mni152/mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz"
  if not T.atlas_installed("aal") or not T.exists(gm_path) then print("skip: AAL or ../shared/data absent") return end
  local ref = T.fixture(data .. "fixture.txt")
  local aal = nl.atlas.load("aal")
  local gm = nl.volume.load(gm_path)
  for _, stat in ipairs{ "sum", "mean", "median", "volume_ml" } do
    local X = aal:summarize({ gm }, stat)
    T.eq(X:ncols(), 116)
    for _, k in ipairs{ 1, 37, 116 } do
      T.near(X[aal:names()[k]][1], ref["aal_gm." .. stat .. "." .. k][1], 1e-12, stat .. " " .. k)
    end
  end
  local ts = aal:timeseries(gm)
  T.eq(ts:rows(), 1); T.eq(ts:cols(), 116)
  T.near(ts:get(1, 37), ref["aal_gm.mean.37"][1], 1e-12)
end)

T.test("FreeSurfer / CAT12 regional tables, ABIDE joined with phenotypes", function()
  local fs = nl.atlas.read_roi_table(data .. "aparc_small.tsv")
  T.eq(fs:columns()[1], "subject")
  T.eq(fs.lh_cuneus_volume[1], 2716.5)
  local cat = nl.atlas.read_roi_table(data .. "cat12_roi.csv")
  T.eq(cat["Left Hippocampus"][1], 3.51)
  T.raises(function() nl.atlas.read_roi_table(data .. "bad_roi.tsv") end, "line 3, column 3 ('b'): 'abc' is not a number")
  local dir = shared .. "/abide_fs6/"
  if not T.exists(dir .. "aseg_table.tsv") then print("skip: ../shared/data/abide_fs6 absent") return end
  local aseg = nl.atlas.read_roi_table(dir .. "aseg_table.tsv")
  T.eq(aseg:nrows(), 1035)
  local ids = {}
  for i = 1, aseg:nrows() do ids[i] = tonumber(aseg.subject[i]:match("_(%d+)$")) end
  aseg.SUB_ID = ids
  local pheno = nl.table.read(dir .. "phenotypes.csv")
  local joined = aseg:join(pheno, "SUB_ID")
  T.truthy(joined:nrows() >= 1000, "most subjects have phenotypes")
  T.truthy(joined.DX_GROUP ~= nil and joined["Left-Hippocampus"] ~= nil)
  local lh = nl.atlas.read_roi_table(dir .. "lh.aparc_table_thickness.tsv")
  T.truthy(lh.lh_bankssts_thickness:mean() > 2 and lh.lh_bankssts_thickness:mean() < 3.5, "cortical thickness in mm")
end)

T.test("fields: none; an unknown name raises with a did-you-mean", function()
  local a = nl.atlas.load(data .. "tiny.nii.gz")
  T.methods_only(a, "Atlas", "name", "nmae", "name")
  T.raises(function() return a.regoins end, "did you mean 'regions'?")
  T.raises(function() a:summarize(a:volume(), "meen") end, "option 'stat' must be one of mean, sum, median, volume_ml, got meen; did you mean 'mean'?")
  T.raises(function() nl.atlas.load(data .. "tiny.nii.gz", { strict = 1 }) end, "option 'strict' must be true or false, got 1")
end)

T.done()
