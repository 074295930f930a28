-- nl.course: the lesson runner (steps, statements, top-level locals), the page's
-- generated blocks and every refusal of sync{check = true}, the step-by-step lesson()
-- with its pauses, the real course's index against its files, and the offline site.
-- Each real lesson is run and checked by its own ctest (course.NN_name); the site in a
-- browser by tests/browser/test_course.mjs.
local T = require "testing"
local nl = require "neurolua"

local real_dir = nl.course.dir
local root = T.tmpname("-course")
local scripts, docs = root .. "/scripts/course", root .. "/docs/course"
nl.mkdir(scripts)
nl.mkdir(docs .. "/figures")
nl.mkdir(root .. "/docs/reference")

T.write_file(scripts .. "/lessons.lua", [[
return {
  { name = "01_first", title = "First", summary = "one" },
  { name = "02_second", title = "Second", summary = "two" },
}
]])
local lesson1 = [[
-- Lesson 1: First
local nl = require "neurolua"
local course = nl.course

-- %% setup: Make a matrix
-- a comment shown as narrative
local m = nl.matrix.eye(2)
local function twice(x) return 2 * x end
local a, b = 3, 4
local nothing
print("trace", m:trace())

-- %% use: Use names of the first step
for i = 1,
    2 do
  print(i, twice(a + b))
end
print(("mean %s"):format(course.fact("mean", m:mean(), "%.2f")), nothing == nil)
nl.plot.bars(course.figure("01_bars.png"), { "a", "b" }, { 1, 2 })

-- %% chain: A method chain over two lines, and a library's own print
local t = nl.table.new{ { "x", { 1, 2 } } }
  :take{ 2 }
t:print()

-- %% solution1: Exercise 1
print("solved", course.fact("answer", 42))
]]
T.write_file(scripts .. "/01_first.lua", lesson1)
T.write_file(scripts .. "/02_second.lua", "-- Lesson 2: Second\n-- %% only: Only\nprint('two')\n")
local page1 = [[
# Lesson 1: First

<!-- code:setup -->
<!-- /code -->

<!-- out:setup -->
<!-- /out -->

The mean is <!-- fact:mean -->0<!-- /fact --> and the answer <!-- fact:answer -->?<!-- /fact -->.

<!-- out:use -->
<!-- /out -->

![Bars](figures/01_bars.png)

See [the second](02_second.md), [nl.course](../reference/course.md) and
[the script](../../scripts/course/01_first.lua).

<details><summary>Solution 1</summary>

<!-- code:solution1 -->
<!-- /code -->

</details>
]]
T.write_file(docs .. "/01_first.md", page1)
T.write_file(docs .. "/02_second.md", "# Lesson 2: Second\n\n<!-- out:only -->\n<!-- /out -->\n\nBack to [the course](README.md).\n")
T.write_file(docs .. "/README.md", "# The course\n\n| # | lesson |\n|---|---|\n| 1 | [First](01_first.md) |\n")
T.write_file(root .. "/docs/reference/course.md", "# nl.course\n\nThe reference, linking [nl.report](report.md).\n")
nl.course.dir = scripts
local work = root .. "/work"

T.test("lessons() lists the index in order", function()
  local t = nl.course.lessons()
  T.eq(t:nrows(), 2)
  T.eq(t.name[1], "01_first")
  T.eq(t.title[2], "Second")
  T.eq(t.lesson[2], 2)
end)

T.test("run: steps in one environment, top-level locals kept, output and facts recorded", function()
  local r = nl.course.run(1, { work = work })
  T.eq(#r.steps, 4)
  T.truthy(r.steps[3].output:find("[Table 1 row x 1 column]", 1, true), "Table:print captured: " .. r.steps[3].output)
  T.eq(r.env.t:nrows(), 1, "the chain on two lines is one statement")
  T.eq(r.steps[1].id, "setup")
  T.eq(r.steps[1].title, "Make a matrix")
  T.eq(r.steps[1].output, "trace\t2.0")
  T.eq(r.steps[2].output, "1\t14\n2\t14\nmean 0.50\ttrue")
  T.truthy(r.steps[1].code:find("^%-%- a comment shown as narrative\nlocal m = nl.matrix.eye%(2%)"), r.steps[1].code)
  T.eq(r.facts.mean, "0.50")
  T.eq(r.facts.answer, "42")
  T.eq(r.figure_list[1], "01_bars.png")
  T.truthy(T.exists(work .. "/figures/01_bars.png"), "figure drawn in work/figures")
  T.eq(r.env.a, 3, "a top-level local is a name of the lesson's environment")
  T.eq(rawget(_G, "a"), nil, "run does not touch the globals")
  local r2 = nl.course.run("first", { work = work, solutions = false })
  T.eq(#r2.steps, 3, "solutions = false stops before the solution steps")
end)

T.test("run: errors name the lesson and the script line", function()
  T.write_file(scripts .. "/02_second.lua", "-- Lesson 2: Second\n-- %% only: Only\nprint('two')\nlocal x = nil + 1\n")
  T.raises(function() nl.course.run(2, { work = work }) end, "lesson 2 (02_second): " .. scripts .. "/02_second.lua:4:")
  T.write_file(scripts .. "/02_second.lua", "-- %% only: Only\nfor i = 1, 2 do\n-- %% next: Next\nend\n")
  T.raises(function() nl.course.run(2, { work = work }) end, "02_second.lua:2: the statement that starts here is not complete")
  T.write_file(scripts .. "/02_second.lua", "-- %% a: A\nprint(1)\n-- %% a: Again\nprint(2)\n")
  T.raises(function() nl.course.run(2, { work = work }) end, "02_second.lua:3: step 'a' is defined twice")
  T.write_file(scripts .. "/02_second.lua", "-- %% a: A\nlocal x, table = 1, {}\n")
  T.raises(function() nl.course.run(2, { work = work }) end,
           "02_second.lua:2: a top-level 'local table' would replace the global 'table'")
  T.write_file(scripts .. "/02_second.lua", "-- %% a: A\nlocal function print() end\n")
  T.raises(function() nl.course.run(2, { work = work }) end, "'local print' would replace the global 'print'")
  T.write_file(scripts .. "/02_second.lua", "-- %%nomark\nprint(1)\n")
  T.raises(function() nl.course.run(2, { work = work }) end, "a step marker is written '-- %% id: Title'")
  T.raises(function() nl.course.run(3) end, "no lesson 3; there are 2")
  T.raises(function() nl.course.lesson() end, "bad argument #1 to 'lesson' (a lesson number or name expected; there are 2")
  T.raises(function() nl.course.run("third") end, "no lesson 'third'")
  T.raises(function() nl.course.run(1, { wrok = work }) end, "did you mean 'work'")
  T.write_file(scripts .. "/02_second.lua", "-- Lesson 2: Second\n-- %% only: Only\nprint('two')\n")
end)

T.test("sync fills the page; check passes on it and fails on any edit, naming the line", function()
  local r = nl.course.sync(1, { work = work })
  T.eq(r.changed, true)
  T.eq(r.figures, 1)
  T.eq(r.facts, 2)
  local page = T.read_file(docs .. "/01_first.md")
  T.truthy(page:find("<!-- fact:mean -->0.50<!-- /fact -->", 1, true), "fact filled")
  T.truthy(page:find("<!-- out:setup -->\n```text\ntrace\t2.0\n```\n<!-- /out -->", 1, true), "output filled")
  T.truthy(page:find("```lua\n-- a comment shown as narrative\nlocal m = nl.matrix.eye(2)", 1, true), "code filled")
  T.truthy(T.exists(docs .. "/figures/01_bars.png"), "figure written beside the page")
  T.eq(nl.course.sync(1, { work = work }).changed, false, "idempotent")
  T.eq(nl.course.sync(1, { check = true, work = work }).changed, false)
  -- a number edited by hand
  T.write_file(docs .. "/01_first.md", (page:gsub("0%.50<!%-%- /fact", "0.51<!-- /fact")))
  local err = T.raises(function() nl.course.sync(1, { check = true, work = work }) end,
                       "docs/course/01_first.md differs from what scripts/course/01_first.lua gives now")
  T.truthy(err:find("first difference at line 20", 1, true), err)
  -- the script changed: the output block is stale
  T.write_file(docs .. "/01_first.md", page)
  T.write_file(scripts .. "/01_first.lua", (lesson1:gsub('print%("trace"', 'print("Trace"')))
  T.raises(function() nl.course.sync(1, { check = true, work = work }) end, "script: print(\"Trace\", m:trace())")
  T.write_file(scripts .. "/01_first.lua", lesson1)
  T.eq(T.read_file(docs .. "/01_first.md"), page, "check never writes the page")
end)

T.test("sync refuses a page out of step with its script", function()
  local good = T.read_file(docs .. "/01_first.md")
  local function with(text, want)
    T.write_file(docs .. "/01_first.md", text)
    T.raises(function() nl.course.sync(1, { check = true, work = work }) end, want)
  end
  with(good:gsub("<!%-%- fact:answer %-%->.-<!%-%- /fact %-%->", ""), "records fact 'answer' but the page never shows it")
  with(good .. "\nSo <!-- fact:nope -->1<!-- /fact -->\n", "the script records no fact 'nope'")
  with(good .. "\nthe mean\n<!-- fact:mean -->0.50<!-- /fact --> again\n", "01_first.md:46: a line starts with a fact")
  with(good .. "\n<!-- out:nope -->\n<!-- /out -->\n", "<!-- out:nope --> names no step of the script")
  with(good .. "\n<!-- out:solution1 -->\n<!-- /code -->\n", "is closed by <!-- /code -->")
  with(good:gsub("!%[Bars%]%(figures/01_bars.png%)", ""), "draws figures/01_bars.png but the page does not show it")
  with(good .. "\n![x](figures/01_other.png)\n", "shows figures/01_other.png but the script does not draw it")
  T.write_file(docs .. "/01_first.md", good)
end)

T.test("fact: formats, and refuses a name recorded twice with another value", function()
  T.eq(nl.course.fact("x", 0.123456), "0.123")
  T.eq(nl.course.fact("x", 7), "7")
  T.eq(nl.course.fact("x", 2 / 3, "%.1f"), "0.7")
  T.raises(function() nl.course.fact("bad name", 1) end, "a name of letters, digits and _ expected")
  T.raises(function() nl.course.fact("x", {}) end, "number or string expected")
  T.write_file(scripts .. "/02_second.lua",
               "-- %% only: Only\nprint(nl.course.fact('v', 1))\nprint(nl.course.fact('v', 2))\n")
  T.raises(function() nl.course.run(2, { work = work }) end, "fact 'v' recorded twice with different values (1, then 2)")
  T.write_file(scripts .. "/02_second.lua", "-- Lesson 2: Second\n-- %% only: Only\nprint('two')\n")
  T.raises(function() nl.course.figure("../escape.png") end, "a file name such as")
end)

T.test("lesson(): each statement shown before it runs, a pause between steps, q stops", function()
  local out_path, in_path = root .. "/lesson.out", root .. "/lesson.in"
  T.write_file(in_path, "\n\n\n")   -- three steps run, then end of input stops the lesson
  local input, output = io.open(in_path, "rb"), io.open(out_path, "wb")
  nl.course.lesson(1, { input = input, output = output, work = work })
  input:close(); output:close()
  local s = T.read_file(out_path)
  local i_show = s:find("> local m = nl.matrix.eye(2)", 1, true)
  local i_trace = s:find("trace\t2.0", 1, true)
  T.truthy(i_show and i_trace and i_show < i_trace, "statement shown, then its output: " .. s)
  T.truthy(s:find("a comment shown as narrative", 1, true), "narrative shown")
  T.truthy(s:find("> for i = 1,\n      2 do\n    print(i, twice(a + b))\n  end", 1, true), "a multi-line statement: " .. s)
  T.truthy(s:find("[step 2 of 3: Use names of the first step]", 1, true), "pause before step 2: " .. s)
  T.truthy(s:find("End of lesson 1", 1, true), s)
  T.eq(rawget(_G, "a"), 3, "the lesson's names stay defined in the REPL")
  T.truthy(not s:find("solved", 1, true), "no solutions unless asked")
  -- q at the second pause
  T.write_file(in_path, "\nq\n")
  input, output = io.open(in_path, "rb"), io.open(out_path, "wb")
  nl.course.lesson(1, { input = input, output = output, work = work })
  input:close(); output:close()
  s = T.read_file(out_path)
  T.truthy(s:find("Stopped", 1, true) and not s:find("mean 0.50", 1, true), s)
  -- solutions, no pauses
  output = io.open(out_path, "wb")
  nl.course.lesson(1, { output = output, pause = false, solutions = true, work = work })
  output:close()
  s = T.read_file(out_path)
  T.truthy(s:find("solved\t42", 1, true), s)
  T.eq(print, _G.print)
  a, b, m, t, twice, nothing, course = nil, nil, nil, nil, nil, nil, nil
end)

T.test("site: one offline page per lesson, figures embedded, links rewritten", function()
  nl.course.sync(1, { work = work })
  nl.course.sync(2, { work = work })
  local site = root .. "/site"
  T.eq(nl.course.site(site), site .. "/index.html")
  local index = T.read_file(site .. "/index.html")
  T.truthy(index:find('href="01_first.html"', 1, true), "index links lesson 1")
  local l1 = T.read_file(site .. "/01_first.html")
  T.truthy(l1:find('href="02_second.html"', 1, true), "lesson link rewritten to .html")
  T.truthy(l1:find('href="docs/reference/course.html"', 1, true), "reference link rewritten")
  T.truthy(l1:find('href="files/scripts/course/01_first.lua"', 1, true), "script link rewritten")
  T.truthy(l1:find("data:image/png;base64,", 1, true), "figure embedded")
  T.truthy(l1:find('<code class="language-lua">', 1, true), "code block")
  T.truthy(l1:find("<details><summary>Solution 1</summary>", 1, true), "raw HTML kept in the course's pages")
  local l2 = T.read_file(site .. "/02_second.html")
  T.truthy(l2:find('href="index.html"', 1, true), "README link goes to the index")
  T.truthy(l2:find("previous: First", 1, true), "navigation")
  T.truthy(T.exists(site .. "/docs/reference/course.html"), "linked reference page rendered")
  T.truthy(T.read_file(site .. "/docs/reference/course.html"):find('href="../../index.html"', 1, true),
           "a documentation page links back to the course")
  T.truthy(T.exists(site .. "/docs/reference/report.html") == false, "a reference page that does not exist is skipped")
  T.eq(T.read_file(site .. "/files/scripts/course/01_first.lua"), lesson1, "a linked script is copied")
end)

nl.course.dir = real_dir

T.test("the course: every lesson of the index has its script and page, and the README lists them in order", function()
  T.truthy(real_dir and real_dir:match("scripts/course$"), "nl.course.dir is set by the executable: " .. tostring(real_dir))
  local t = nl.course.lessons()
  T.truthy(t:nrows() >= 10, "about ten lessons")
  local readme = T.read_file(real_dir .. "/../../docs/course/README.md")
  local last = 0
  for i = 1, t:nrows() do
    local name = t.name[i]
    T.truthy(name:match("^%d%d_"), name)
    T.eq(tonumber(name:sub(1, 2)), i, "lessons numbered in order")
    T.truthy(T.exists(real_dir .. "/" .. name .. ".lua"), "script of " .. name)
    T.truthy(T.exists(real_dir .. "/../../docs/course/" .. name .. ".md"), "page of " .. name)
    local at = readme:find("(" .. name .. ".md)", 1, true)
    T.truthy(at and at > last, "README lists " .. name .. " in order")
    last = at or last
  end
end)

T.done()
