-- tests/cli/checkpoint_run.lua KIND OUT [CHECKPOINT [SEED]]: a long permutation test
-- (KIND "glm": a GLM with cluster inference; "cv": a full-mode nested-CV permutation
-- test with the null kept; "store": TFCE and clusters by store:glm on a voxel store built
-- next to OUT, once; "storevox": store:glm without them, whose checkpoint units are
-- blocks of voxels), its results written to OUT as hexadecimal floats (exact).
-- Run by tests/cli/test_checkpoint.sh, which kills it and resumes it.
local kind, out, ckpt, seed = arg[1], arg[2], arg[3], tonumber(arg[4] or "3")
local nl = require "neurolua"
local f = assert(io.open(out .. ".part", "w"))
local function put(name, m)
  f:write(name, " ", m:rows(), "x", m:cols(), "\n")
  for i = 1, m:rows() do
    local row = {}
    for j = 1, m:cols() do row[j] = string.format("%a", m:get(i, j)) end
    f:write(table.concat(row, " "), "\n")
  end
end
if kind == "glm" then
  local here = arg[0]:match("^(.*)/") or "."
  local mask = nl.volume.new(nl.volume.load(here .. "/../data/cluster/mask.nii.gz"), 1)  -- 540 voxels
  local n = 24
  local Y = nl.matrix.randn(n, 540, 5)
  for i = 1, n // 2 do for j = 1, 60 do Y:set(i, j, Y:get(i, j) + 1.0) end end
  local X = nl.matrix.ones(n, 2)
  for i = n // 2 + 1, n do X:set(i, 2, 0) end
  local r = nl.stats.glm(Y, X, { 0, 1 }, { permutations = tonumber(os.getenv("CK_GLM_PERMS") or "300000"), seed = seed,
                                           cluster = { mask = mask, threshold = 2.3 }, checkpoint = ckpt,
                                           checkpoint_every = ckpt and 0.2 or nil, progress = false })
  put("max_stat", r.max_stat); put("p_fwe", r.p_fwe); put("p_perm", r.p_perm); put("max_cluster", r.max_cluster)
  local c = r.clusters
  for i = 1, #c do f:write(string.format("cluster %d %a %a\n", c.size[i], c.p_fwe[i], c.p_unc[i])) end
elseif kind == "store" or kind == "storevox" then
  -- 24 maps of 540 voxels, made and stored once (the store's creation time is part of a
  -- checkpoint's fingerprint, so every run must open the same file).
  local here = arg[0]:match("^(.*)/") or "."
  local mask = nl.volume.new(nl.volume.load(here .. "/../data/cluster/mask.nii.gz"), 1)
  local dir = out:match("^(.*)/") or "."
  local path = dir .. "/ck_store.h5"
  local n = 24
  if not io.open(path) then
    local Y = nl.matrix.randn(n, 540, 5)
    local maps = {}
    for i = 1, n do
      local v = nl.volume.new(mask)
      local q = 0
      local values = mask:values()
      for z = 1, mask:dims()[3] do
        for y = 1, mask:dims()[2] do
          for x = 1, mask:dims()[1] do
            if mask:get(x, y, z) ~= 0 then
              q = q + 1
              v:set(x, y, z, Y:get(i, q) + ((i <= n // 2 and q <= 60) and 1.0 or 0))
            end
          end
        end
      end
      maps[i] = ("%s/ck_map%02d.nii.gz"):format(dir, i)
      v:save(maps[i])
    end
    nl.store.build(path, maps, mask, { chunk = 40, progress = false })
  end
  local s = nl.store.open(path)
  local X = nl.matrix.ones(n, 2)
  for i = n // 2 + 1, n do X:set(i, 2, 0) end
  if kind == "store" then
    local r = s:glm(X, { 0, 1 }, { permutations = tonumber(os.getenv("CK_STORE_PERMS") or "12000"), seed = seed,
                                   tfce = true, cluster = { threshold = 2.3 }, memory = 4 * 32 * 9 * 540,
                                   checkpoint = ckpt, checkpoint_every = ckpt and 0.2 or nil, progress = false })
    put("max_stat", r.max_stat); put("p_fwe", r.p_fwe); put("p_perm", r.p_perm); put("max_tfce", r.max_tfce)
    put("p_tfce", r.p_tfce); put("p_tfce_fwe", r.p_tfce_fwe); put("max_cluster", r.max_cluster)
    put("clusters", r.clusters:matrix())
  else
    local r = s:glm(X, { 0, 1 }, { permutations = tonumber(os.getenv("CK_STOREVOX_PERMS") or "300000"), seed = seed,
                                   checkpoint = ckpt, checkpoint_every = ckpt and 0.2 or nil, progress = false })
    put("max_stat", r.max_stat); put("p_fwe", r.p_fwe); put("p_perm", r.p_perm); put("p_fwe_gamma", r.p_fwe_gamma)
  end
else
  local X = nl.matrix.randn(100, 30, 11)
  local y = {}
  for i = 1, 100 do y[i] = X:get(i, 1) + 0.8 * nl.matrix.randn(1, 1, 300 + i):get(1, 1) > 0 end
  local pipe = nl.ml.pipeline{ nl.ml.scale{}, nl.ml.svc{ C = { 0.25, 1, 4 } } }
  local r = nl.cv.nested(pipe, X, y, { outer = { 5, 1 }, inner = { 5, 1 }, seed = seed, mode = "full",
                                       permutations = tonumber(os.getenv("CK_CV_PERMS") or "1500"), keep_null = true,
                                       checkpoint = ckpt, checkpoint_every = ckpt and 0.2 or nil })
  put("permutation_bac", r.permutation_bac_); put("null_scores", r.null_scores_); put("null_labels", r.null_labels_)
  f:write(string.format("p %a\n", r.p_))
end
f:close()
assert(os.rename(out .. ".part", out))
