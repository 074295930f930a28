-- scripts/course/site.lua: the course as an offline website (nl.course.site).
--
--   neurolua scripts/course/site.lua [dir]     (default out/course/site)
--
-- Open dir/index.html in a browser; the folder can be copied anywhere.
local nl = require "neurolua"
local dir = arg and arg[1] or "out/course/site"
print(nl.course.site(dir))
