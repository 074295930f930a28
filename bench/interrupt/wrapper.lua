-- bench/interrupt/wrapper.lua: a nested CV whose pipeline has the forward_select wrapper,
-- on data large enough that one outer fold (60 wrapper runs) takes tens of seconds. It
-- writes "started" on standard error when the long part begins; latency.py then sends
-- SIGINT and times the exit. Does not finish within the bench's patience on purpose.
nl.threads(tonumber(arg[1]) or 2)
local X = nl.matrix.randn(400, 200, 3)
local y = {}
for i = 1, 400 do y[i] = X:get(i, 1) + X:get(i, 2) > 0 end
local pipe = nl.ml.pipeline { nl.ml.scale {}, nl.ml.forward_select { step = 0.02 },
                              nl.ml.svc { C = { 0.25, 1, 4, 16 } } }
io.stderr:write("started\n")
nl.cv.nested(pipe, X, y, { outer = { 3, 5 }, inner = { 3, 5 }, seed = 1 })
print("finished")
