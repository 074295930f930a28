// The named colour maps (nl/plot/colormap.hpp). The control points are those of the
// maps users know from matplotlib and nilearn: RdBu_r (ColorBrewer RdBu, 11 classes,
// reversed), viridis (11 evenly spaced samples), hot, gray, and nilearn's cold_hot
// (cyan - blue - black - red - yellow, for signed statistic maps).
#include "nl/plot/colormap.hpp"

#include <algorithm>
#include <cmath>

#include "nl/core/core.hpp"

namespace nl::plot {
namespace {

RGB hex(unsigned v) {
  return {((v >> 16) & 0xff) / 255.0, ((v >> 8) & 0xff) / 255.0, (v & 0xff) / 255.0};
}

std::vector<Colormap::Stop> even(std::initializer_list<unsigned> colours) {
  std::vector<Colormap::Stop> s;
  const std::size_t n = colours.size();
  std::size_t i = 0;
  for (unsigned c : colours) s.push_back({n == 1 ? 0.0 : double(i++) / double(n - 1), hex(c)});
  return s;
}

const std::vector<Colormap>& table() {
  static const std::vector<Colormap> maps = {
      Colormap("cold_hot",
               {{0.0, {0, 1, 1}}, {0.25, {0, 0, 1}}, {0.5, {0, 0, 0}}, {0.75, {1, 0, 0}}, {1.0, {1, 1, 0}}}, true),
      Colormap("RdBu_r",
               even({0x053061, 0x2166ac, 0x4393c3, 0x92c5de, 0xd1e5f0, 0xf7f7f7, 0xfddbc7, 0xf4a582, 0xd6604d,
                     0xb2182b, 0x67001f}),
               true),
      Colormap("viridis",
               even({0x440154, 0x482475, 0x414487, 0x355f8d, 0x2a788e, 0x21918c, 0x22a884, 0x44bf70, 0x7ad151,
                     0xbddf26, 0xfde725}),
               false),
      Colormap("hot", {{0.0, {0, 0, 0}}, {0.375, {1, 0, 0}}, {0.75, {1, 1, 0}}, {1.0, {1, 1, 1}}}, false),
      Colormap("gray", {{0.0, {0, 0, 0}}, {1.0, {1, 1, 1}}}, false),
  };
  return maps;
}

}  // namespace

Colormap::Colormap(std::string name, std::vector<Stop> stops, bool diverging)
    : name_(std::move(name)), stops_(std::move(stops)), diverging_(diverging) {}

std::vector<std::string> Colormap::names() {
  std::vector<std::string> out;
  for (const auto& m : table()) out.push_back(m.name());
  return out;
}

Colormap Colormap::get(std::string_view name) {
  bool reversed = false;
  std::string_view base = name;
  for (const auto& m : table())
    if (m.name() == name) return m;
  if (name.size() > 2 && name.substr(name.size() - 2) == "_r") {
    base = name.substr(0, name.size() - 2);
    reversed = true;
  }
  for (const auto& m : table()) {
    if (m.name() != base) continue;
    if (!reversed) return m;
    std::vector<Stop> s;
    for (auto it = m.stops().rbegin(); it != m.stops().rend(); ++it) s.push_back({1.0 - it->t, it->c});
    return Colormap(std::string(name), std::move(s), m.diverging());
  }
  std::string list;
  for (const auto& n : names()) list += (list.empty() ? "" : ", ") + n;
  throw ValueError("unknown colour map '" + std::string(name) + "'; expected one of: " + list +
                   " (add _r to reverse one)");
}

RGB Colormap::operator()(double t) const {
  if (std::isnan(t)) return stops_.front().c;
  t = std::clamp(t, 0.0, 1.0);
  auto hi = std::lower_bound(stops_.begin(), stops_.end(), t, [](const Stop& s, double v) { return s.t < v; });
  if (hi == stops_.begin()) return hi->c;
  if (hi == stops_.end()) return stops_.back().c;
  auto lo = hi - 1;
  const double f = hi->t > lo->t ? (t - lo->t) / (hi->t - lo->t) : 0.0;
  return {lo->c.r + f * (hi->c.r - lo->c.r), lo->c.g + f * (hi->c.g - lo->c.g), lo->c.b + f * (hi->c.b - lo->c.b)};
}

RGB category_colour(std::size_t i) {
  static const unsigned tab10[] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                   0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};
  return hex(tab10[i % 10]);
}

}  // namespace nl::plot
