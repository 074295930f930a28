// nl/plot/colormap.hpp: the named colour maps every figure shares (charts, heat maps,
// brain slices, colour bars), so one name means one ramp everywhere.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace nl::plot {

struct RGB {
  double r = 0, g = 0, b = 0;  // each in [0, 1]
};

// A piecewise-linear ramp through control points (position in [0, 1], colour).
// Diverging maps are meant to be centred on zero: t = 0.5 is the value 0.
class Colormap {
 public:
  struct Stop {
    double t;
    RGB c;
  };
  Colormap(std::string name, std::vector<Stop> stops, bool diverging);

  // The named map; "<name>_r" is the reversed ramp. ValueError listing the names when
  // the name is unknown.
  static Colormap get(std::string_view name);
  static std::vector<std::string> names();

  RGB operator()(double t) const;  // t clamped to [0, 1]; NaN gives the lowest colour
  const std::string& name() const { return name_; }
  bool diverging() const { return diverging_; }
  const std::vector<Stop>& stops() const { return stops_; }

 private:
  std::string name_;
  std::vector<Stop> stops_;
  bool diverging_;
};

// Colours for categories (groups, series): matplotlib's "tab10" cycle.
RGB category_colour(std::size_t i);

}  // namespace nl::plot
