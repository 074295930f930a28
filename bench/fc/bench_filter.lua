-- bench/fc/bench_filter.lua DIR SIZES: the ideal band-pass filter, nl.fc.bandpass(Y,
-- {tr = 2, low = 0.01, high = 0.1, filter = "fft"}), on frames x columns matrices of
-- standard normal values. SIZES is a comma-separated list of FRAMESxCOLUMNS. Each size
-- is filtered once to warm up, then timed on the wall clock (nl.clock) for as many
-- calls as fit in about 2e7 values (at least one), on one thread and on nl.threads()
-- threads; prints the fastest call in seconds, and for the cross-check with
-- peer_numpy_filter.py one value of the filtered DIR/check.csv. The garbage collector
-- runs before each timed call (not timed), so that the last result is freed as NumPy
-- frees it: otherwise every call writes into fresh pages and pays their first touch.
local nl = require "neurolua"
local dir = assert(arg[1], "usage: bench_filter.lua DIR SIZES")
local sizes = assert(arg[2], "usage: bench_filter.lua DIR SIZES")
local opts = { tr = 2, low = 0.01, high = 0.1, filter = "fft" }
local threads = nl.threads()

nl.seed(1)
for frames, cols in sizes:gmatch("(%d+)x(%d+)") do
  frames, cols = math.tointeger(frames), math.tointeger(cols)
  local Y = nl.matrix.randn(frames, cols)
  for _, t in ipairs{ 1, threads } do
    nl.threads(t)
    nl.fc.bandpass(Y, opts)
    local best = math.huge
    for _ = 1, math.max(1, 2e7 // (frames * cols)) do
      collectgarbage()
      local t0 = nl.clock()
      nl.fc.bandpass(Y, opts)
      best = math.min(best, nl.clock() - t0)
    end
    print(string.format("nl_filter%s_%dx%d %.6f", t == 1 and "1t" or "", frames, cols, best))
  end
end
nl.threads(threads)
local t = nl.table.read(dir .. "/check.csv")
print(string.format("nl_filter_check %.12f", nl.fc.bandpass(t:matrix(t:columns()), opts):get(100, 2)))
print(string.format("nl_threads %d", threads))
