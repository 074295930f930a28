-- test_files.lua: files from the script surface (issue 17 items 5 and 6): tables read
-- exactly and round-tripped, non-regular files refused, names, hidden temporary files,
-- NEUROLUA_THREADS.
local T = require "testing"
local nl = require "neurolua"
local NA = nl.table.NA

local data = os.getenv("NL_TEST_DATA") or "../data"
local dir = T.tmpname("-files")
nl.mkdir(dir)

-- The names in dir, hidden ones included, sorted.
local function listing(d)
  local f = assert(io.popen(("ls -A '%s'"):format(d or dir)))
  local names = {}
  for line in f:lines() do names[#names + 1] = line end
  f:close()
  table.sort(names)
  return names
end

-- The warnings issued while fn runs.
local function warnings_during(fn)
  local before = #nl.warnings()
  fn()
  local all, out = nl.warnings(), {}
  for i = before + 1, #all do out[#out + 1] = all[i] end
  return out
end

-- ---------------------------------------------------------------- item 5: exact tables

T.test("write then read: same types and values (',' '\\t' ';')", function()
  local t = nl.table.new {
    { "code", { "12", "NA", "", "true", "007", "n/a", "x" } },
    { "n", { 1.5, 9500000000000000, -0.25, 0 / 0, 1e300, NA, 7 } },
  }
  for _, case in ipairs { { "/round.csv" }, { "/round.tsv" }, { "/semi.csv", ";" } } do
    local path = dir .. case[1]
    t:write(path, case[2] and { sep = case[2] } or nil)
    local u = nl.table.read(path)
    T.eq(u:types().code, "string", path)
    T.eq(u:types().n, "number", path)
    for i = 1, #t do
      T.eq(u.code[i], t.code[i], path .. " code row " .. i)
      if t.n[i] ~= t.n[i] then T.truthy(u.n[i] ~= u.n[i], "NaN stays NaN") else T.eq(u.n[i], t.n[i], path) end
    end
  end
  T.truthy(T.read_file(dir .. "/round.csv"):find('\n"12",1.5\n', 1, true), "text that looks like a number is quoted")
end)

T.test("identifiers with leading zeros or beyond 2^53 stay exact, with a warning", function()
  local path = dir .. "/ids.csv"
  T.write_file(path, "participant_id,score\n007,1\n9007199254740993,2\n9007199254740992,3\n")
  local t
  local w = warnings_during(function() t = nl.table.read(path) end)
  T.eq(t:types().participant_id, "string")
  T.eq(t.participant_id[1], "007")
  T.eq(t.participant_id[2], "9007199254740993")
  T.eq(t.participant_id[3], "9007199254740992")
  T.eq(#w, 1)
  T.truthy(w[1]:find(path .. ": a column is read as text, not numbers, to keep it exact: column 'participant_id': "
    .. "'007' (line 2) has a leading zero", 1, true), w[1])
  -- forced numbers: no warning
  local u
  w = warnings_during(function() u = nl.table.read(path, { types = { participant_id = "number" } }) end)
  T.eq(#w, 0)
  T.eq(u.participant_id[1], 7)
end)

T.test("a number beyond the range of doubles raises naming file, line and column", function()
  local path = dir .. "/huge.csv"
  T.write_file(path, "id,x\na,1\nb,1e999\n")
  T.raises(function() nl.table.read(path) end,
    path .. ":3: column 'x': '1e999' is too large for a number (beyond +-1.8e308; it would read as infinity)")
  T.eq(nl.table.parse("x\ninf\n").x[1], math.huge)
end)

-- ---------------------------------------------------------------- item 6: files

T.test("a FIFO or a device is refused at once instead of blocking", function()
  local fifo = dir .. "/pipe.csv"
  T.truthy(os.execute(("mkfifo '%s'"):format(fifo)), "mkfifo")
  T.raises(function() nl.table.read(fifo) end, fifo .. ": is a FIFO (named pipe), which could block forever")
  T.raises(function() nl.volume.load(fifo) end, "is a FIFO")
  T.raises(function() nl.table.read("/dev/zero") end, "/dev/zero: is a character device")
  os.remove(fifo)
end)

T.test("an empty file name is an error that says so", function()
  local t = nl.table.new { { "a", { 1, 2 } } }
  T.raises(function() t:write("") end, "cannot write a file with an empty name")
  T.raises(function() nl.table.read("") end, "cannot read a file with an empty name")
end)

T.test("a 254- and a 255-byte file name can be written and read", function()
  local t = nl.table.new { { "a", { 1, 2 } } }
  for _, n in ipairs { 254, 255 } do
    local sub = dir .. "/long" .. n
    nl.mkdir(sub)
    local path = sub .. "/" .. ("n"):rep(n - 4) .. ".csv"
    t:write(path)
    T.eq(nl.table.read(path).a[2], 2)
    local names = listing(sub)
    T.eq(#names, 1, "only the file, no temporary left")
  end
end)

T.test("writers leave no temporary file behind", function()
  local sub = dir .. "/writers"
  nl.mkdir(sub)
  nl.table.new { { "a", { 1 } } }:write(sub .. "/t.csv")
  local v = nl.volume.load(data .. "/nifti/good_int16.nii")
  v:save(sub .. "/v.nii.gz")
  v:save(sub .. "/v.nii")
  T.eq(table.concat(nl.volume.load(sub .. "/v.nii.gz"):dims(), "x"), table.concat(v:dims(), "x"))
  T.eq(table.concat(listing(sub), " "), "t.csv v.nii v.nii.gz")
end)

T.test("NEUROLUA_THREADS is read strictly, with a warning naming it", function()
  local script = dir .. "/threads.lua"
  T.write_file(script, "print('threads=' .. nl.threads())\n")
  local function run(value)
    local f = assert(io.popen(("NEUROLUA_THREADS='%s' '%s' '%s' 2>&1"):format(value, arg[-1], script)))
    local out = f:read("a")
    f:close()
    return out
  end
  local out = run("99999999999")
  T.truthy(out:find("threads=1024", 1, true), out)
  T.truthy(out:find("NEUROLUA_THREADS=99999999999 is more than the 1024 threads neurolua allows; using 1024", 1, true), out)
  out = run("4x")
  T.truthy(out:find("NEUROLUA_THREADS=4x is not a thread count", 1, true), out)
  out = run("3")
  T.truthy(out:find("threads=3", 1, true) and not out:find("warning", 1, true), out)
  T.raises(function() nl.threads(100000) end, "thread count")
end)

T.done()
