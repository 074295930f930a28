// provenance.cpp: the input log (record_input), SHA-256 and base64 through nettle, and
// the build and host descriptions.
#include "nl/io/provenance.hpp"

#include <nettle/base64.h>
#include <nettle/sha2.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>

#include <fmt/format.h>

#include "nl/core/core.hpp"

namespace nl {

// Defined in the file CMake generates at every build (cmake/GitCommit.cmake).
namespace detail {
extern const char build_commit_string[];
}

namespace {

// ---------------------------------------------------------------- hashing

std::string hex(const std::uint8_t* d, std::size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string s(2 * n, '0');
  for (std::size_t i = 0; i < n; ++i) {
    s[2 * i] = digits[d[i] >> 4];
    s[2 * i + 1] = digits[d[i] & 15];
  }
  return s;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// The digest of the file at path streamed in 1 MiB blocks, or "" when it cannot be read.
std::string sha256_of_file(const std::string& path) {
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) return "";
  sha256_ctx ctx;
  sha256_init(&ctx);
  std::vector<std::uint8_t> buf(std::size_t{1} << 20);
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f.get())) > 0) sha256_update(&ctx, n, buf.data());
  if (std::ferror(f.get())) return "";
  std::array<std::uint8_t, SHA256_DIGEST_SIZE> d;
  sha256_digest(&ctx, d.size(), d.data());
  return hex(d.data(), d.size());
}

// ---------------------------------------------------------------- the log

struct FileState {
  bool exists = false;
  std::uint64_t bytes = 0;
  std::int64_t mtime_ns = 0;
};

FileState file_state(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {true, static_cast<std::uint64_t>(st.st_size),
          static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

// The resolved path that identifies a file in the log ("a.csv" and "./a.csv" are one).
std::string resolved(const std::string& path) {
  std::error_code ec;
  auto p = std::filesystem::weakly_canonical(std::filesystem::absolute(path, ec), ec);
  return ec ? path : p.string();
}

struct Entry {
  std::string key;
  InputRecord record;
};

std::mutex log_mutex;
std::vector<Entry>& input_log() {
  static std::vector<Entry> log;
  return log;
}

// Whether (key, state) is logged already; the caller holds the mutex.
bool logged(const std::string& key, const FileState& s) {
  for (const auto& e : input_log())
    if (e.key == key && e.record.bytes == s.bytes && e.record.mtime_ns == s.mtime_ns) return true;
  return false;
}

// hash() is called without the mutex held, so parallel loads hash in parallel.
template <class Hash>
void record(const std::string& path, Hash&& hash) {
  const FileState s = file_state(path);
  const std::string key = resolved(path);
  {
    std::lock_guard lock(log_mutex);
    if (logged(key, s)) return;
  }
  InputRecord r{path, hash(), s.bytes, s.mtime_ns};
  std::lock_guard lock(log_mutex);
  if (!logged(key, s)) input_log().push_back({key, std::move(r)});
}

}  // namespace

void record_input(const std::string& path) {
  record(path, [&] { return sha256_of_file(path); });
}

void record_input(const std::string& path, std::string_view contents) {
  record(path, [&] { return sha256_hex(contents); });
}

std::vector<InputRecord> recorded_inputs() {
  std::lock_guard lock(log_mutex);
  std::vector<InputRecord> out;
  out.reserve(input_log().size());
  for (const auto& e : input_log()) out.push_back(e.record);
  return out;
}

bool find_recorded_input(const std::string& path, InputRecord& out) {
  const std::string key = resolved(path);
  std::lock_guard lock(log_mutex);
  const auto& log = input_log();
  for (auto it = log.rbegin(); it != log.rend(); ++it)
    if (it->key == key) {
      out = it->record;
      return true;
    }
  return false;
}

bool input_changed(const InputRecord& r) {
  const FileState s = file_state(r.path);
  return !s.exists || s.bytes != r.bytes || s.mtime_ns != r.mtime_ns;
}

// ---------------------------------------------------------------- encodings

std::string sha256_hex(std::string_view data) {
  sha256_ctx ctx;
  sha256_init(&ctx);
  sha256_update(&ctx, data.size(), reinterpret_cast<const std::uint8_t*>(data.data()));
  std::array<std::uint8_t, SHA256_DIGEST_SIZE> d;
  sha256_digest(&ctx, d.size(), d.data());
  return hex(d.data(), d.size());
}

std::string base64_encode(std::string_view data) {
  std::string out(BASE64_ENCODE_RAW_LENGTH(data.size()), '\0');
  // nettle >= 3.4 takes char* for the encoded text.
  base64_encode_raw(out.data(), data.size(), reinterpret_cast<const std::uint8_t*>(data.data()));
  return out;
}

// ---------------------------------------------------------------- build and host

const char* build_commit() noexcept { return detail::build_commit_string; }

std::string host_description() {
  struct utsname u {};
  if (::uname(&u) != 0) return "unknown";
  return fmt::format("{} ({} {} {})", u.nodename, u.sysname, u.release, u.machine);
}

// ---------------------------------------------------------------- installed files

std::string read_installed_file(const std::string& path, const std::string& what, const std::string& hint) {
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  struct stat st {};
  if (!f || ::fstat(fileno(f.get()), &st) != 0 || !S_ISREG(st.st_mode))
    throw FileError(fmt::format("{} is missing ({}): {}", what, path, hint));
  std::string data(static_cast<std::size_t>(st.st_size), '\0');
  if (std::fread(data.data(), 1, data.size(), f.get()) != data.size())
    throw FileError(fmt::format("{}: cannot read {}", path, what));
  return data;
}

}  // namespace nl
