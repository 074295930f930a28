// The SVG and PDF touch-ups shared by the chart and slice back ends (plot/output.hpp).
#include "plot/output.hpp"

#include <algorithm>
#include <cstddef>

namespace nl::plot::detail {

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += ch;
    }
  }
  return out;
}

void add_svg_text(std::string& svg, const std::string& title, const std::vector<std::string>& texts) {
  const auto open = svg.find("<svg");
  const auto end = open == std::string::npos ? open : svg.find('>', open);
  if (end == std::string::npos) return;
  // appended piecewise: GCC 12 reports a false -Wrestrict on chained operator+ here
  std::string block = "\n<title>";
  block.append(xml_escape(title.empty() ? "neurolua figure" : title));
  block.append("</title>\n<desc>");
  for (std::size_t i = 0; i < texts.size(); ++i) {
    if (i) block.push_back('\n');
    block.append(xml_escape(texts[i]));
  }
  block.append("</desc>");
  svg.insert(end + 1, block);
}

void drop_pdf_date(std::string& pdf) {
  const auto at = pdf.find("/CreationDate (");
  if (at == std::string::npos) return;
  const auto end = pdf.find(')', at);
  if (end == std::string::npos || end - at > 64) return;
  std::fill(pdf.begin() + static_cast<std::ptrdiff_t>(at), pdf.begin() + static_cast<std::ptrdiff_t>(end) + 1, ' ');
}

}  // namespace nl::plot::detail
