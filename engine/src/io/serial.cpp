// serial.cpp: the binary model format (see nl/io/serial.hpp).
#include "nl/io/serial.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <cstring>
#include <limits>

#include "nl/core/core.hpp"
#include "nl/io/fileio.hpp"
#include "nl/io/provenance.hpp"

namespace nl {

namespace {

constexpr std::string_view kMagic = "NEUROLUA";
constexpr std::size_t kHeader = 16 + 4 + 8 + 4;

std::uint32_t crc(std::string_view s) {
  uLong c = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths: feed large payloads in pieces.
  for (std::size_t at = 0; at < s.size();) {
    const std::size_t n = std::min<std::size_t>(s.size() - at, 1u << 30);
    c = crc32(c, reinterpret_cast<const Bytef*>(s.data() + at), static_cast<uInt>(n));
    at += n;
  }
  return static_cast<std::uint32_t>(c);
}

std::string padded_kind(std::string_view kind) {
  if (kind.size() > 8) throw ValueError("model kind longer than 8 bytes");
  std::string k(kind);
  k.resize(8, '\0');
  return k;
}

}  // namespace

// ---------------------------------------------------------------- writer

void Writer::str(std::string_view s) {
  u64(s.size());
  bytes_.append(s);
}

void Writer::strings(const std::vector<std::string>& v) {
  u64(v.size());
  for (const auto& s : v) str(s);
}

void Writer::matrix(const Matrix& m) {
  i64(m.rows());
  i64(m.cols());
  raw(m.data(), sizeof(double) * static_cast<std::size_t>(m.size()));
}

void Writer::vector(const Vector& v) {
  i64(v.size());
  raw(v.data(), sizeof(double) * static_cast<std::size_t>(v.size()));
}

void Writer::doubles(const std::vector<double>& v) {
  u64(v.size());
  raw(v.data(), sizeof(double) * v.size());
}

void Writer::indices(const std::vector<Eigen::Index>& v) {
  u64(v.size());
  for (auto i : v) i64(i);
}

void Writer::ints(const std::vector<int>& v) {
  u64(v.size());
  for (int i : v) i64(i);
}

void Writer::table(const Table& t) {
  tag("table");
  u64(t.ncols());
  u64(t.nrows());
  for (const auto& c : t.columns()) {
    str(c->name());
    u8(static_cast<std::uint8_t>(c->type()));
    for (std::size_t i = 0; i < c->size(); ++i) {
      u8(c->is_missing(i) ? 1 : 0);
      switch (c->type()) {
        case ColumnType::Number: f64(c->is_missing(i) ? 0.0 : c->number(i)); break;
        case ColumnType::String: str(c->is_missing(i) ? std::string() : c->string(i)); break;
        case ColumnType::Bool: u8(!c->is_missing(i) && c->boolean(i) ? 1 : 0); break;
      }
    }
  }
}

// ---------------------------------------------------------------- reader

void Reader::fail(std::string_view what) const {
  throw FileError(fmt::format("{}: corrupt model file ({})", source_, what));
}

void Reader::raw(void* p, std::size_t n) {
  if (n > bytes_.size() - pos_) fail("unexpected end of data");
  if (n == 0) return;  // p may be null (an empty Eigen vector): memcpy must not see it
  std::memcpy(p, bytes_.data() + pos_, n);
  pos_ += n;
}

std::uint8_t Reader::u8() {
  std::uint8_t v;
  raw(&v, 1);
  return v;
}
std::uint32_t Reader::u32() {
  std::uint32_t v;
  raw(&v, sizeof v);
  return v;
}
std::uint64_t Reader::u64() {
  std::uint64_t v;
  raw(&v, sizeof v);
  return v;
}
std::int64_t Reader::i64() {
  std::int64_t v;
  raw(&v, sizeof v);
  return v;
}
double Reader::f64() {
  double v;
  raw(&v, sizeof v);
  return v;
}
bool Reader::boolean() {
  const std::uint8_t v = u8();
  if (v > 1) fail("a flag is neither 0 nor 1");
  return v == 1;
}

std::size_t Reader::count(std::size_t item_bytes) {
  const std::uint64_t n = u64();
  if (item_bytes > 0 && n > (bytes_.size() - pos_) / item_bytes) fail("a length exceeds the data left");
  return static_cast<std::size_t>(n);
}

std::string Reader::str() {
  const std::size_t n = count(1);
  std::string s(bytes_.substr(pos_, n));
  pos_ += n;
  return s;
}

std::vector<std::string> Reader::strings() {
  const std::size_t n = count(8);
  std::vector<std::string> v;
  v.reserve(n);
  for (std::size_t k = 0; k < n; ++k) v.push_back(str());
  return v;
}

Matrix Reader::matrix() {
  const std::int64_t r = i64(), c = i64();
  const std::uint64_t left = (bytes_.size() - pos_) / sizeof(double);
  if (r < 0 || c < 0 || (c > 0 && static_cast<std::uint64_t>(r) > left / static_cast<std::uint64_t>(c)))
    fail("a matrix size exceeds the data left");
  Matrix m(r, c);
  raw(m.data(), sizeof(double) * static_cast<std::size_t>(m.size()));
  return m;
}

Vector Reader::vector() {
  const std::int64_t n = i64();
  if (n < 0 || static_cast<std::uint64_t>(n) > (bytes_.size() - pos_) / sizeof(double))
    fail("a vector size exceeds the data left");
  Vector v(n);
  raw(v.data(), sizeof(double) * static_cast<std::size_t>(n));
  return v;
}

std::vector<double> Reader::doubles() {
  const std::size_t n = count(sizeof(double));
  std::vector<double> v(n);
  raw(v.data(), sizeof(double) * n);
  return v;
}

std::vector<Eigen::Index> Reader::indices() {
  const std::size_t n = count(8);
  std::vector<Eigen::Index> v(n);
  for (auto& i : v) i = i64();
  return v;
}

std::vector<int> Reader::ints() {
  const std::size_t n = count(8);
  std::vector<int> v(n);
  for (auto& i : v) {
    const std::int64_t x = i64();
    if (x < std::numeric_limits<int>::min() || x > std::numeric_limits<int>::max()) fail("an integer is out of range");
    i = static_cast<int>(x);
  }
  return v;
}

Table Reader::table() {
  tag("table");
  const std::size_t ncols = count(9);
  const std::size_t nrows = u64();
  if (ncols > 0 && nrows > (bytes_.size() - pos_) / 2 / ncols) fail("a table size exceeds the data left");
  Table t;
  for (std::size_t j = 0; j < ncols; ++j) {
    std::string name = str();
    if (t.find(name)) fail("a table repeats a column name");
    const std::uint8_t type = u8();
    std::vector<std::uint8_t> missing(nrows);
    if (type == static_cast<std::uint8_t>(ColumnType::Number)) {
      std::vector<double> v(nrows);
      for (std::size_t i = 0; i < nrows; ++i) {
        missing[i] = boolean() ? 1 : 0;
        v[i] = f64();
      }
      t.set(std::make_shared<Column>(Column::numbers(std::move(name), std::move(v), std::move(missing))));
    } else if (type == static_cast<std::uint8_t>(ColumnType::String)) {
      std::vector<std::string> v(nrows);
      for (std::size_t i = 0; i < nrows; ++i) {
        missing[i] = boolean() ? 1 : 0;
        v[i] = str();
      }
      t.set(std::make_shared<Column>(Column::strings(std::move(name), std::move(v), std::move(missing))));
    } else if (type == static_cast<std::uint8_t>(ColumnType::Bool)) {
      std::vector<std::uint8_t> v(nrows);
      for (std::size_t i = 0; i < nrows; ++i) {
        missing[i] = boolean() ? 1 : 0;
        v[i] = boolean() ? 1 : 0;
      }
      t.set(std::make_shared<Column>(Column::bools(std::move(name), std::move(v), std::move(missing))));
    } else {
      fail("unknown column type");
    }
  }
  return t;
}

void Reader::tag(std::string_view t) {
  const std::size_t n = count(1);
  if (n != t.size() || bytes_.substr(pos_, n) != t) fail(fmt::format("expected section '{}'", t));
  pos_ += n;
}

// ---------------------------------------------------------------- container

void save_container(const std::string& path, std::string_view kind, std::uint32_t version, std::string_view payload,
                    bool every_rank) {
  std::string head(kMagic);
  head += padded_kind(kind);
  std::string out = head;
  Writer w;
  w.u32(version);
  w.u64(payload.size());
  w.u32(crc(payload));
  out += w.bytes();
  out.append(payload);
  write_file_atomic(path, out, every_rank);
}

std::string load_container(const std::string& path, std::string_view kind, std::uint32_t max_version,
                           std::uint32_t& version) {
  const std::string data = read_file(path);
  record_input(path, data);
  return open_container(data, path, kind, max_version, version);
}

std::string open_container(std::string_view data, const std::string& path, std::string_view kind,
                           std::uint32_t max_version, std::uint32_t& version) {
  if (data.size() < 8 || data.substr(0, 8) != kMagic)
    throw FileError(fmt::format("{}: not a neurolua model file (it does not start with 'NEUROLUA')", path));
  if (data.size() < kHeader) throw FileError(fmt::format("{}: truncated model file (header incomplete)", path));
  const std::string want = padded_kind(kind);
  if (data.substr(8, 8) != want) {
    std::string got(data.substr(8, 8));
    got.erase(got.find_last_not_of('\0') + 1);
    throw FileError(fmt::format("{}: holds a '{}', not a '{}'", path, got, kind));
  }
  Reader r(data.substr(16, kHeader - 16), path, 0);  // the header itself has one layout
  version = r.u32();
  const std::uint64_t length = r.u64();
  const std::uint32_t sum = r.u32();
  if (version == 0) throw FileError(fmt::format("{}: corrupt model file (format version 0)", path));
  if (version > max_version)
    throw FileError(fmt::format("{}: model format version {} is not supported by this neurolua (it reads 1 to {}); "
                                "a newer neurolua wrote it",
                                path, version, max_version));
  if (data.size() - kHeader < length)
    throw FileError(fmt::format("{}: truncated model file ({} of {} payload bytes)", path, data.size() - kHeader, length));
  if (data.size() - kHeader > length)
    throw FileError(fmt::format("{}: corrupt model file ({} bytes after the end of the payload)", path,
                                data.size() - kHeader - length));
  std::string payload(data.substr(kHeader));
  if (crc(payload) != sum) throw FileError(fmt::format("{}: corrupt model file (checksum mismatch)", path));
  return payload;
}

}  // namespace nl
