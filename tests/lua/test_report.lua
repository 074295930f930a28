-- nl.report: escaping, the markdown subset, tables, embedded figures (PNG round trip,
-- SVG sanitising, PDF refused), viewers, the provenance block (SHA-256 of the inputs
-- against sha256sum), atomic writes, option and field errors, and the one-call form.
-- The page in a browser is tested by tests/browser/test_report.mjs.
local T = require "testing"
local nl = require "neurolua"
local help = require "neurolua.help"

local data = os.getenv("NL_TEST_DATA") .. "/"
local dir = T.tmpname("-report")
nl.mkdir(dir)

-- ---------------------------------------------------------------- helpers

local b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function unbase64(s)
  local map = {}
  for i = 1, 64 do map[b64:sub(i, i)] = i - 1 end
  local out, bits, n = {}, 0, 0
  for c in s:gmatch("[^=%s]") do
    bits = bits * 64 + assert(map[c], "not base64: " .. c)
    n = n + 6
    if n >= 8 then
      n = n - 8
      out[#out + 1] = string.char((bits >> n) & 255)
      bits = bits & ((1 << n) - 1)
    end
  end
  return table.concat(out)
end

local function sha256sum(path)
  local f = assert(io.popen("sha256sum '" .. path .. "'"))
  local line = f:read("l")
  f:close()
  return line:match("^(%x+)")
end

-- A 2x2 RGB PNG (73 bytes, written by Python's zlib and struct: signature, IHDR, IDAT, IEND).
local png = "\137PNG\013\010\026\010\000\000\000\013IHDR\000\000\000\002\000\000\000\002\008\002\000\000\000"
            .. "\253\212\154s\000\000\000\016IDATx\218c\248\207\000\004\255\025 \020\000\027\242\003\253>\151]"
            .. "\164\000\000\000\000IEND\174B`\130"
local png_path = dir .. "/fig.png"
T.write_file(png_path, png)

local function has_bundle()
  local ok = pcall(nl._report.niivue)
  return ok
end

-- ---------------------------------------------------------------- the type

T.test("a Report follows the conventions of the Lua surface", function()
  local rep = nl.report.new{ title = "Study" }
  local mt = getmetatable(rep)
  T.eq(mt.__name, "neurolua.Report")
  T.eq(#mt.__fields(rep), 0)
  T.truthy(rep.heading == mt.__methods.heading)
  T.raises(function() return rep.headng end, "Report has no field 'headng'; did you mean 'heading'? (fields: none; methods: ")
  T.raises(function() rep.x = 1 end, "cannot set field 'x' of a Report")
  for m in pairs(mt.__methods) do
    T.truthy(help.text("Report:" .. m), "no reference entry '### Report:" .. m .. "(...)'")
  end
  T.truthy(help.text("nl.report.new"), "nl.report.new has an entry")
  T.truthy(help.text("nl.report.write"), "nl.report.write has an entry")
  T.truthy(help.text("nl.inputs"), "nl.inputs has an entry")
  T.truthy(help.text("nl.commit"), "nl.commit has an entry")
  rep:heading("Methods"):text("x"):table({ { a = 1 } }):figure(png_path)
  T.eq(tostring(rep), "Report 'Study': 4 sections, 1 table, 1 figure, 0 viewers")
end)

T.test("nl.commit names the build's commit", function()
  T.eq(type(nl.commit), "string")
  T.truthy(nl.commit == "unknown" or nl.commit:match("^%x+$") or nl.commit:match("^%x+%-dirty$"), nl.commit)
end)

-- ---------------------------------------------------------------- text and tables

T.test("text is escaped, with a small markdown subset", function()
  local rep = nl.report.new{ title = "A <b>title</b> & more", subtitle = "sub \"quoted\"" }
  rep:heading("Results <1>")
  rep:heading("Results <1>", 2)
  rep:heading("Deep", 3)
  rep:text("Plain **bold** and *em* and `a<b> *not em*`.\nSame paragraph <script>alert(1)</script>\n\n"
           .. "- item **one**\n- item <two>\n\nSee https://example.org for more.")
  local p = rep:write(dir .. "/text.html")
  T.eq(p, dir .. "/text.html")
  local html = T.read_file(p)
  T.truthy(html:find("<title>A &lt;b&gt;title&lt;/b&gt; &amp; more</title>", 1, true), "title escaped")
  T.truthy(html:find("sub &quot;quoted&quot;", 1, true), "subtitle escaped")
  T.truthy(html:find('<h1 id="results-1">Results &lt;1&gt;<a class="anchor" href="#results-1"', 1, true), "h1 anchor")
  T.truthy(html:find('<h2 id="results-1-2">', 1, true), "a repeated heading gets its own anchor")
  T.truthy(html:find('<h3 id="deep">', 1, true))
  T.truthy(html:find('<li class="l2"><a href="#results-1-2">Results &lt;1&gt;</a></li>', 1, true), "table of contents")
  T.truthy(html:find("<p>Plain <strong>bold</strong> and <em>em</em> and <code>a&lt;b&gt; *not em*</code>.", 1, true),
           "inline markup")
  T.truthy(html:find("&lt;script&gt;alert(1)&lt;/script&gt;", 1, true), "a script in text is escaped")
  T.truthy(html:find("<ul>\n<li>item <strong>one</strong></li>\n<li>item &lt;two&gt;</li>\n</ul>", 1, true), "list")
  T.truthy(html:find("<p>See https://example.org for more.</p>", 1, true), "a URL stays plain text")
  T.truthy(not html:find("<script>alert", 1, true), "no live script")
  T.truthy(html:find("@media print", 1, true), "print stylesheet")
end)

T.test("a Table prints its columns with their types; NA shown as NA", function()
  local t = nl.table.new{ { "id", { "<script>", "b&c", "x" } }, { "age", { 30, nl.table.NA, 41.123456 } },
                          { "case", { true, false, true } } }
  local html = T.read_file(nl.report.new{}:table(t, { caption = "Table 1", digits = 3 }):write(dir .. "/t.html"))
  T.truthy(html:find("<td>&lt;script&gt;</td>", 1, true), "a cell is escaped")
  T.truthy(not html:find("<td><script>", 1, true))
  T.truthy(html:find('<th>age<span class="type">number</span></th>', 1, true), "column type")
  T.truthy(html:find('<th>case<span class="type">bool</span></th>', 1, true))
  T.truthy(html:find('<td class="na">NA</td>', 1, true), "NA")
  T.truthy(html:find('<td class="num">41.1</td>', 1, true), "digits")
  T.truthy(html:find('<td class="num">30</td>', 1, true), "whole numbers")
  T.truthy(html:find("<p class=\"table-caption\">Table 1</p>\n<div class=\"table-wrap\">", 1, true))
  T.truthy(html:find("3 rows &times; 3 columns", 1, true))
end)

T.test("a list of rows, with opts.columns", function()
  local rows = { { name = "a", p = 0.0001234 }, { name = "<b>", p = 0.5 } }
  local html = T.read_file(nl.report.new{}:table(rows, { columns = { "name", "p" } }):write(dir .. "/rows.html"))
  T.truthy(html:find("<thead><tr><th></th><th>name</th><th>p</th></tr></thead>", 1, true), "column order")
  T.truthy(html:find('<td class="num">0.0001234</td>', 1, true))
  T.truthy(html:find("<td>&lt;b&gt;</td>", 1, true))
  T.raises(function() nl.report.new{}:table({ 1, 2 }) end, "row 1 is a number, not a table")
  T.raises(function() nl.report.new{}:table(42) end, "a neurolua.Table or a list of rows expected, got number")
end)

-- ---------------------------------------------------------------- figures

T.test("a PNG figure is embedded and round-trips through base64", function()
  local html = T.read_file(nl.report.new{}:figure(png_path, { caption = "A **tiny** plot", width = 300 })
                           :write(dir .. "/fig.html"))
  local b = html:match('src="data:image/png;base64,([^"]+)"')
  T.truthy(b, "a data URI")
  T.eq(unbase64(b), png, "the bytes decode to the file")
  T.truthy(html:find('style="width:300px"', 1, true))
  T.truthy(html:find("<figcaption>A <strong>tiny</strong> plot</figcaption>", 1, true))
  -- listed as an embedded file, with the SHA-256 sha256sum computes
  T.truthy(html:find(sha256sum(png_path), 1, true), "the figure's SHA-256 is listed")
end)

T.test("the figure is read when it is added", function()
  local p = dir .. "/later.png"
  T.write_file(p, png)
  local rep = nl.report.new{}:figure(p)
  os.remove(p)
  local html = T.read_file(rep:write(dir .. "/later.html"))
  T.truthy(html:find("data:image/png;base64,", 1, true))
end)

T.test("an SVG figure is inlined without scripts, handlers or outside references", function()
  local svg = [[<?xml version="1.0"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10" onload="alert(1)">
<script type="text/javascript">alert(2)</script><SCRIPT>alert(3)</SCRIPT>
<defs><g id="glyph0-1"><path d="M0 0"/></g><clipPath id="clip1"><rect width="5" height="5"/></clipPath></defs>
<use xlink:href="#glyph0-1" x="1" y="1"/><rect clip-path="url(#clip1)" width="4" height="4" onclick='x()'/>
<image href="https://example.org/x.png" width="1" height="1"/><a href="javascript:alert(4)"><text>t</text></a>
<foreignObject><div>html</div></foreignObject>
<g onmouseover=alert(5) fill=red><animate attributeName="href" to="javascript:alert(6)"/></g>
</svg>]]
  local p = dir .. "/fig.svg"
  T.write_file(p, svg)
  local rep = nl.report.new{}:figure(p):figure(p)
  local html = T.read_file(rep:write(dir .. "/svg.html"))
  T.truthy(not html:lower():find("alert", 1, true), "no script or handler survives")
  T.truthy(not html:find("onclick", 1, true) and not html:find("onload", 1, true))
  T.truthy(not html:find("example.org", 1, true), "outside reference removed")
  T.truthy(not html:find("javascript:", 1, true))
  T.truthy(not html:find("foreignObject", 1, true))
  T.truthy(not html:find("<!DOCTYPE svg", 1, true) and not html:find("<?xml", 1, true))
  T.truthy(html:find('id="f1-glyph0-1"', 1, true) and html:find('xlink:href="#f1-glyph0-1"', 1, true), "ids prefixed")
  T.truthy(html:find('id="f2-glyph0-1"', 1, true) and html:find('clip-path="url(#f2-clip1)"', 1, true),
           "the second figure's ids differ")
end)

T.test("figure errors: PDF, missing file, unknown kind, unknown option", function()
  local rep = nl.report.new{}
  T.write_file(dir .. "/x.pdf", "%PDF-1.4")
  T.raises(function() rep:figure(dir .. "/x.pdf") end, "a PDF cannot be embedded in a self-contained HTML report")
  T.raises(function() rep:figure(dir .. "/x.pdf") end, "save the figure as .png or .svg")
  local missing = dir .. "/no_such_plot.png"
  local err = T.raises(function() rep:figure(missing) end, missing)
  T.truthy(err:find("cannot open", 1, true), err)
  T.raises(function() rep:figure(dir .. "/x.gif") end, "unsupported kind '.gif'")
  T.raises(function() rep:figure(png_path, { captoin = "x" }) end,
           "unknown option 'captoin' for figure; expected one of: caption, width; did you mean 'caption'?")
  T.write_file(dir .. "/fake.png", "not a png")
  T.raises(function() rep:figure(dir .. "/fake.png") end, "not a PNG file")
  T.raises(function() rep:figure(png_path, { width = "wide" }) end, "option 'width'")
end)

T.test("option and argument errors", function()
  T.raises(function() nl.report.new{ titel = "x" } end, "unknown option 'titel' for new; expected one of: title, subtitle; did you mean 'title'?")
  local rep = nl.report.new{}
  T.raises(function() rep:heading("x", 4) end, "level must be 1, 2 or 3")
  T.raises(function() rep:heading(3) end, "string expected, got number")
  T.raises(function() rep:table({}, { digit = 2 }) end, "did you mean 'digits'?")
  T.raises(function() rep:table({}, { digits = 0 }) end, "option 'digits' must be an integer in [1, 17]")
  T.raises(function() rep:provenance{ seed = 1 } end, "unknown option 'seed' for provenance; expected one of: seeds, command, facts; did you mean 'seeds'?")
  T.raises(function() rep:viewer(data .. "atlas/tiny.nii.gz", { cmap = "hott" }) end, "did you mean 'hot'?")
  T.raises(function() rep:viewer(data .. "atlas/tiny.nii.gz", { treshold = 1 }) end, "did you mean 'threshold'?")
  T.raises(function() getmetatable(rep).__methods.text({}, "x") end, "neurolua.Report expected")
end)

-- ---------------------------------------------------------------- provenance

T.test("the provenance block lists the SHA-256 of every file read", function()
  local csv = dir .. "/participants.tsv"
  T.write_file(csv, T.read_file(data .. "csv/participants.tsv"))
  local t = nl.table.read(csv)
  nl.table.read(csv)  -- read twice, listed once
  local v = nl.volume.load(data .. "atlas/tiny.nii.gz")
  local want = sha256sum(csv)
  local found, count = nil, 0
  for _, r in ipairs(nl.inputs()) do
    if r.path == csv then found, count = r, count + 1 end
  end
  T.truthy(found, "nl.inputs() lists the table")
  T.eq(count, 1, "read twice unchanged, listed once")
  T.eq(found.sha256, want)
  T.eq(found.bytes, #T.read_file(csv))
  T.eq(found.changed, false)
  local rep = nl.report.new{ title = "P" }:table(t:head(2))
  rep:provenance{ seeds = { cv = 42, permutations = 7 }, facts = { cohort = "discovery <A>" } }
  local html = T.read_file(rep:write(dir .. "/prov.html"))
  T.truthy(html:find(want, 1, true), "the SHA-256 of the table")
  T.truthy(html:find(sha256sum(data .. "atlas/tiny.nii.gz"), 1, true), "the SHA-256 of the volume")
  T.truthy(html:find("<code>cv = 42</code>, <code>permutations = 7</code>", 1, true), "seeds")
  T.truthy(html:find("<dt>cohort</dt><dd>discovery &lt;A&gt;</dd>", 1, true), "facts")
  T.truthy(html:find("(commit <code>" .. nl.commit .. "</code>)", 1, true), "commit")
  T.truthy(html:find("<dt>threads</dt><dd>" .. nl.threads() .. "</dd>", 1, true), "threads")
  T.truthy(html:find("<dt>date</dt><dd>%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d[+-]%d%d:%d%d</dd>"), "ISO 8601 date with zone")
  T.truthy(html:find("test_report.lua", 1, true), "the command line names the script")
  T.truthy(html:find("<dt>host</dt><dd>[^<]+%(Linux "), "host")
  T.truthy(v)
  -- a file changed after it was read is flagged, and a new read logs the new hash
  T.write_file(csv, T.read_file(csv) .. "\n")
  local changed
  for _, r in ipairs(nl.inputs()) do if r.path == csv then changed = r.changed end end
  T.eq(changed, true, "changed after reading")
  html = T.read_file(rep:write(dir .. "/prov.html"))
  T.truthy(html:find("changed or removed since it was read", 1, true))
  nl.table.read(csv)
  local hashes = {}
  for _, r in ipairs(nl.inputs()) do if r.path == csv then hashes[#hashes + 1] = r.sha256 end end
  T.eq(#hashes, 2, "both versions are listed")
  T.eq(hashes[2], sha256sum(csv))
end)

T.test("command = overrides the command line; the block is always written", function()
  local html = T.read_file(nl.report.new{}:provenance{ command = { "run.sh", "--seed", "1" } }:write(dir .. "/c.html"))
  T.truthy(html:find("<dt>command</dt><dd><code>run.sh --seed 1</code></dd>", 1, true))
  html = T.read_file(nl.report.new{}:write(dir .. "/empty.html"))
  T.truthy(html:find('<section class="provenance" id="provenance">', 1, true))
  T.truthy(html:find("<dt>seeds</dt><dd>none given</dd>", 1, true))
end)

-- ---------------------------------------------------------------- writing

T.test("a failing write leaves the old file", function()
  local target = dir .. "/atomic.html"
  T.write_file(target, "old report")
  local script = dir .. "/big.lua"
  -- a report far larger than the file-size limit the child runs under
  T.write_file(script, ([[
local rows = {}
for i = 1, 3000 do rows[i] = { i = i, label = ("row %%d of a long table"):format(i) } end
local ok, err = pcall(function() return nl.report.new{}:table(rows):write(%q) end)
print(ok, err)
]]):format(target))
  -- SIGXFSZ ignored: the write fails with EFBIG instead of killing the process
  local f = assert(io.popen(("sh -c \"trap '' XFSZ; ulimit -f 64; exec '%s' '%s'\" 2>&1"):format(arg[-1], script)))
  local out = f:read("a")
  f:close()
  T.truthy(out:find("^false"), "the write failed: " .. out)
  T.truthy(out:find(target, 1, true), "the error names the file: " .. out)
  T.eq(T.read_file(target), "old report", "the old file is intact")
  local ls = assert(io.popen("ls -A '" .. dir .. "'"))
  local names = ls:read("a")
  ls:close()
  T.truthy(not names:find("tmp", 1, true), "no temporary file left: " .. names)
  -- and a successful write replaces it
  nl.report.new{ title = "new" }:write(target)
  T.truthy(T.read_file(target):find("<title>new</title>", 1, true))
  T.raises(function() nl.report.new{}:write(dir .. "/no/such/dir/r.html") end, "no/such/dir/r.html")
end)

-- ---------------------------------------------------------------- viewers

T.test("a viewer embeds the volume and the NiiVue bundle; nothing from the network", function()
  if not has_bundle() then
    local err = T.raises(function() nl.report.new{}:viewer(data .. "atlas/tiny.nii.gz") end, "tools/bootstrap.sh")
    print("note: NiiVue is not installed (" .. err .. "); viewer contents not checked")
    return
  end
  local vol = data .. "atlas/tiny.nii.gz"
  local rep = nl.report.new{ title = "V" }:viewer(vol, { cmap = "hot", threshold = 0.5, caption = "Tiny **atlas**" })
  T.eq(tostring(rep), "Report 'V': 1 section, 0 tables, 0 figures, 1 viewer")
  local html = T.read_file(rep:write(dir .. "/viewer.html"))
  local b = html:match('<script type="application/octet%-stream" id="nlv1%-volume">([^<]+)</script>')
  T.truthy(b, "the volume block")
  T.eq(unbase64(b), T.read_file(vol), "the volume bytes round-trip")
  T.truthy(html:find('"cmap":"hot"', 1, true) and html:find('"cal_min":0.5', 1, true), "options")
  T.truthy(html:find("<figcaption>Tiny <strong>atlas</strong></figcaption>", 1, true))
  T.truthy(html:find("niivue", 1, true) and html:find("window.neuroluaViewers", 1, true), "the bundle and start-up")
  -- (found from each "http", not with a pattern starting at a word: base64 is one long word)
  for pos in html:gmatch("()https?://") do
    local before = html:sub(math.max(1, pos - 12), pos - 1):lower()
    T.truthy(not before:match("src%s*=%s*[\"']?$") and not before:match("href%s*=%s*[\"']?$"),
             "a network reference: " .. html:sub(math.max(1, pos - 12), pos + 40))
  end
  -- over the template
  local ok, err = pcall(nl._report.template)
  if ok then
    html = T.read_file(nl.report.new{}:viewer(vol, { background = "template" }):write(dir .. "/tpl.html"))
    T.truthy(html:find('id="nlv1-background"', 1, true), "background embedded")
    T.truthy(html:find("ch2better", 1, true))
  else
    print("note: no template background (" .. tostring(err) .. ")")
  end
  T.raises(function() nl.report.new{}:viewer(dir .. "/none.nii.gz") end, "none.nii.gz")
  T.raises(function() nl.report.new{}:viewer(nl.volume.new(nl.volume.load(vol))) end, "save it first")
end)

T.test("without the NiiVue bundle, a viewer raises naming tools/bootstrap.sh", function()
  local script = dir .. "/nobundle.lua"
  T.write_file(script, ("print(pcall(function() nl.report.new{}:viewer(%q) end))"):format(data .. "atlas/tiny.nii.gz"))
  local f = assert(io.popen(("NEUROLUA_NIIVUE=/nonexistent/niivue.umd.js '%s' '%s' 2>&1"):format(arg[-1], script)))
  local out = f:read("a")
  f:close()
  T.truthy(out:find("false", 1, true), out)
  T.truthy(out:find("the NiiVue bundle is missing (/nonexistent/niivue.umd.js): run tools/bootstrap.sh", 1, true), out)
end)

-- ---------------------------------------------------------------- one call

T.test("nl.report.write(path, {sections = ...})", function()
  local p = nl.report.write(dir .. "/one.html", {
    title = "One call", seeds = { cv = 3 },
    sections = {
      { heading = "Intro" }, { text = "Some *text*." }, { heading = "Sub", level = 2 },
      { table = { { a = 1 } }, caption = "rows" }, { figure = png_path, caption = "fig" },
    },
  })
  local html = T.read_file(p)
  T.truthy(html:find('<h1 id="intro">', 1, true) and html:find('<h2 id="sub">', 1, true))
  T.truthy(html:find("<p class=\"table-caption\">rows</p>", 1, true) and html:find("<figcaption>fig</figcaption>", 1, true))
  T.truthy(html:find("<code>cv = 3</code>", 1, true))
  T.raises(function() nl.report.write(dir .. "/x.html", { sections = { { figure = png_path, captoin = "x" } } }) end,
           "section 1: ")
  T.raises(function() nl.report.write(dir .. "/x.html", { sections = { { image = png_path } } }) end,
           "section 1: expected one of the keys")
  T.raises(function() nl.report.write(dir .. "/x.html", { titel = "x" }) end, "did you mean 'title'?")
  T.raises(function() nl.report.write(dir .. "/x.html", { sections = { { text = "x", caption = "y" } } }) end,
           "section 1: unknown key 'caption' for a text section")
end)

T.done()
