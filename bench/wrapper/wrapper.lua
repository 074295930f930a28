-- bench/wrapper/wrapper.lua DATA.tsv: neurolua's forward wrapper (forward_select{step =
-- 0.10, stop = 0.80} with svc{C = 1}, the paper's settings) on the training and
-- validation rows of make_data.py's table, timed; best wall clock of 3 runs, on 1
-- thread (the wrapper runs on one thread; nested CV parallelizes over its folds).
nl.threads(1)
local t = nl.table.read(arg[1])
local cols = {}
for _, c in ipairs(t:columns()) do if c:match("^f%d+$") then cols[#cols + 1] = c end end
local X = t:select(cols):matrix()
local tr, va, ytr, yva = {}, {}, {}, {}
for i = 1, #t do
  if t.split[i] == 1 then tr[#tr + 1] = i; ytr[#ytr + 1] = t.y[i] else va[#va + 1] = i; yva[#yva + 1] = t.y[i] end
end
local Xtr, Xva = X:rows_at(tr), X:rows_at(va)
local function now() local p = io.popen("date +%s.%N"); local v = tonumber(p:read("l")); p:close(); return v end
local fs = nl.ml.forward_select{ step = 0.10, stop = 0.80 }
local svc = nl.ml.svc{ C = 1 }
local best, feats, bac = math.huge
for _ = 1, 3 do
  local t0 = now()
  feats, bac = fs:select(Xtr, ytr, Xva, yva, svc)
  best = math.min(best, now() - t0)
end
print(("nl_p %d"):format(#cols))
print(("nl_wall %.4f"):format(best))
print(("nl_fits %d"):format(fs:fits(#cols)))
print(("nl_selected %d"):format(#feats))
print(("nl_bac %.4f"):format(bac))
