-- neurolua/course.lua: nl.course, the course in reproducible machine learning for clinical
-- neuroimaging (docs/course/). Reference: docs/reference/course.md.
--
-- A lesson is a Lua script, scripts/course/NN_name.lua, cut into steps by marker lines
--   -- %% id: Title
-- (the lines before the first marker are the preamble). Its page, docs/course/NN_name.md,
-- holds generated blocks that nl.course.sync fills from a run of the script, so that the
-- page's code, printed output and numbers cannot drift from the script:
--   <!-- code:id --> ... <!-- /code -->   the step's source, as a ```lua block
--   <!-- out:id --> ... <!-- /out -->     what the step printed, as a ```text block
--   <!-- fact:name -->...<!-- /fact -->   a number the script recorded with course.fact
-- Figures are written by the script through course.figure(name) and shown by the page as
-- ![caption](figures/name). sync{check = true} (ctest course.NN) fails on any difference.
--
-- The runner (run, lesson) executes a lesson statement by statement in one environment:
-- a top-level `local x = ...` is run as `x = ...`, so that the names stay visible from
-- one statement to the next (and, in the REPL, afterwards).
local M = {}

local function nl() return require "neurolua" end
local check_options = require("neurolua.util").check_options

M.dir = os.getenv("NEUROLUA_COURSE") -- set by the executable when unset (scripts/course)

-- The run in progress (nil when a lesson script runs on its own).
local current = nil

-- ---------------------------------------------------------------- files

local function read_file(path, what)
  local f, err = io.open(path, "rb")
  if not f then error(("cannot read %s '%s': %s"):format(what, path, tostring(err)), 0) end
  local s = f:read("a")
  f:close()
  return s
end

local function course_dir()
  if type(M.dir) ~= "string" or M.dir == "" then
    error("nl.course.dir is not set: set it (or NEUROLUA_COURSE) to the folder of the lesson scripts "
          .. "(scripts/course in the source tree)", 0)
  end
  return (M.dir:gsub("/+$", ""))
end

-- The folder of the course's pages: docs/course beside scripts/course.
local function docs_dir() return course_dir() .. "/../../docs/course" end

local index_cache = {}
local function index()
  local dir = course_dir()
  if not index_cache[dir] then
    local chunk = assert(load(read_file(dir .. "/lessons.lua", "the course index"), "@" .. dir .. "/lessons.lua", "t", {}))
    local list = chunk()
    for i, l in ipairs(list) do
      l.number = i
      l.script = ("%s/%s.lua"):format(dir, l.name)
    end
    index_cache[dir] = list
  end
  return index_cache[dir]
end

-- The lesson record of n (a number, or the name "05_leakage" or "leakage").
local function find(n, fname, argn)
  local list = index()
  if math.type(n) == "integer" and list[n] then return list[n] end
  if type(n) == "string" then
    for _, l in ipairs(list) do
      if l.name == n or l.name:match("^%d+_(.*)$") == n then return l end
    end
  end
  local what = n == nil and "a lesson number or name expected"
               or ("no lesson %s"):format(type(n) == "string" and ("'" .. n .. "'") or tostring(n))
  error(("bad argument #%d to '%s' (%s; there are %d, numbered 1 to %d: nl.course.lessons() lists them)")
        :format(argn, fname, what, #list, #list), 3)
end

-- ---------------------------------------------------------------- parsing a lesson

-- { preamble = {text, line}, steps = {{id, title, text, line}} }: line is the script
-- line of the step's first source line (after the marker).
local function parse(script)
  local src = read_file(script, "the lesson script")
  local lines = {}
  for line in (src:gsub("\r\n", "\n") .. (src:sub(-1) == "\n" and "" or "\n")):gmatch("([^\n]*)\n") do
    lines[#lines + 1] = line
  end
  local parts = { { id = "_preamble", title = "", first = 1, lines = {} } }
  local seen = {}
  for i, line in ipairs(lines) do
    local id, title = line:match("^%-%- %%%% ([%w_]+):%s*(.-)%s*$")
    if not id and line:match("^%-%- %%%%") then
      error(("%s:%d: a step marker is written '-- %%%% id: Title'"):format(script, i), 0)
    end
    if id then
      if seen[id] then error(("%s:%d: step '%s' is defined twice"):format(script, i, id), 0) end
      seen[id] = true
      parts[#parts + 1] = { id = id, title = title, first = i + 1, lines = {} }
    else
      local p = parts[#parts]
      p.lines[#p.lines + 1] = line
    end
  end
  for _, p in ipairs(parts) do
    -- trim blank lines at both ends, keeping line numbers right
    while #p.lines > 0 and not p.lines[1]:match("%S") do table.remove(p.lines, 1); p.first = p.first + 1 end
    while #p.lines > 0 and not p.lines[#p.lines]:match("%S") do table.remove(p.lines) end
    p.text = table.concat(p.lines, "\n")
  end
  local title = lines[1] and lines[1]:match("^%-%-%s*(.-)%s*$") or ""
  return { title = title, preamble = parts[1], steps = { table.unpack(parts, 2) } }
end

-- Whether the next line of code after line k - 1 goes on with the statement before it,
-- as Lua reads it: a line that cannot start a statement (a method call `:m()`, a field
-- `.f`, a call `(...)` or `{...}` or "...", an operator such as `..`, `+`, `and`).
local function continues(lines, k)
  for i = k, #lines do
    local l = lines[i]:match("^%s*(.-)%s*$")
    if l ~= "" and not l:match("^%-%-") then
      if l:match("^and%f[^%w_]") or l:match("^or%f[^%w_]") then return true end
      return not (l:match("^[%a_]") or l:match("^::") or l:match("^;"))
    end
  end
  return false
end

-- The statements of a step: { {src, line, comments} } where comments are the comment
-- lines just before the statement. A statement ends at the first line where the lines
-- gathered so far compile, or fail for another reason than a missing end.
local function statements(part, script)
  local out, acc, start, comments = {}, {}, nil, {}
  for k, line in ipairs(part.lines) do
    local lineno = part.first + k - 1
    if #acc == 0 and (line:match("^%s*%-%-") and not line:match("^%s*%-%-%[%[")) then
      comments[#comments + 1] = line
    elseif #acc == 0 and not line:match("%S") then
      if #comments > 0 then comments[#comments + 1] = "" end
    else
      if #acc == 0 then start = lineno end
      acc[#acc + 1] = line
      local src = table.concat(acc, "\n")
      local f, err = load(src, "=s", "t", {})
      if (f and not continues(part.lines, k + 1)) or (not f and not tostring(err):find("<eof>", 1, true)) then
        while #comments > 0 and comments[#comments] == "" do table.remove(comments) end
        out[#out + 1] = { src = src, line = start, comments = comments }
        acc, comments = {}, {}
      end
    end
  end
  if #acc > 0 then
    error(("%s:%d: the statement that starts here is not complete at the end of its step"):format(script, start), 0)
  end
  return out
end

-- The statement as run in the lesson's environment: a top-level `local` declaration
-- becomes an assignment (so its names outlive the statement).
local function globalize(src)
  local rest = src:match("^local%s+(.*)$")
  if not rest then return src end
  if rest:match("^function%s") then return rest end
  if rest:find("=", 1, true) then return (rest:gsub("^([^=]-)%s*<%s*const%s*>", "%1")) end
  return rest .. " = nil"
end

-- Names of the standard environment that a lesson's top-level local may not take: in
-- the REPL (lesson()) it would become a global and replace them for the rest of the session.
local reserved = {}
for _, k in ipairs{ "assert", "collectgarbage", "dofile", "error", "getmetatable", "ipairs", "load", "loadfile",
                    "next", "pairs", "pcall", "print", "rawequal", "rawget", "rawlen", "rawset", "require",
                    "select", "setmetatable", "tonumber", "tostring", "type", "warn", "xpcall", "coroutine",
                    "debug", "io", "math", "os", "package", "string", "table", "utf8", "arg", "help", "lesson",
                    "_G", "_ENV", "_VERSION" } do
  reserved[k] = true
end

-- Runs one statement in env; the chunk carries the script's name and line numbers.
local function exec(stmt, script, env)
  local names = stmt.src:match("^local%s+function%s+([%a_][%w_]*)") or stmt.src:match("^local%s+([^=]*)")
  for name in (names or ""):gmatch("[%a_][%w_]*") do
    if reserved[name] then
      error(("%s:%d: a top-level 'local %s' would replace the global '%s' when the lesson runs in the REPL "
             .. "(lesson()): rename it"):format(script, stmt.line, name, name), 0)
    end
  end
  local code = string.rep("\n", stmt.line - 1) .. globalize(stmt.src)
  local f, err = load(code, "@" .. script, "t", env)
  if not f then error(err, 0) end
  return f()
end

-- ---------------------------------------------------------------- lesson helpers

local function join(a, b) return a:gsub("/+$", "") .. "/" .. b end

-- course.fact(name, value [, format]) -> the formatted value, recorded for the page.
function M.fact(name, value, fmt)
  if type(name) ~= "string" or not name:match("^[%w_]+$") then
    error(("bad argument #1 to 'fact' (a name of letters, digits and _ expected, got %s)"):format(tostring(name)), 2)
  end
  local s
  if fmt ~= nil then
    if type(fmt) ~= "string" then error("bad argument #3 to 'fact' (format string expected)", 2) end
    local ok, r = pcall(string.format, fmt, value)
    if not ok then error(("bad argument #3 to 'fact' (%s)"):format(r), 2) end
    s = r
  elseif math.type(value) == "integer" then
    s = tostring(value)
  elseif type(value) == "number" then
    s = ("%.3g"):format(value)
  elseif type(value) == "string" then
    s = value
  else
    error(("bad argument #2 to 'fact' (number or string expected, got %s)"):format(type(value)), 2)
  end
  if current then
    if current.facts[name] ~= nil and current.facts[name] ~= s then
      error(("fact '%s' recorded twice with different values (%s, then %s)"):format(name, current.facts[name], s), 2)
    end
    current.facts[name] = s
  end
  return s
end

-- The folder a lesson run keeps its data in (made when missing).
local function standalone_root()
  local script = arg and arg[0] or "lesson"
  local base = script:match("([^/]+)%.lua$") or "lesson"
  return "out/course/" .. base
end

-- course.figure(name) -> the path to draw figure `name` (a file name such as
-- "05_null.png") to; the page shows it as figures/name.
function M.figure(name)
  if type(name) ~= "string" or not name:match("^[%w_%-%.]+%.[%a]+$") then
    error(("bad argument #1 to 'figure' (a file name such as '05_null.png' expected, got %s)"):format(tostring(name)), 2)
  end
  local dir = current and current.figures or (standalone_root() .. "/figures")
  nl().mkdir(dir)
  if current then
    if current.figure_set[name] then error(("figure '%s' is drawn twice in one lesson"):format(name), 2) end
    current.figure_set[name] = true
    current.figure_list[#current.figure_list + 1] = name
  end
  return join(dir, name)
end

-- course.data(name) -> a folder for the lesson's data (a simulated cohort), made empty
-- of nothing: the simulator's overwrite option replaces a previous run's files.
function M.data(name)
  if type(name) ~= "string" or not name:match("^[%w_%-]+$") then
    error(("bad argument #1 to 'data' (a folder name expected, got %s)"):format(tostring(name)), 2)
  end
  local dir = join(current and current.work or (standalone_root() .. "/data"), name)
  nl().mkdir(dir)
  return dir
end

-- ---------------------------------------------------------------- listing

function M.lessons()
  local n, names, titles, summaries = {}, {}, {}, {}
  for i, l in ipairs(index()) do
    n[i], names[i], titles[i], summaries[i] = i, l.name, l.title, l.summary or ""
  end
  return nl().table.new{ { "lesson", n }, { "name", names }, { "title", titles }, { "summary", summaries } }
end

-- ---------------------------------------------------------------- running

-- A print that hands each line it would write to sink.
local function printer(sink)
  return function(...)
    local parts = {}
    for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
    sink(table.concat(parts, "\t"))
  end
end

-- nl.course.run(n [, {work = , figures = , solutions = }]) -> the record of a whole run.
function M.run(n, o)
  o = check_options(o, "run", { "work", "figures", "solutions" }, 2, 2)
  local l = find(n, "run", 1)
  local p = parse(l.script)
  local work = o.work or ("out/course/" .. l.name)
  local rec = { lesson = l, title = p.title, steps = {}, facts = {}, figure_list = {},
                figure_set = {}, work = join(work, "data"), figures = o.figures or join(work, "figures") }
  local out = {}
  local env = setmetatable({ print = printer(function(line) out[#out + 1] = line end) }, { __index = _G })
  local saved, saved_print = current, _G.print
  current = rec
  -- Table:print, help and other library code print through the global print
  _G.print = env.print
  local t0, w0 = os.clock(), nl().clock()
  local ok, err = pcall(function()
    for _, part in ipairs({ p.preamble, table.unpack(p.steps) }) do
      if part.id:match("^solution") and o.solutions == false then break end
      for k = #out, 1, -1 do out[k] = nil end
      for _, st in ipairs(statements(part, l.script)) do exec(st, l.script, env) end
      if part.id ~= "_preamble" then
        rec.steps[#rec.steps + 1] = { id = part.id, title = part.title, code = part.text,
                                      output = table.concat(out, "\n") }
      end
    end
  end)
  current, _G.print = saved, saved_print
  if not ok then error(("lesson %d (%s): %s"):format(l.number, l.name, tostring(err)), 0) end
  rec.cpu_seconds = os.clock() - t0
  rec.wall_seconds = nl().clock() - w0
  rec.figure_set = nil
  rec.env = env
  return rec
end

-- ---------------------------------------------------------------- step by step

local function show_code(src, write)
  local first = true
  for line in (src .. "\n"):gmatch("([^\n]*)\n") do
    write((first and "> " or "  ") .. line .. "\n")
    first = false
  end
end

-- nl.course.lesson(n [, {solutions = , input = , pause = }]): the lesson step by step in
-- the global environment; each statement is shown, then run; Enter goes on, q stops.
function M.lesson(n, o)
  o = check_options(o, "lesson", { "solutions", "input", "output", "pause", "work" }, 2, 2)
  local l = find(n, "lesson", 1)
  local p = parse(l.script)
  local input, output = o.input or io.stdin, o.output or io.stdout
  local write = function(s) output:write(s) end
  local steps = {}
  for _, s in ipairs(p.steps) do
    if o.solutions or not s.id:match("^solution") then steps[#steps + 1] = s end
  end
  write(("\n%s\n%s\n"):format(p.title, ("="):rep(math.min(#p.title, 78))))
  write(("Script: %s; page: docs/course/%s.md. %d steps. Enter runs the next step, q stops.\n")
        :format(l.script, l.name, #steps))
  local saved = current
  local work = o.work or ("out/course/" .. l.name)
  current = { facts = {}, figure_list = {}, figure_set = {},
              work = join(work, "data"), figures = join(work, "figures") }
  local env = _G
  local saved_print = _G.print
  if o.output then  -- the lesson's own prints go to the same place
    _G.print = printer(function(line) write(line .. "\n") end)
  end
  local ok, err = pcall(function()
    for _, st in ipairs(statements(p.preamble, l.script)) do exec(st, l.script, env) end
    for k, s in ipairs(steps) do
      if o.pause ~= false then
        write(("\n[step %d of %d: %s] Enter to run, q to stop: "):format(k, #steps, s.title))
        output:flush()
        local answer = input:read("l")
        if answer == nil or answer:match("^%s*[qQ]") then
          write("\nStopped. The lesson's names stay defined; lesson(" .. l.number .. ") starts again.\n")
          return
        end
      end
      write(("\n-- Step %d of %d: %s\n"):format(k, #steps, s.title))
      for _, st in ipairs(statements(s, l.script)) do
        for _, c in ipairs(st.comments) do write(c .. "\n") end
        show_code(st.src, write)
        output:flush()
        exec(st, l.script, env)
      end
    end
    write(("\nEnd of lesson %d. Exercises and solutions: docs/course/%s.md%s.\n")
          :format(l.number, l.name, o.solutions and "" or " (lesson(" .. l.number .. ", {solutions = true}) runs the solutions)"))
  end)
  local figures = current.figure_list
  current = saved
  _G.print = saved_print
  if not ok then error(tostring(err), 0) end
  if #figures > 0 then
    write(("Figures: %s\n"):format(join(work, "figures")))
  end
end

-- neurolua --course: the list of lessons, and lesson() as a global.
function M.start()
  local list = index()
  print("neurolua course: reproducible machine learning for clinical neuroimaging")
  for i, l in ipairs(list) do print(("  %2d  %s"):format(i, l.title)) end
  print("lesson(n) runs lesson n step by step (lesson(n, {solutions = true}) with the exercises' solutions);")
  print("the pages are in docs/course/ (nl.course.site(dir) makes them a website).")
  _G.lesson = M.lesson
end

-- ---------------------------------------------------------------- the page

local function fenced(lang, text)
  -- a fence longer than any backtick run inside
  local longest = 2
  for run in text:gmatch("`+") do longest = math.max(longest, #run) end
  local fence = ("`"):rep(longest + 1)
  return fence .. lang .. "\n" .. text .. (text == "" and "" or "\n") .. fence
end

-- The page with every generated block filled from rec; errors name the block.
local function fill(page, rec, pagename)
  local ln = 0
  for line in (page .. "\n"):gmatch("([^\n]*)\n") do
    ln = ln + 1
    if line:match("^%s*<!%-%- fact:") then
      error(("%s:%d: a line starts with a fact; CommonMark (and GitHub) reads a line that starts with '<!--' as "
             .. "HTML and cuts the paragraph there: put a word before it"):format(pagename, ln), 0)
    end
  end
  local steps = {}
  for _, s in ipairs(rec.steps) do steps[s.id] = s end
  local used = {}
  local function block(kind, id)
    local s = steps[id]
    if not s then error(("%s: <!-- %s:%s --> names no step of the script"):format(pagename, kind, id), 0) end
    if kind == "code" then return fenced("lua", s.code) end
    if s.output == "" then error(("%s: step '%s' prints nothing, so <!-- out:%s --> is empty"):format(pagename, id, id), 0) end
    return fenced("text", s.output)
  end
  local out = page:gsub("<!%-%- (%a+):([%w_]+) %-%->(.-)<!%-%- /(%a+) %-%->", function(kind, id, _, close)
    if kind ~= close then error(("%s: <!-- %s:%s --> is closed by <!-- /%s -->"):format(pagename, kind, id, close), 0) end
    if kind == "fact" then
      local v = rec.facts[id]
      if v == nil then error(("%s: the script records no fact '%s'"):format(pagename, id), 0) end
      used[id] = true
      return ("<!-- fact:%s -->%s<!-- /fact -->"):format(id, v)
    elseif kind == "code" or kind == "out" then
      return ("<!-- %s:%s -->\n%s\n<!-- /%s -->"):format(kind, id, block(kind, id), kind)
    end
    error(("%s: unknown generated block <!-- %s:%s -->"):format(pagename, kind, id), 0)
  end)
  for name in pairs(rec.facts) do
    if not used[name] then error(("%s: the script records fact '%s' but the page never shows it"):format(pagename, name), 0) end
  end
  -- figures: every one drawn is shown, every one shown is drawn
  local shown = {}
  for target in out:gmatch("!%[[^%]]*%]%(figures/([^%)%s]+)%)") do shown[target] = true end
  local drawn = {}
  for _, f in ipairs(rec.figure_list) do
    drawn[f] = true
    if not shown[f] then error(("%s: the script draws figures/%s but the page does not show it"):format(pagename, f), 0) end
  end
  for f in pairs(shown) do
    if not drawn[f] then error(("%s: the page shows figures/%s but the script does not draw it"):format(pagename, f), 0) end
  end
  return out
end

-- The first line where a and b differ, as "line N: expected ... / found ...".
local function first_difference(a, b)
  local la, lb = {}, {}
  for l in (a .. "\n"):gmatch("([^\n]*)\n") do la[#la + 1] = l end
  for l in (b .. "\n"):gmatch("([^\n]*)\n") do lb[#lb + 1] = l end
  for i = 1, math.max(#la, #lb) do
    if la[i] ~= lb[i] then
      return ("line %d:\n  page:   %s\n  script: %s"):format(i, la[i] or "(end of file)", lb[i] or "(end of file)")
    end
  end
  return "(no difference)"
end

-- nl.course.sync(n [, {check = , work = }]): runs lesson n and fills its page (or, with
-- check = true, fails when the page differs from what the run gives).
function M.sync(n, o)
  o = check_options(o, "sync", { "check", "work" }, 2, 2)
  local l = find(n, "sync", 1)
  local pagepath = ("%s/%s.md"):format(docs_dir(), l.name)
  local page = read_file(pagepath, "the lesson's page")
  local work = o.work or ("out/course/" .. l.name)
  local figures = o.check and join(work, "figures") or (docs_dir() .. "/figures")
  local rec = M.run(l.number, { work = work, figures = figures, solutions = true })
  local filled = fill(page, rec, ("docs/course/%s.md"):format(l.name))
  if o.check then
    if filled ~= page then
      error(("docs/course/%s.md differs from what scripts/course/%s.lua gives now (run nl.course.sync(%d) and "
             .. "commit the page and its figures); first difference at %s"):format(l.name, l.name, l.number,
             first_difference(page, filled)), 0)
    end
  elseif filled ~= page then
    nl()._report.write(pagepath, filled)
  end
  local nfacts = 0
  for _ in pairs(rec.facts) do nfacts = nfacts + 1 end
  return { lesson = l.number, name = l.name, changed = filled ~= page, figures = #rec.figure_list,
           facts = nfacts,
           cpu_seconds = rec.cpu_seconds, wall_seconds = rec.wall_seconds }
end

-- ---------------------------------------------------------------- the website

-- Paths of the site. A page is named by its path under docs/ ("course/05_leakage.md",
-- "reference/cv.md", "methods-notes.md"); the course's pages go to the site's root
-- (README.md as index.html), every other page to docs/<path>.html, and any other file
-- of the source tree a page links to (a script, a table) is copied to files/<path>.
local function normalize(path)
  local parts = {}
  for seg in path:gmatch("[^/]+") do
    if seg == ".." then
      if #parts > 0 and parts[#parts] ~= ".." then parts[#parts] = nil else parts[#parts + 1] = ".." end
    elseif seg ~= "." then
      parts[#parts + 1] = seg
    end
  end
  return table.concat(parts, "/")
end

local function dirname(path) return path:match("^(.*)/[^/]*$") or "" end

-- The relative link from a file of the site at `from` to one at `to` (both from the root).
local function relative(from, to)
  local a, b = {}, {}
  for seg in dirname(from):gmatch("[^/]+") do a[#a + 1] = seg end
  for seg in to:gmatch("[^/]+") do b[#b + 1] = seg end
  local k = 1
  while k <= #a and k < #b and a[k] == b[k] do k = k + 1 end
  local out = {}
  for _ = k, #a do out[#out + 1] = ".." end
  for i = k, #b do out[#out + 1] = b[i] end
  return table.concat(out, "/")
end

-- Where page `src` (a path under docs/) lands in the site.
local function page_out(src)
  local name = src:match("^course/([%w_%-]+)%.md$")
  if name then return (name == "README" and "index" or name) .. ".html" end
  return "docs/" .. src:gsub("%.md$", ".html")
end

-- The page's Markdown with its relative links rewritten for the site; pages it links to
-- go into `pages` (path under docs/ -> true), other files into `files` (path under the
-- source tree -> true).
local function relink(md, src, pages, files)
  local out = page_out(src)
  return (md:gsub("(%]%()([^%)%s]+)(%))", function(a, target, b)
    if target:match("^%a[%w+.-]*:") or target:match("^#") or target:match("^/") then return nil end
    local path, frag = target:match("^([^#]*)(#?.*)$")
    if path == "" then return nil end
    local full = normalize(dirname(src) .. "/" .. path)   -- under docs/
    local new
    if full:match("%.md$") and not full:match("^%.%./") then
      pages[full] = true
      new = relative(out, page_out(full))
    elseif full:match("^course/figures/") then
      return nil                                            -- embedded by add_page
    else
      local repo = normalize("docs/" .. full)               -- under the source tree
      if repo:match("^%.%./") then return nil end
      files[repo] = true
      new = relative(out, "files/" .. repo)
    end
    return a .. new .. frag .. b
  end))
end

-- Adds a Markdown page to a Report: "# " is the title (returned), "## "... become the
-- report's headings (levels 1-3), image lines of figures/ become embedded figures.
local function add_page(r, md, figdir)
  local title
  local buf, fence = {}, nil
  local function flush()
    local text = table.concat(buf, "\n")
    if text:match("%S") then r:markdown(text, { html = true }) end
    buf = {}
  end
  for line in (md .. "\n"):gmatch("([^\n]*)\n") do
    local f = line:match("^%s*(```+)") or line:match("^%s*(~~~+)")
    if fence then
      buf[#buf + 1] = line
      if f and f:sub(1, 1) == fence:sub(1, 1) and #f >= #fence and line:match("^%s*[`~]+%s*$") then fence = nil end
    elseif f then
      fence = f
      buf[#buf + 1] = line
    else
      local hashes, text = line:match("^(#+)%s+(.-)%s*$")
      local cap, fig = line:match("^%s*!%[([^%]]*)%]%(figures/([^%)%s]+)%)%s*$")
      if hashes and #hashes == 1 and not title then
        title = text
      elseif hashes and #hashes <= 4 then
        flush()
        r:heading(text, #hashes - 1)
      elseif fig then
        flush()
        r:figure(figdir .. "/" .. fig, { caption = cap ~= "" and cap or nil })
      else
        buf[#buf + 1] = line
      end
    end
  end
  flush()
  return title
end

local function write_bytes(path, bytes)
  nl().mkdir(dirname(path))
  nl()._report.write(path, bytes)
end

-- nl.course.site(dir): the course as an offline website in dir: index.html, one page
-- per lesson (figures embedded), the other pages of docs/ that the lessons link to (and
-- those they link to, one level) under docs/, and the files they link to (the lesson
-- scripts, ...) under files/. Returns the path of index.html.
function M.site(dir)
  if type(dir) ~= "string" or dir == "" then error("bad argument #1 to 'site' (a folder expected)", 2) end
  local N = nl()
  local docs = docs_dir()
  local tree = docs .. "/../.."
  local list = index()
  N.mkdir(dir)
  local pages, files = {}, {}
  local function nav(k)
    local parts = { "[Course contents](index.html)" }
    if k > 1 then parts[#parts + 1] = ("[previous: %s](%s.html)"):format(list[k - 1].title, list[k - 1].name) end
    if k < #list then parts[#parts + 1] = ("[next: %s](%s.html)"):format(list[k + 1].title, list[k + 1].name) end
    return table.concat(parts, " · ")
  end
  local figures = docs .. "/figures"
  local r = N.report.new{ title = "neurolua course", subtitle = "Reproducible machine learning for clinical neuroimaging" }
  add_page(r, relink(read_file(docs .. "/README.md", "the course's README"), "course/README.md", pages, files), figures)
  r:write(dir .. "/index.html")
  for k, l in ipairs(list) do
    local src = "course/" .. l.name .. ".md"
    local page = N.report.new{ title = l.title, subtitle = ("Lesson %d of %d"):format(k, #list) }
    page:markdown(nav(k))
    add_page(page, relink(read_file(docs .. "/" .. l.name .. ".md", "the lesson's page"), src, pages, files), figures)
    page:markdown(nav(k))
    page:provenance{ command = { ("neurolua scripts/course/%s.lua"):format(l.name) } }
    page:write(dir .. "/" .. page_out(src))
  end
  -- the other pages of docs/ the lessons link to, and those they link to (one level)
  local done = {}
  for src in pairs(pages) do if src:match("^course/") then done[src] = true end end
  for level = 1, 2 do
    local todo = {}
    for src in pairs(pages) do if not done[src] then todo[#todo + 1] = src end end
    table.sort(todo)
    for _, src in ipairs(todo) do
      done[src] = true
      local f = io.open(docs .. "/../" .. src, "rb")
      if f then
        local md = f:read("a")
        f:close()
        local out = page_out(src)
        local rp = N.report.new{ title = src:gsub("%.md$", ""), subtitle = "neurolua documentation" }
        rp:markdown(("[Course contents](%s)"):format(relative(out, "index.html")))
        local sink = level == 1 and pages or {}
        add_page(rp, relink(md, src, sink, level == 1 and files or {}), docs .. "/../" .. dirname(src) .. "/figures")
        N.mkdir(dir .. "/" .. dirname(out))
        rp:write(dir .. "/" .. out)
      end
    end
  end
  for path in pairs(files) do
    local f = io.open(tree .. "/" .. path, "rb")
    if f then
      local bytes = f:read("a")   -- nil for a folder
      f:close()
      if bytes then write_bytes(dir .. "/files/" .. path, bytes) end
    end
  end
  return dir .. "/index.html"
end

return M
