// markdown.cpp: nl._report.markdown, CommonMark with GitHub's tables, strikethrough and
// autolinks to HTML, through cmark-gfm (Debian's libcmark-gfm: the GitHub fork of the
// CommonMark reference implementation). Used by Report:markdown and the course's HTML
// build (stdlib/neurolua/report.lua, stdlib/neurolua/course.lua).
#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>

#include "core/common.hpp"

namespace nl::bind {

namespace {

struct ParserFree {
  void operator()(cmark_parser* p) const { cmark_parser_free(p); }
};
struct NodeFree {
  void operator()(cmark_node* n) const { cmark_node_free(n); }
};

// The HTML of `text`. raw_html: pass raw HTML and unsafe link schemes through (trusted
// text only: the course's own pages); otherwise cmark-gfm replaces them by comments.
std::string render(const char* text, std::size_t n, bool raw_html) {
  cmark_gfm_core_extensions_ensure_registered();
  const int options = CMARK_OPT_DEFAULT | CMARK_OPT_FOOTNOTES | (raw_html ? CMARK_OPT_UNSAFE : 0);
  std::unique_ptr<cmark_parser, ParserFree> parser(cmark_parser_new(options));
  if (!parser) throw std::runtime_error("markdown: out of memory");
  for (const char* name : {"table", "strikethrough", "autolink"}) {
    cmark_syntax_extension* ext = cmark_find_syntax_extension(name);
    if (!ext) throw std::runtime_error(std::string("markdown: cmark-gfm has no '") + name + "' extension");
    cmark_parser_attach_syntax_extension(parser.get(), ext);
  }
  cmark_parser_feed(parser.get(), text, n);
  std::unique_ptr<cmark_node, NodeFree> doc(cmark_parser_finish(parser.get()));
  if (!doc) throw std::runtime_error("markdown: out of memory");
  char* html = cmark_render_html(doc.get(), options, cmark_parser_get_syntax_extensions(parser.get()));
  if (!html) throw std::runtime_error("markdown: out of memory");
  std::string out(html);
  cmark_get_default_mem_allocator()->free(html);
  return out;
}

}  // namespace

// markdown(text [, raw_html]) -> html.
int markdown_html(lua_State* L) {
  std::size_t n;
  const char* s = luaL_checklstring(L, 1, &n);
  const bool raw = lua_toboolean(L, 2);
  return protect(L, [&] {
    const std::string html = render(s, n, raw);
    lua_pushlstring(L, html.data(), html.size());
    return 1;
  });
}

}  // namespace nl::bind
