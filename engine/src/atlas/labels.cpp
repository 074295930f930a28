// atlas/labels.cpp: reading label tables (mricron .nii.txt, CAT12 atlas CSV,
// neuroparc JSON, plain CSV/TSV) and regional-value tables (FreeSurfer
// aparcstats2table / asegstats2table, CAT12 ROI exports) into a Table.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "nl/atlas/atlas.hpp"
#include "nl/io/fileio.hpp"
#include "nl/io/provenance.hpp"
#include "nl/core/core.hpp"

namespace nl {

// ---------------------------------------------------------------- text helpers

namespace {

std::string read_text(const std::string& path, const char* what) {
  // read_file: only a regular file, within the memory budget (issue 17)
  std::string s;
  try {
    s = read_file(path);
  } catch (const FileError& e) {
    throw FileError(fmt::format("{} {}", what, e.what()));  // "label table l.txt: cannot open file (...)"
  }
  record_input(path, s);
  if (s.compare(0, 3, "\xEF\xBB\xBF") == 0) s.erase(0, 3);  // UTF-8 byte order mark
  return s;
}

std::string trim(std::string_view s) {
  std::size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return std::string(s.substr(a, b - a));
}

// Surrounding double or single quotes removed (doubled double quotes unescaped).
std::string unquote(std::string s) {
  s = trim(s);
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front()) {
    const char q = s.front();
    s = s.substr(1, s.size() - 2);
    if (q == '"') {
      std::string out;
      for (std::size_t i = 0; i < s.size(); ++i) {
        out += s[i];
        if (s[i] == '"' && i + 1 < s.size() && s[i + 1] == '"') ++i;
      }
      s = out;
    }
  }
  return s;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The lines of a text (LF, CRLF or CR ends), numbered from 1.
std::vector<std::pair<std::size_t, std::string>> lines_of(const std::string& text) {
  std::vector<std::pair<std::size_t, std::string>> out;
  std::size_t lineno = 1, start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '\n' || text[i] == '\r') {
      out.emplace_back(lineno++, text.substr(start, i - start));
      if (i + 1 < text.size() && text[i] == '\r' && text[i + 1] == '\n') ++i;
      start = i + 1;
    }
  }
  return out;
}

// Splits a line on `sep` (0: runs of whitespace), honouring double quotes.
std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  if (sep == 0) {
    std::istringstream ss(line);
    std::string tok;
    while (ss >> tok) out.push_back(tok);
    return out;
  }
  std::string cur;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '"') {
      if (quoted && i + 1 < line.size() && line[i + 1] == '"') {
        cur += '"';
        ++i;
      } else {
        quoted = !quoted;
      }
    } else if (c == sep && !quoted) {
      out.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(trim(cur));
  return out;
}

char sniff_separator(const std::string& header, bool prefer_semicolon) {
  if (header.find('\t') != std::string::npos) return '\t';
  const bool semi = header.find(';') != std::string::npos, comma = header.find(',') != std::string::npos;
  if (semi && (prefer_semicolon || !comma)) return ';';
  if (comma) return ',';
  return 0;
}

bool parse_int(const std::string& s, std::int64_t& out) {
  const std::string t = trim(s);
  if (t.empty()) return false;
  const char* b = t.data();
  if (*b == '+') ++b;
  const auto r = std::from_chars(b, t.data() + t.size(), out);
  return r.ec == std::errc() && r.ptr == t.data() + t.size();
}

bool blank_or_comment(const std::string& line) {
  const std::string t = trim(line);
  return t.empty() || t[0] == '#';
}

// Adds a region, rejecting duplicates and empty names.
struct RegionCollector {
  const std::string& path;
  std::vector<Region> regions;
  std::map<std::int64_t, std::size_t> seen;  // index -> line

  void add(std::int64_t index, std::string name, std::size_t line) {
    if (index == 0) return;  // background
    if (name.empty()) throw FileError(fmt::format("'{}' line {}: label {} has an empty name", path, line, index));
    auto [it, fresh] = seen.emplace(index, line);
    if (!fresh)
      throw FileError(fmt::format("'{}' line {}: duplicate index {} (already given on line {})", path, line, index,
                                  it->second));
    regions.push_back({index, std::move(name)});
  }
};

std::vector<Region> read_json_labels(const std::string& path, const std::string& text) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw FileError(fmt::format("'{}': invalid JSON: {}", path, e.what()));
  }
  if (doc.is_object() && doc.contains("rois") && doc["rois"].is_object()) doc = doc["rois"];
  if (!doc.is_object())
    throw FileError(fmt::format("'{}': expected a JSON object mapping label indices to {{\"label\": name}}", path));
  std::vector<Region> out;
  for (const auto& [key, value] : doc.items()) {
    std::int64_t index = 0;
    if (!parse_int(key, index)) continue;  // "MetaData" and the like
    if (index == 0 || !value.is_object() || !value.contains("label") || value["label"].is_null()) continue;
    const auto& label = value["label"];
    std::string name = label.is_string() ? label.get<std::string>() : label.dump();
    if (trim(name).empty()) throw FileError(fmt::format("'{}': label {} has an empty name", path, index));
    out.push_back({index, trim(name)});
  }
  std::sort(out.begin(), out.end(), [](const Region& a, const Region& b) { return a.index < b.index; });
  return out;
}

}  // namespace

// ---------------------------------------------------------------- label tables

std::vector<Region> read_labels(const std::string& path) {
  const std::string text = read_text(path, "label table");
  const std::string first = trim(text.substr(0, std::min<std::size_t>(text.size(), 64)));
  std::vector<Region> regions;
  const bool json = (path.size() > 5 && lower(path.substr(path.size() - 5)) == ".json") || (!first.empty() && first[0] == '{');
  if (json) {
    regions = read_json_labels(path, text);
  } else {
    RegionCollector rc{path, {}, {}};
    const auto lines = lines_of(text);
    std::size_t k = 0;
    while (k < lines.size() && blank_or_comment(lines[k].second)) ++k;
    if (k < lines.size()) {
      const std::string& head = lines[k].second;
      const bool cat12 = lower(trim(head)).rfind("roiid", 0) == 0;
      const char sep = cat12 ? ';' : sniff_separator(head, false);
      std::vector<std::string> fields = split(head, sep);
      std::int64_t probe = 0;
      std::size_t icol = 0, ncol = 1;
      if (!parse_int(unquote(fields[0]), probe)) {
        // A header: the index column by name (else the first), the name column by name
        // in order of preference (else the first other column).
        static const std::vector<std::string> index_names = {"index", "id", "roiid", "roi_id", "label_id",
                                                             "value", "idx", "key"};
        static const std::vector<std::string> name_priority = {"roiname", "name", "label_name", "region",
                                                               "roi", "structure", "label", "roiabbr"};
        auto rank = [](const std::vector<std::string>& list, const std::string& h) {
          return static_cast<std::size_t>(std::find(list.begin(), list.end(), h) - list.begin());
        };
        for (std::size_t c = 0; c < fields.size(); ++c)
          if (rank(index_names, lower(unquote(fields[c]))) < index_names.size()) {
            icol = c;
            break;
          }
        ncol = icol == 0 ? 1 : 0;
        std::size_t best = name_priority.size();
        for (std::size_t c = 0; c < fields.size(); ++c) {
          const std::size_t r = rank(name_priority, lower(unquote(fields[c])));
          if (c != icol && r < best) best = r, ncol = c;
        }
        ++k;
      } else if (sep == 0) {
        icol = 0, ncol = 1;  // mricron: index name [code]
      }
      for (; k < lines.size(); ++k) {
        const auto& [lineno, line] = lines[k];
        if (blank_or_comment(line)) continue;
        const std::vector<std::string> f = split(line, sep);
        if (f.size() <= std::max(icol, ncol))
          throw FileError(fmt::format("'{}' line {}: expected an index and a name, got '{}'", path, lineno, trim(line)));
        std::int64_t index = 0;
        if (!parse_int(unquote(f[icol]), index))
          throw FileError(fmt::format("'{}' line {}: index '{}' is not an integer", path, lineno, unquote(f[icol])));
        rc.add(index, unquote(f[ncol]), lineno);
      }
    }
    regions = std::move(rc.regions);
  }
  if (regions.empty()) throw FileError(fmt::format("'{}': no labels found (expected lines of index and name)", path));
  return regions;
}

// ---------------------------------------------------------------- regional-value tables

Table read_roi_table(const std::string& path) {
  const std::string text = read_text(path, "table");
  const auto lines = lines_of(text);
  std::size_t k = 0;
  while (k < lines.size() && trim(lines[k].second).empty()) ++k;
  if (k == lines.size()) throw FileError(fmt::format("'{}': the file is empty", path));
  const char sep = sniff_separator(lines[k].second, true);
  std::vector<std::string> names = split(lines[k].second, sep);
  for (auto& n : names) n = unquote(n);
  if (names.size() < 2) throw FileError(fmt::format("'{}' line {}: the header has a single column", path, lines[k].first));
  names[0] = "subject";
  std::set<std::string> seen;
  for (std::size_t c = 0; c < names.size(); ++c) {
    if (names[c].empty()) throw FileError(fmt::format("'{}': header column {} has no name", path, c + 1));
    if (!seen.insert(names[c]).second)
      throw FileError(fmt::format("'{}': column name '{}' appears twice in the header", path, names[c]));
  }
  const std::size_t ncol = names.size();
  std::vector<std::string> keys;
  std::vector<std::vector<double>> values(ncol);
  std::vector<std::vector<std::uint8_t>> missing(ncol);
  for (++k; k < lines.size(); ++k) {
    const auto& [lineno, line] = lines[k];
    if (trim(line).empty()) continue;
    const std::vector<std::string> f = split(line, sep);
    if (f.size() != ncol)
      throw FileError(fmt::format("'{}' line {}: {} fields, the header has {}", path, lineno, f.size(), ncol));
    keys.push_back(unquote(f[0]));
    for (std::size_t c = 1; c < ncol; ++c) {
      const std::string cell = unquote(f[c]);
      if (cell.empty() || cell == "NA" || cell == "n/a" || cell == "N/A") {
        values[c].push_back(0.0);
        missing[c].push_back(1);
        continue;
      }
      char* end = nullptr;
      errno = 0;
      const double x = std::strtod(cell.c_str(), &end);
      if (end != cell.c_str() + cell.size())
        throw FileError(fmt::format("'{}' line {}, column {} ('{}'): '{}' is not a number", path, lineno, c + 1,
                                    names[c], cell));
      values[c].push_back(x);
      missing[c].push_back(0);
    }
  }
  Table t;
  t.set(std::make_shared<const Column>(Column::strings(names[0], std::move(keys))));
  for (std::size_t c = 1; c < ncol; ++c)
    t.set(std::make_shared<const Column>(Column::numbers(names[c], std::move(values[c]), std::move(missing[c]))));
  return t;
}

}  // namespace nl
