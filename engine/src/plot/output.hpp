// plot/output.hpp (private): what the two drawing back ends (PLplot charts, cairo
// slices) do to their SVG and PDF bytes before writing them.
#pragma once

#include <string>
#include <vector>

namespace nl::plot::detail {

// &, <, >, " as XML entities.
std::string xml_escape(const std::string& s);

// cairo writes text as glyph outlines: inserts a <title> (title, or "neurolua figure"
// when empty) and a <desc> listing `texts` one per line after the opening <svg> tag, so
// the SVG is searchable and readable by screen readers.
void add_svg_text(std::string& svg, const std::string& title, const std::vector<std::string>& texts);

// cairo stamps PDFs with the time of writing: blanks the /CreationDate entry (spaces of
// the same length keep the cross-reference offsets valid), so the same figure gives the
// same bytes.
void drop_pdf_date(std::string& pdf);

}  // namespace nl::plot::detail
