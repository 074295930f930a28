-- wide.lua FILE: reads a wide CSV and prints its shape and the read time (CPU seconds).
local path = assert(arg[1], "usage: neurolua wide.lua FILE")
local t0 = os.clock()
local t = nl.table.read(path)
print(("%d rows x %d columns, read in %.2f s"):format(t:nrows(), t:ncols(), os.clock() - t0))
