-- Tests of TFCE from Lua: nl.stats.tfce on connectome edges, graph nodes and volumes
-- against MNE-Python fixtures (tests/data/tfce/make_fixtures.py), and max-TFCE
-- inference in nl.stats.glm (fields, maps, printing, determinism, errors).
local T = require "testing"
local nl = require "neurolua"
local fixture = require "fixture"
local data = os.getenv("NL_TEST_DATA")

local function row(f, name) return f[name][1] end

local function near_all(got, want, tol, what)
  T.eq(got:cols() * got:rows(), #want, what .. ": length")
  for j = 1, #want do
    local g = got:rows() == 1 and got:get(1, j) or got:get(j, 1)
    T.truthy(math.abs(g - want[j]) <= tol * math.max(1, math.abs(want[j])), what .. " #" .. j .. ": " .. g .. " vs " .. want[j])
  end
end

T.test("nl.stats.tfce on connectome edges and graph nodes equals MNE-Python's clusters", function()
  local f = fixture("tfce/maps.txt")
  -- Edges of a 12-node connectome in nl.fc's order (upper triangle, row-major).
  local e = row(f, "e")
  near_all(nl.stats.tfce(e, { nodes = 12, dh = 0.1, tail = "right" }), row(f, "paper_edges"), 1e-12, "edges, right")
  near_all(nl.stats.tfce(e, { nodes = 12, dh = 0.1 }), row(f, "paper_edges_two"), 1e-12, "edges, two-sided")
  -- Nodes of a graph given by its adjacency matrix.
  local A = nl.matrix.zeros(40, 40)
  for _, l in ipairs(f.links) do A:set(l[1] + 1, l[2] + 1, 1); A:set(l[2] + 1, l[1] + 1, 1) end
  near_all(nl.stats.tfce(row(f, "g"), { adjacency = A, dh = 0.05 }), row(f, "paper_graph"), 1e-12, "graph")
  -- tail = "left" is the right tail of -x.
  local neg = {}
  for j, v in ipairs(e) do neg[j] = -v end
  near_all(nl.stats.tfce(neg, { nodes = 12, dh = 0.1, tail = "left" }), row(f, "paper_edges"), 1e-12, "edges, left")
end)

T.test("max-TFCE in nl.stats.glm on a mask: scores equal MNE's, p-values, maps, printing", function()
  local c = fixture("cluster/perm.txt")
  local f = fixture("tfce/perm.txt")
  local mask = nl.volume.load(data .. "/cluster/mask.nii.gz")
  local r = nl.stats.glm(c.Y, c.X, c.C[1], { permutations = 1000, seed = 2, tfce = { mask = mask } })
  near_all(r.tfce, row(f, "tfce"), 1e-9, "observed TFCE")
  T.eq(r.max_tfce:rows(), 1000)
  T.near(r.max_tfce:get(1, 1), r.tfce:max(), 1e-12)
  -- The best voxel of the planted blob: numpy + MNE's FWE p from 200 rearrangements is
  -- 0.06 (Monte-Carlo sd 0.017); ours from 1000 (sd 0.008) agrees within 3 sd.
  local best, want = 1, row(f, "p_fwe")
  for j = 1, #want do if want[j] < want[best] then best = j end end
  T.truthy(math.abs(r.p_tfce_fwe:get(best, 1) - want[best]) < 0.06, "FWE p " .. r.p_tfce_fwe:get(best, 1))
  for j = 1, r.tfce:rows() do
    local u, w = r.p_tfce:get(j, 1), r.p_tfce_fwe:get(j, 1)
    T.truthy(u >= 1 / 1000 and u <= w + 1e-15 and w <= 1, "p_tfce <= p_tfce_fwe at " .. j)
  end
  -- Maps on the mask's grid (float32).
  local tv, pv = r.tfce_map:values(mask), r.p_tfce_fwe_map:values(mask)
  for j = 1, r.tfce:rows(), 17 do
    T.near(tv:get(j, 1), r.tfce:get(j, 1), 1e-5 * math.max(1, r.tfce:get(j, 1)))
    T.near(pv:get(j, 1), r.p_tfce_fwe:get(j, 1), 1e-6)
  end
  T.eq(r.tfce_settings, "E 0.5, H 2, dh auto, 26-connectivity")
  T.truthy(r.table:column("p_tfce_fwe") ~= nil)
  local s = tostring(r)
  T.truthy(s:find("TFCE (E 0.5, H 2, dh auto, 26-connectivity): largest", 1, true), s)
  T.truthy(s:find("tfce_map, p_tfce_fwe_map", 1, true), s)
  -- nl.stats.tfce of the observed t map as a Volume gives the same scores.
  local z = nl.stats.tfce(r.stat_map or nl.stats.glm(c.Y, c.X, c.C[1], { cluster = { mask = mask, threshold = 9 } }).stat_map,
                          { mask = mask })
  local zv = z:values(mask)
  for j = 1, r.tfce:rows(), 13 do T.near(zv:get(j, 1), r.tfce:get(j, 1), 1e-4 * math.max(1, r.tfce:get(j, 1))) end
  -- Without permutations: the scores alone.
  local q = nl.stats.glm(c.Y, c.X, c.C[1], { tfce = { mask = mask, connectivity = 6, dh = 0.1 } })
  T.truthy(q.p_tfce == nil and q.tfce:rows() == #row(f, "tfce"))
  T.eq(q.tfce_settings, "E 0.5, H 2, dh 0.1, 6-connectivity")
end)

T.test("max-TFCE is the same on 1 and 2 threads; edges from nl.fc's order", function()
  local n, nodes = 14, 8
  local Y = nl.matrix.randn(n, nodes * (nodes - 1) // 2, 3)
  for i = 1, 7 do for j = 1, 6 do Y:set(i, j, Y:get(i, j) + 1.5) end end  -- edges of node 1
  local X = nl.matrix.ones(n, 2)
  for i = 8, n do X:set(i, 2, 0) end
  local before = nl.threads()
  nl.threads(1)
  local a = nl.stats.glm(Y, X, { 0, 1 }, { permutations = 500, seed = 4, tfce = { nodes = nodes } })
  nl.threads(2)
  local b = nl.stats.glm(Y, X, { 0, 1 }, { permutations = 500, seed = 4, tfce = { nodes = nodes } })
  nl.threads(before)
  for k = 1, 500 do T.eq(a.max_tfce:get(k, 1), b.max_tfce:get(k, 1)) end
  for j = 1, a.tfce:rows() do T.eq(a.p_tfce_fwe:get(j, 1), b.p_tfce_fwe:get(j, 1)) end
  T.eq(a.tfce_settings, "E 1, H 2, dh auto, edges of 8 nodes")
  T.truthy(a.tfce_map == nil)
end)

T.test("tfce errors name the option and what is wrong", function()
  local v = { 1, 2, 3 }
  T.raises(function() nl.stats.tfce(v) end,
           "bad argument #2 to 'tfce' (say what the tests are: 'mask' (a Volume), 'nodes' (a connectome's edges) or 'adjacency' (a graph's nodes))")
  T.raises(function() nl.stats.tfce(v, { nodes = 4 }) end,
           "4 nodes have 6 edges (the upper triangle, as nl.fc writes it) but the data have 3 columns")
  T.raises(function() nl.stats.tfce(v, { nodes = 3, connectivity = 6 }) end, "'connectivity' applies to a mask")
  T.raises(function() nl.stats.tfce(v, { nodes = 3, dh = -1 }) end, "'dh' must be \"auto\"")
  T.raises(function() nl.stats.tfce(v, { nodes = 3, E = "big" }) end, "option 'E'")
  T.raises(function() nl.stats.tfce(v, { nodes = 3, hh = 2 }) end, "unknown option 'hh' for tfce")
  T.raises(function() nl.stats.tfce(v, { adjacency = nl.matrix.zeros(3, 2) }) end, "'adjacency' must be square, got 3 x 2")
  local Y, X = nl.matrix.randn(10, 3, 1), nl.matrix.ones(10, 2)
  for i = 1, 5 do X:set(i, 2, 0) end
  T.raises(function() nl.stats.glm(Y, X, { 0, 1 }, { tfce = { nodes = 4 } }) end,
           "bad argument #4 to 'glm' (option 'tfce': 4 nodes have 6 edges")
  T.raises(function() nl.stats.glm(Y, X, { 0, 1 }, { tfce = { nodes = 3, mask = 1 } }) end, "give one of 'mask'")
  T.raises(function() nl.stats.glm(Y, X, { 0, 1 }, { tfce = { nodes = 3, tail = "left" } }) end,
           "unknown option 'tail' for option 'tfce'")
end)

T.done()
