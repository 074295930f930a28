// nl/io/serial.hpp: a small binary serialization for fitted models.
//
// Layout of a file written by save_container():
//
//   bytes 0-15   magic: "NEUROLUA" then an 8-byte kind, NUL padded ("cvresult")
//   u32          format version of that kind
//   u64          payload length in bytes
//   u32          CRC-32 (zlib) of the payload
//   payload
//
// All integers and doubles are little-endian (the engine refuses to build on a
// big-endian host); doubles are stored bit for bit, so a reloaded model computes the
// same numbers. Reading is strict: a wrong magic, a newer version, a short file or a
// checksum mismatch is a FileError naming the file and the problem, and so is a
// payload whose structure does not parse (Reader checks every length against the
// bytes left), so a damaged file can never make the reader allocate wildly or crash.
#pragma once

#include <bit>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nl/core/linalg.hpp"
#include "nl/table/table.hpp"

namespace nl {

static_assert(std::endian::native == std::endian::little, "the model format assumes a little-endian host");

class Writer {
 public:
  void u8(std::uint8_t v) { bytes_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v) { raw(&v, sizeof v); }
  void u64(std::uint64_t v) { raw(&v, sizeof v); }
  void i64(std::int64_t v) { raw(&v, sizeof v); }
  void f64(double v) { raw(&v, sizeof v); }
  void boolean(bool v) { u8(v ? 1 : 0); }
  void str(std::string_view s);
  void strings(const std::vector<std::string>& v);
  void matrix(const Matrix& m);
  void vector(const Vector& v);
  void doubles(const std::vector<double>& v);
  void indices(const std::vector<Eigen::Index>& v);
  void ints(const std::vector<int>& v);
  void table(const Table& t);
  // A tag checked on reading, to catch a reader and writer out of step.
  void tag(std::string_view t) { str(t); }

  const std::string& bytes() const noexcept { return bytes_; }

 private:
  void raw(const void* p, std::size_t n) { bytes_.append(static_cast<const char*>(p), n); }
  std::string bytes_;
};

class Reader {
 public:
  // `source` names the file in error messages; `version` is the format version of the
  // container the bytes come from, for records whose layout changed between versions.
  Reader(std::string_view bytes, std::string source, std::uint32_t version)
      : bytes_(bytes), source_(std::move(source)), version_(version) {}

  std::uint8_t u8();
  std::uint32_t u32();
  std::uint64_t u64();
  std::int64_t i64();
  double f64();
  bool boolean();
  std::string str();
  std::vector<std::string> strings();
  Matrix matrix();
  Vector vector();
  std::vector<double> doubles();
  std::vector<Eigen::Index> indices();
  std::vector<int> ints();
  Table table();
  // Reads a tag and throws unless it equals t.
  void tag(std::string_view t);
  // A count of items of at least `item_bytes` bytes each, checked against what is left.
  std::size_t count(std::size_t item_bytes);

  bool done() const noexcept { return pos_ == bytes_.size(); }
  // Throws a FileError "<source>: corrupt model file (<what>)".
  [[noreturn]] void fail(std::string_view what) const;
  const std::string& source() const noexcept { return source_; }
  std::uint32_t version() const noexcept { return version_; }

 private:
  void raw(void* p, std::size_t n);
  std::string_view bytes_;
  std::size_t pos_ = 0;
  std::string source_;
  std::uint32_t version_;
};

// Writes magic, kind, version, length, CRC and payload atomically to path.
// every_rank: see AtomicFile.
void save_container(const std::string& path, std::string_view kind, std::uint32_t version, std::string_view payload,
                    bool every_rank = false);

// Reads and checks a container; returns the payload and sets version. FileError naming
// the file for a missing file, a foreign file, another kind, a version newer than
// max_version, truncation or a checksum mismatch.
std::string load_container(const std::string& path, std::string_view kind, std::uint32_t max_version,
                           std::uint32_t& version);
// The checks of load_container on the bytes of a file already in memory; `source`
// names the file in messages.
std::string open_container(std::string_view data, const std::string& source, std::string_view kind,
                           std::uint32_t max_version, std::uint32_t& version);

}  // namespace nl
