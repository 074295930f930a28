// image/nifti.cpp: NIfTI-1 / NIfTI-2 reading and writing (.nii and .nii.gz).
//
// Header decoding uses Debian's nifti_clib 3 (nifti2_io.h), which understands both
// versions and both byte orders. A .nii.gz is inflated whole by libdeflate when it
// fits the memory budget (a fast path), otherwise streamed through zlib. nifti_clib's own file reader is not used: it reports
// problems on stderr and by NULL returns, so a truncated or malformed file would give
// no useful message. Instead this file
//   1. reads the raw header bytes through zlib (which reads .nii.gz and, transparently,
//      plain .nii), checks size field, magic, dims, datatype, offset, the bytes the
//      voxels need against the memory budget and the file size, and only then
//   2. builds and validates the geometry as nibabel does (header_grid; nifti_clib's
//      nifti_quatern_to_dmat44 for the quaternion math), and
//   3. streams the voxel data through zlib in chunks, converting to float32 as it goes
//      (and, for a label image, to exact integers).
// Writing fills a nifti_image, converts it with nifti_convert_nim2n{1,2}hdr and writes
// header + data through zlib into a temporary file that is then renamed over the target.
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <libdeflate.h>
#include <nifti2_io.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <type_traits>

#include "nl/core/core.hpp"
#include "nl/io/fileio.hpp"
#include "nl/io/provenance.hpp"
#include "nl/image/image.hpp"
#include "nl/core/memory.hpp"
#include "nl/core/warnings.hpp"

namespace nl {

// ---------------------------------------------------------------- helpers

namespace {

// nifti_clib prints diagnostics on stderr at debug level > 0; keep it quiet.
void quiet_nifti() {
  static std::once_flag once;
  std::call_once(once, [] { nifti_set_debug_level(0); });
}

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using Gz = std::unique_ptr<gzFile_s, GzCloser>;

struct NimFree {
  void operator()(nifti_image* n) const { nifti_image_free(n); }
};
using Nim = std::unique_ptr<nifti_image, NimFree>;

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// zlib's message for the last error on f, or "".
std::string gz_message(gzFile f) {
  int err = Z_OK;
  const char* msg = gzerror(f, &err);
  if (err == Z_OK || !msg) return "";
  if (err == Z_ERRNO) return std::strerror(errno);
  // zlib prefixes the path ("file.nii.gz: unexpected end of file"); the caller names it.
  std::string m = msg;
  const std::size_t colon = m.rfind(": ");
  return colon == std::string::npos ? m : m.substr(colon + 2);
}

// Reads up to n bytes (in chunks gzread accepts); returns the count read.
std::size_t read_bytes(gzFile f, void* dst, std::size_t n) {
  auto* p = static_cast<unsigned char*>(dst);
  std::size_t got = 0;
  while (got < n) {
    const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - got, 1u << 30));
    const int r = gzread(f, p + got, chunk);
    if (r <= 0) break;
    got += static_cast<std::size_t>(r);
  }
  return got;
}

struct TypeInfo {
  int code;
  DataType type;
  int bytes;
};
constexpr TypeInfo kTypes[] = {
    {DT_UINT8, DataType::UInt8, 1},    {DT_INT8, DataType::Int8, 1},       {DT_INT16, DataType::Int16, 2},
    {DT_UINT16, DataType::UInt16, 2},  {DT_INT32, DataType::Int32, 4},     {DT_UINT32, DataType::UInt32, 4},
    {DT_INT64, DataType::Int64, 8},    {DT_UINT64, DataType::UInt64, 8},   {DT_FLOAT32, DataType::Float32, 4},
    {DT_FLOAT64, DataType::Float64, 8},
};

const TypeInfo* type_by_code(int code) {
  for (const auto& t : kTypes)
    if (t.code == code) return &t;
  return nullptr;
}
const TypeInfo& type_info(DataType type) {
  for (const auto& t : kTypes)
    if (t.type == type) return t;
  return kTypes[8];
}

const char* nifti_type_label(int code) {
  switch (code) {
    case DT_BINARY: return "binary";
    case DT_COMPLEX64: return "complex64";
    case DT_RGB24: return "rgb24";
    case DT_FLOAT128: return "float128";
    case DT_COMPLEX128: return "complex128";
    case DT_COMPLEX256: return "complex256";
    case DT_RGBA32: return "rgba32";
    default: return "unknown";
  }
}

template <class T>
void reverse_bytes(T& x) {
  auto* b = reinterpret_cast<unsigned char*>(&x);
  std::reverse(b, b + sizeof(T));
}

// n values of type T at src (file byte order) -> float, with optional byte swap and
// scaling (computed in double, as nibabel does, then rounded once to float). Returns
// the index of the first finite value that scaling (or a float64 file) took beyond
// float32's range (n if none): nibabel keeps such values in float64, float32 storage
// would make them inf.
template <class T>
std::size_t convert(const unsigned char* src, float* dst, std::size_t n, bool swap, bool scaled, double slope,
                    double inter) {
  std::size_t overflow = n;
  for (std::size_t i = 0; i < n; ++i) {
    T x;
    std::memcpy(&x, src + i * sizeof(T), sizeof(T));
    if (swap) reverse_bytes(x);
    if (!scaled) {
      dst[i] = static_cast<float>(x);
      if constexpr (std::is_same_v<T, double>)  // float64 beyond float32's range
        if (!std::isfinite(dst[i]) && std::isfinite(x) && overflow == n) overflow = i;
      continue;
    }
    dst[i] = static_cast<float>(static_cast<double>(x) * slope + inter);
    if (!std::isfinite(dst[i]) && std::isfinite(static_cast<double>(x)) && overflow == n) overflow = i;
  }
  return overflow;
}

std::size_t convert_any(DataType t, const unsigned char* src, float* dst, std::size_t n, bool swap, bool scaled,
                        double slope, double inter) {
  switch (t) {
    case DataType::UInt8: return convert<std::uint8_t>(src, dst, n, swap, scaled, slope, inter);
    case DataType::Int8: return convert<std::int8_t>(src, dst, n, swap, scaled, slope, inter);
    case DataType::Int16: return convert<std::int16_t>(src, dst, n, swap, scaled, slope, inter);
    case DataType::UInt16: return convert<std::uint16_t>(src, dst, n, swap, scaled, slope, inter);
    case DataType::Int32: return convert<std::int32_t>(src, dst, n, swap, scaled, slope, inter);
    case DataType::UInt32: return convert<std::uint32_t>(src, dst, n, swap, scaled, slope, inter);
    case DataType::Int64: return convert<std::int64_t>(src, dst, n, swap, scaled, slope, inter);
    case DataType::UInt64: return convert<std::uint64_t>(src, dst, n, swap, scaled, slope, inter);
    case DataType::Float32: return convert<float>(src, dst, n, swap, scaled, slope, inter);
    case DataType::Float64: return convert<double>(src, dst, n, swap, scaled, slope, inter);
  }
  return n;
}

// Label values: n values of type T at src -> exact integers. Returns the index of the
// first value that is not an exact integer of its type (n if none) and its value.
// Integer types are exact up to int64 (a uint64 above 2^63 - 1 is not); float32 is
// exact for integers up to 2^24 and float64 (and a scaled value, computed in double)
// up to 2^53: beyond, neighbouring integers share one value and labels would merge.
template <class T>
std::size_t convert_labels(const unsigned char* src, std::int64_t* dst, std::size_t n, bool swap, bool scaled,
                           double slope, double inter, double* bad) {
  constexpr double kFloatLimit = 16777216.0, kDoubleLimit = 9007199254740992.0;
  for (std::size_t i = 0; i < n; ++i) {
    T x;
    std::memcpy(&x, src + i * sizeof(T), sizeof(T));
    if (swap) reverse_bytes(x);
    if constexpr (std::is_integral_v<T>) {
      if (!scaled) {
        if constexpr (std::is_same_v<T, std::uint64_t>) {
          if (x > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            *bad = static_cast<double>(x);
            return i;
          }
        }
        dst[i] = static_cast<std::int64_t>(x);
        continue;
      }
    }
    const double y = scaled ? static_cast<double>(x) * slope + inter : static_cast<double>(x);
    const double limit = std::is_same_v<T, float> && !scaled ? kFloatLimit : kDoubleLimit;
    if (!std::isfinite(y) || y != std::floor(y) || std::fabs(y) > limit) {
      *bad = y;
      return i;
    }
    dst[i] = static_cast<std::int64_t>(y);
  }
  return n;
}

std::size_t convert_labels_any(DataType t, const unsigned char* src, std::int64_t* dst, std::size_t n, bool swap,
                               bool scaled, double slope, double inter, double* bad) {
  switch (t) {
    case DataType::UInt8: return convert_labels<std::uint8_t>(src, dst, n, swap, scaled, slope, inter, bad);
    case DataType::Int8: return convert_labels<std::int8_t>(src, dst, n, swap, scaled, slope, inter, bad);
    case DataType::Int16: return convert_labels<std::int16_t>(src, dst, n, swap, scaled, slope, inter, bad);
    case DataType::UInt16: return convert_labels<std::uint16_t>(src, dst, n, swap, scaled, slope, inter, bad);
    case DataType::Int32: return convert_labels<std::int32_t>(src, dst, n, swap, scaled, slope, inter, bad);
    case DataType::UInt32: return convert_labels<std::uint32_t>(src, dst, n, swap, scaled, slope, inter, bad);
    case DataType::Int64: return convert_labels<std::int64_t>(src, dst, n, swap, scaled, slope, inter, bad);
    case DataType::UInt64: return convert_labels<std::uint64_t>(src, dst, n, swap, scaled, slope, inter, bad);
    case DataType::Float32: return convert_labels<float>(src, dst, n, swap, scaled, slope, inter, bad);
    case DataType::Float64: return convert_labels<double>(src, dst, n, swap, scaled, slope, inter, bad);
  }
  return n;
}

// The header fields this reader needs, in native byte order, from either version.
struct Fields {
  int version = 1;
  std::int64_t dim[8]{};
  int datatype = 0;
  double pixdim[8]{};
  double vox_offset = 0;
  double scl_slope = 0, scl_inter = 0, cal_min = 0, cal_max = 0, slice_duration = 0, toffset = 0;
  std::int64_t slice_start = 0, slice_end = 0;
  int qform_code = 0, sform_code = 0, slice_code = 0, xyzt_units = 0, intent_code = 0, dim_info = 0;
  double intent_p[3]{};
  double quatern[3]{}, qoffset[3]{};
  double srow[3][4]{};
  std::string descrip, intent_name;
};

std::string fixed_string(const char* s, std::size_t n) { return std::string(s, strnlen(s, n)); }

// Raw header bytes for a message: printable ASCII as is, anything else as \xNN.
std::string escape(const char* s, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    out += (c >= 32 && c < 127 && c != '\\') ? std::string(1, static_cast<char>(c)) : fmt::format("\\x{:02x}", c);
  }
  return out;
}

template <class H>
Fields extract(const H& h, int version) {
  Fields f;
  f.version = version;
  for (int i = 0; i < 8; ++i) {
    f.dim[i] = h.dim[i];
    f.pixdim[i] = h.pixdim[i];
  }
  f.datatype = h.datatype;
  f.vox_offset = static_cast<double>(h.vox_offset);
  f.scl_slope = h.scl_slope;
  f.scl_inter = h.scl_inter;
  f.cal_min = h.cal_min;
  f.cal_max = h.cal_max;
  f.slice_duration = h.slice_duration;
  f.toffset = h.toffset;
  f.slice_start = h.slice_start;
  f.slice_end = h.slice_end;
  f.qform_code = h.qform_code;
  f.sform_code = h.sform_code;
  f.slice_code = static_cast<unsigned char>(h.slice_code);
  f.xyzt_units = static_cast<unsigned char>(h.xyzt_units);
  f.intent_code = h.intent_code;
  f.intent_p[0] = h.intent_p1;
  f.intent_p[1] = h.intent_p2;
  f.intent_p[2] = h.intent_p3;
  f.quatern[0] = h.quatern_b;
  f.quatern[1] = h.quatern_c;
  f.quatern[2] = h.quatern_d;
  f.qoffset[0] = h.qoffset_x;
  f.qoffset[1] = h.qoffset_y;
  f.qoffset[2] = h.qoffset_z;
  for (int c = 0; c < 4; ++c) {
    f.srow[0][c] = h.srow_x[c];
    f.srow[1][c] = h.srow_y[c];
    f.srow[2][c] = h.srow_z[c];
  }
  f.dim_info = static_cast<unsigned char>(h.dim_info);
  f.descrip = fixed_string(h.descrip, sizeof h.descrip);
  f.intent_name = fixed_string(h.intent_name, sizeof h.intent_name);
  return f;
}

// ---------------------------------------------------------------- libdeflate fast path

// Per-thread buffers reused from one file to the next (no page faults after the first
// file), released when they grow beyond 256 MB.
struct Scratch {
  std::unique_ptr<unsigned char[]> data;
  std::size_t size = 0;
  unsigned char* get(std::size_t n) {
    if (size < n) {
      data.reset(new unsigned char[n]);  // uninitialized on purpose
      size = n;
    }
    return data.get();
  }
};
thread_local Scratch t_compressed, t_inflated;

void release_scratch() {
  constexpr std::size_t kKeep = std::size_t{256} << 20;
  for (Scratch* s : {&t_compressed, &t_inflated})
    if (s->size > kKeep) *s = Scratch{};
}

struct DecompressorFree {
  void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
};

// The first `want` bytes of the (possibly multi-member) gzip file at path, inflated by
// libdeflate, or nullptr when this fast path does not apply: a read error, corrupt or
// truncated data, or a stream longer than `want`. The caller then streams the file
// through zlib, which gives the error message or the data. Why: Debian's zlib spent a
// fifth of its time in crc32 and inflated a 8.5 MB map in 12 ms against libdeflate's 7.
const unsigned char* inflate_all(const std::string& path, std::uint64_t file_size, std::size_t want) {
  thread_local std::unique_ptr<libdeflate_decompressor, DecompressorFree> d(libdeflate_alloc_decompressor());
  if (!d) return nullptr;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return nullptr;
  unsigned char* in = t_compressed.get(static_cast<std::size_t>(file_size));
  const std::size_t in_n = std::fread(in, 1, static_cast<std::size_t>(file_size), f);
  std::fclose(f);
  if (in_n != file_size) return nullptr;
  unsigned char* out = t_inflated.get(want);
  std::size_t in_pos = 0, out_pos = 0;
  while (out_pos < want) {
    if (in_pos >= in_n) return nullptr;  // the data end early: truncated
    std::size_t used = 0, got = 0;
    if (libdeflate_gzip_decompress_ex(d.get(), in + in_pos, in_n - in_pos, out + out_pos, want - out_pos, &used,
                                      &got) != LIBDEFLATE_SUCCESS)
      return nullptr;
    in_pos += used;
    out_pos += got;
  }
  return out;
}

Affine to_affine(const nifti_dmat44& m) {
  Affine a;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) a(r, c) = m.m[r][c];
  return a;
}

nifti_dmat44 to_dmat(const Affine& a) {
  nifti_dmat44 m;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) m.m[r][c] = a(r, c);
  return m;
}

// nibabel's fallback affine when neither sform nor qform is set
// (nibabel.affines / SpatialHeader.get_base_affine): voxel sizes on the diagonal, x
// flipped, the grid centred on the origin.
Affine base_affine(const std::array<std::int64_t, 3>& dims, const std::array<double, 3>& zooms) {
  Affine a = Affine::Identity();
  for (int i = 0; i < 3; ++i) {
    const double z = (i == 0 ? -1.0 : 1.0) * zooms[static_cast<std::size_t>(i)];
    a(i, i) = z;
    a(i, 3) = -(static_cast<double>(dims[i]) - 1.0) / 2.0 * z;
  }
  return a;
}

// The grid of a validated header: nibabel's best affine (sform when sform_code > 0,
// else qform when qform_code > 0, else base_affine), after nibabel's header repairs
// (Nifti1Header._chk_pixdims and _chk_qfac, applied on load): voxel sizes of 0 become
// 1, negative ones their absolute value, a qfac other than -1 and 1 becomes 1; a
// repaired voxel size that the affine uses is a warning naming the file. Non-finite fields that the best affine uses are
// a FileError: nibabel would give a NaN affine, ITK's VNL aborts on one.
Grid header_grid(const Fields& h, const std::array<std::int64_t, 3>& dims, const std::string& path) {
  auto fail = [&](const std::string& what) { return FileError(fmt::format("'{}': {}", path, what)); };
  Grid g;
  g.dims = dims;
  g.qform_code = h.qform_code;
  g.sform_code = h.sform_code;
  g.sform = Affine::Identity();
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c) g.sform(r, c) = h.srow[r][c];
  for (int i = 0; i < 3; ++i) {
    g.quatern[static_cast<std::size_t>(i)] = h.quatern[i];
    g.qoffset[static_cast<std::size_t>(i)] = h.qoffset[i];
  }
  std::vector<std::string> repairs;
  for (int i = 0; i < 3; ++i) {
    double z = h.pixdim[i + 1];
    if (z == 0) {
      repairs.push_back(fmt::format("pixdim[{}] is 0, taken as 1", i + 1));
      z = 1;
    } else if (z < 0) {
      repairs.push_back(fmt::format("pixdim[{}] is {}, taken as {}", i + 1, z, -z));
      z = -z;
    }
    g.pixdim[static_cast<std::size_t>(i)] = z;
  }
  // nibabel sets a qfac other than -1 to 1 at its INFO level (0 is common): silently.
  g.qfac = h.pixdim[0] == -1.0 ? -1.0 : 1.0;
  // The voxel-size repairs matter (and are reported) only when no sform decides.
  if (h.sform_code > 0) repairs.clear();

  static const char* const xyz[3] = {"x", "y", "z"};
  const auto val = [](double x) { return std::isnan(x) ? std::string("NaN") : fmt::format("{}", x); };
  if (h.sform_code > 0) {
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 4; ++c)
        if (!std::isfinite(h.srow[r][c]))
          throw fail(fmt::format("the sform (used because sform_code is {}) holds a non-finite value, srow_{}[{}] = "
                                 "{}; the image's position in space is unknown",
                                 h.sform_code, xyz[r], c, val(h.srow[r][c])));
    g.affine = g.sform;
  } else {
    // The voxel sizes decide the affine (qform or base affine).
    for (int i = 0; i < 3; ++i)
      if (!std::isfinite(g.pixdim[static_cast<std::size_t>(i)]))
        throw fail(fmt::format("the voxel size pixdim[{}] is {} and no sform gives the voxel sizes; the image's "
                               "geometry is unknown",
                               i + 1, val(g.pixdim[static_cast<std::size_t>(i)])));
    if (h.qform_code > 0) {
      static const char* const q[3] = {"quatern_b", "quatern_c", "quatern_d"};
      static const char* const o[3] = {"qoffset_x", "qoffset_y", "qoffset_z"};
      for (int i = 0; i < 3; ++i) {
        if (!std::isfinite(h.quatern[i]))
          throw fail(fmt::format("the qform (used because qform_code is {} and sform_code {}) holds a non-finite "
                                 "value, {} = {}; the image's orientation is unknown",
                                 h.qform_code, h.sform_code, q[i], val(h.quatern[i])));
        if (!std::isfinite(h.qoffset[i]))
          throw fail(fmt::format("the qform (used because qform_code is {} and sform_code {}) holds a non-finite "
                                 "value, {} = {}; the image's position in space is unknown",
                                 h.qform_code, h.sform_code, o[i], val(h.qoffset[i])));
      }
      g.affine = to_affine(nifti_quatern_to_dmat44(h.quatern[0], h.quatern[1], h.quatern[2], h.qoffset[0],
                                                   h.qoffset[1], h.qoffset[2], g.pixdim[0], g.pixdim[1],
                                                   g.pixdim[2], g.qfac));
    } else {
      g.affine = base_affine(dims, g.pixdim);
    }
  }
  const std::string problem = grid_problem(g);
  if (!problem.empty()) throw fail(fmt::format("unusable geometry in the header: {}", problem));
  if (!repairs.empty())
    warn(fmt::format("'{}': {} (as nibabel repairs the header)", path, fmt::join(repairs, "; ")));
  return g;
}

}  // namespace

// ---------------------------------------------------------------- loading

namespace {

// load_volume, and with `labels` set, load_label_image's exact integer labels too.
Volume load(const std::string& path, std::vector<std::int64_t>* labels) {
  check_read_access(path);
  quiet_nifti();
  auto fail = [&](const std::string& what) { return FileError(fmt::format("'{}': {}", path, what)); };

  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) throw FileError(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  // a FIFO would block gzopen forever, a device never ends (nl::file_kind)
  if (!S_ISREG(st.st_mode)) throw FileError(fmt::format("cannot open '{}': it is {}", path, file_kind(st.st_mode)));
  Gz f(gzopen(path.c_str(), "rb"));
  if (!f) throw FileError(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  gzbuffer(f.get(), 1u << 18);

  // --- raw header: size field and magic decide the version and byte order
  unsigned char raw[540];
  std::size_t got = read_bytes(f.get(), raw, 348);
  if (got < 348) {
    const std::string gz = gz_message(f.get());
    throw fail(gz.empty() ? fmt::format("too short to be a NIfTI file ({} bytes; the NIfTI-1 header alone is 348)", got)
                          : fmt::format("cannot read the header ({}); the file is truncated or not gzip data", gz));
  }
  std::int32_t size_field;
  std::memcpy(&size_field, raw, 4);
  std::int32_t swapped_field = size_field;
  reverse_bytes(swapped_field);
  int version = 0;
  bool swap = false;
  if (size_field == 348 || swapped_field == 348) version = 1, swap = size_field != 348;
  if (size_field == 540 || swapped_field == 540) version = 2, swap = size_field != 540;
  if (version == 0)
    throw fail(fmt::format("not a NIfTI file: the header size field is {} (expected 348 for NIfTI-1 or 540 for NIfTI-2)",
                           size_field));
  if (version == 2) {
    got += read_bytes(f.get(), raw + 348, 540 - 348);
    if (got < 540) throw fail("truncated inside the NIfTI-2 header");
  }
  const char* magic = reinterpret_cast<const char*>(raw + (version == 1 ? 344 : 4));
  if (version == 1 && std::memcmp(magic, "n+1\0", 4) != 0) {
    if (std::memcmp(magic, "ni1\0", 4) == 0)
      throw fail("is the header of a two-file NIfTI pair (.hdr/.img); only single-file .nii is supported");
    if (std::all_of(magic, magic + 4, [](char c) { return c == 0; }))
      throw fail("has no NIfTI magic (an ANALYZE 7.5 header?); only NIfTI-1 and NIfTI-2 are supported");
    throw fail(fmt::format("wrong magic number '{}' at byte 344 (expected 'n+1')", escape(magic, 4)));
  }
  if (version == 2 && std::memcmp(magic, "n+2\0\r\n\032\n", 8) != 0) {
    if (std::memcmp(magic, "ni2\0", 4) == 0)
      throw fail("is the header of a two-file NIfTI-2 pair (.hdr/.img); only single-file .nii is supported");
    throw fail(fmt::format("wrong magic number '{}' at byte 4 (expected 'n+2')", escape(magic, 8)));
  }

  // --- native-order copy of the fields, validated before anything is allocated
  Fields h;
  if (version == 1) {
    nifti_1_header h1;
    std::memcpy(&h1, raw, sizeof h1);
    if (swap) swap_nifti_header(&h1, 1);
    h = extract(h1, 1);
  } else {
    nifti_2_header h2;
    std::memcpy(&h2, raw, sizeof h2);
    if (swap) swap_nifti_header(&h2, 2);
    h = extract(h2, 2);
  }
  const std::int64_t ndim = h.dim[0];
  if (ndim < 1 || ndim > 7) throw fail(fmt::format("header dim[0] is {} (the number of dimensions must be 1 to 7)", ndim));
  for (int i = 1; i <= ndim; ++i)
    if (h.dim[i] < 1) throw fail(fmt::format("dimension {} is {} in the header (dimensions must be positive)", i, h.dim[i]));
  for (int i = 5; i <= ndim; ++i)
    if (h.dim[i] != 1)
      throw fail(fmt::format("has {} dimensions (dim[{}] = {}); only 3-D and 4-D images are supported", ndim, i, h.dim[i]));
  const TypeInfo* ti = type_by_code(h.datatype);
  if (!ti)
    throw fail(fmt::format("datatype {} ({}) is not supported (supported: uint8, int8, int16, uint16, int32, uint32, "
                           "int64, uint64, float32, float64)",
                           h.datatype, nifti_type_label(h.datatype)));
  // A single-file NIfTI stores its voxels after the header and the 4-byte extension
  // flag: from byte 352 (NIfTI-1) or 544 (NIfTI-2). nibabel refuses a smaller non-zero
  // vox_offset and reads from byte 0 when it is 0 (the header taken as voxels); both
  // are refused here, as reading from anywhere else would shift every voxel.
  const double min_offset = version == 1 ? 352 : 544;
  if (!(h.vox_offset >= min_offset) || h.vox_offset > 1e15)
    throw fail(fmt::format("vox_offset is {} in the header{}; a single-file NIfTI-{} stores its voxels from byte {} "
                           "or later (after the header and its extension flag)",
                           h.vox_offset, h.vox_offset == 0 ? " (unset)" : "", version, min_offset));
  const auto offset = static_cast<std::int64_t>(h.vox_offset);

  std::array<std::int64_t, 3> dims{1, 1, 1};
  for (int i = 0; i < 3 && i < ndim; ++i) dims[i] = h.dim[i + 1];
  const std::int64_t frames = ndim >= 4 ? h.dim[4] : 1;
  // Products in long double: dims up to 2^63 each cannot overflow it.
  const long double nvox_ld = static_cast<long double>(dims[0]) * dims[1] * dims[2] * frames;
  const long double src_bytes_ld = nvox_ld * ti->bytes;
  const long double need_ld = nvox_ld * sizeof(float);
  const std::uint64_t budget = memory_budget();
  if (need_ld > static_cast<long double>(budget))
    throw fail(fmt::format("header dimensions {}x{}x{}x{} would need {} of memory, more than the budget of {} "
                           "(see nl.memory_budget)",
                           dims[0], dims[1], dims[2], frames, format_bytes(static_cast<double>(need_ld)),
                           format_bytes(static_cast<double>(budget))));
  const auto nvox = static_cast<std::size_t>(nvox_ld);
  const auto src_bytes = static_cast<std::uint64_t>(src_bytes_ld);
  const bool compressed = gzdirect(f.get()) == 0;
  const auto file_size = static_cast<std::uint64_t>(st.st_size);
  if (!compressed && file_size < static_cast<std::uint64_t>(offset) + src_bytes)
    throw fail(fmt::format("truncated: the header needs {} bytes of voxel data from byte {}, the file has {} bytes",
                           src_bytes, offset, file_size));
  // Deflate cannot compress better than about 1032:1, so a small .nii.gz whose header
  // promises far more data is truncated or corrupt; refuse before allocating.
  if (compressed && static_cast<long double>(offset) + src_bytes_ld > 1032.0L * file_size + (1 << 20))
    throw fail(fmt::format("truncated or corrupt: the header promises {} bytes of voxel data, more than a {}-byte "
                           "gzip file can hold",
                           src_bytes, file_size));

  // --- geometry, validated (header_grid)
  const Grid g = header_grid(h, dims, path);

  // nibabel's get_slope_inter: no scaling when the slope is 0 or not finite; a valid
  // slope with a non-finite intercept is an error.
  const double slope = h.scl_slope, inter = h.scl_inter;
  bool scaled = std::isfinite(slope) && slope != 0.0;
  if (scaled && !std::isfinite(inter))
    throw fail(fmt::format("scl_slope is {:.7g} but scl_inter is {} (not finite), so the voxel values are unknown",
                           slope, std::isnan(inter) ? "NaN" : fmt::format("{}", inter)));
  if (scaled && slope == 1.0 && inter == 0.0) scaled = false;

  Volume v;
  try {
    v = Volume(g, frames, ndim >= 4, Volume::Uninitialized{});
  } catch (const std::bad_alloc&) {
    throw fail(fmt::format("not enough memory for {}x{}x{}x{} voxels ({})", dims[0], dims[1], dims[2], frames,
                           format_bytes(static_cast<double>(need_ld))));
  }
  VolumeInfo& in = v.info;
  in.source_type = ti->type;
  in.scaled = scaled;
  in.nifti_version = version;
  in.pixdim_t = ndim >= 4 ? h.pixdim[4] : 0.0;
  in.xyz_units = h.xyzt_units & 0x07;
  in.time_units = h.xyzt_units & 0x38;
  in.toffset = h.toffset;
  in.intent_code = h.intent_code;
  for (int i = 0; i < 3; ++i) in.intent_p[static_cast<std::size_t>(i)] = h.intent_p[i];
  in.intent_name = h.intent_name;
  in.descrip = h.descrip;
  in.cal_min = h.cal_min;
  in.cal_max = h.cal_max;
  in.freq_dim = h.dim_info & 3;
  in.phase_dim = (h.dim_info >> 2) & 3;
  in.slice_dim = (h.dim_info >> 4) & 3;
  in.slice_code = h.slice_code;
  in.slice_start = h.slice_start;
  in.slice_end = h.slice_end;
  in.slice_duration = h.slice_duration;
  in.path = path;

  // --- voxel values: n voxels from the file bytes at src, starting at voxel `at`
  float* dst = v.data();
  if (labels) labels->resize(nvox);
  const auto where = [&](std::size_t i) {
    const std::size_t vox = i % g.voxels();
    const auto nx = static_cast<std::size_t>(dims[0]), ny = static_cast<std::size_t>(dims[1]);
    return fmt::format("voxel ({}, {}, {}) (1-based){}", vox % nx + 1, (vox / nx) % ny + 1, vox / (nx * ny) + 1,
                       frames > 1 ? fmt::format(", frame {}", i / g.voxels() + 1) : "");
  };
  const auto take = [&](const unsigned char* src, std::size_t at, std::size_t n) {
    if (labels) {  // first: src may be dst itself, converted in place below
      double bad = 0;
      const std::size_t i = convert_labels_any(ti->type, src, labels->data() + at, n, swap, scaled, slope, inter, &bad);
      if (i < n) {
        const bool integral = std::isfinite(bad) && bad == std::floor(bad);
        throw fail(fmt::format(
            "the label image has the {} value {} at {}; {}", integral ? "inexact" : "non-integer", bad, where(at + i),
            !integral ? "an atlas needs integer labels"
                      : fmt::format("a {}{} label image cannot tell integers of that size apart (labels would "
                                    "merge); store the labels as an integer type such as int32",
                                    datatype_name(ti->type), scaled ? " (scaled)" : "")));
      }
    }
    std::size_t i = n;
    if (ti->type == DataType::Float32 && !swap && !scaled) {
      if (reinterpret_cast<const unsigned char*>(dst + at) != src) std::memcpy(dst + at, src, n * sizeof(float));
    } else {
      i = convert_any(ti->type, src, dst + at, n, swap, scaled, slope, inter);
    }
    if (i < n) {
      if (!scaled)
        throw fail(fmt::format("the float64 value at {} is beyond the range of float32 (about 3.4e38), the type "
                               "voxels are held in",
                               where(at + i)));
      throw fail(fmt::format("scl_slope {:.7g} and scl_inter {:.7g} scale the value at {} to {}, beyond the range of "
                             "float32 (about 3.4e38), the type voxels are held in",
                             slope, inter, where(at + i), dst[at + i]));
    }
  };

  // --- .nii.gz fast path: the whole file inflated at once by libdeflate
  if (compressed) {
    const std::uint64_t want = static_cast<std::uint64_t>(offset) + src_bytes;
    if (static_cast<long double>(want) + file_size + need_ld <= static_cast<long double>(budget))
      if (const unsigned char* raw_data = inflate_all(path, file_size, static_cast<std::size_t>(want))) {
        try {
          take(raw_data + offset, 0, nvox);
        } catch (...) {
          release_scratch();
          throw;
        }
        release_scratch();
        record_input(path);
        return v;
      }
    release_scratch();
  }

  // --- voxel data, streamed in chunks through zlib and converted to float32
  if (gzseek(f.get(), static_cast<z_off_t>(offset), SEEK_SET) < 0)
    throw fail(fmt::format("cannot reach the voxel data at byte {} ({})", offset, gz_message(f.get())));
  const bool direct = ti->type == DataType::Float32;
  constexpr std::size_t kChunk = std::size_t{1} << 22;  // voxels per read
  std::vector<unsigned char> scratch(direct ? 0 : std::min(nvox, kChunk) * static_cast<std::size_t>(ti->bytes));
  for (std::size_t done = 0; done < nvox;) {
    check_interrupt();
    const std::size_t n = std::min(kChunk, nvox - done);
    const std::size_t want = n * static_cast<std::size_t>(ti->bytes);
    unsigned char* buf = direct ? reinterpret_cast<unsigned char*>(dst + done) : scratch.data();
    const std::size_t r = read_bytes(f.get(), buf, want);
    if (r < want) {
      const std::string gz = gz_message(f.get());
      throw fail(fmt::format("truncated: read {} of the {} bytes of voxel data{}",
                             done * static_cast<std::size_t>(ti->bytes) + r, src_bytes,
                             gz.empty() ? "" : " (" + gz + ")"));
    }
    take(buf, done, n);
    done += n;
  }
  record_input(path);
  return v;
}

}  // namespace

Volume load_volume(const std::string& path) { return load(path, nullptr); }

LabelImage load_label_image(const std::string& path) {
  LabelImage out;
  out.volume = load(path, &out.labels);
  return out;
}

std::vector<std::shared_ptr<Volume>> load_volumes(const std::vector<std::string>& paths) {
  std::vector<std::shared_ptr<Volume>> out(paths.size());
  const std::size_t n = paths.size();
  try {
    parallel_for(n, [&](std::size_t i) {
      try {
        out[i] = std::make_shared<Volume>(load_volume(paths[i]));
      } catch (const FileError& e) {
        throw FileError(fmt::format("file {} of {}: {}", i + 1, n, e.what()));
      } catch (const std::bad_alloc&) {
        throw FileError(fmt::format("file {} of {}: not enough memory to load '{}'", i + 1, n, paths[i]));
      }
    });
  } catch (...) {
    out.clear();  // release what was loaded before rethrowing
    throw;
  }
  return out;
}

// ---------------------------------------------------------------- saving

DataType output_datatype(const Volume& v, const SaveOptions& options) {
  const float* p = v.data();
  const std::size_t n = v.size();
  if (options.datatype) {
    const DataType t = *options.datatype;
    for (std::size_t i = 0; i < n; ++i)
      if (!representable(p[i], t)) {
        const std::size_t vox = i % v.voxels();
        const auto x = static_cast<std::int64_t>(vox % static_cast<std::size_t>(v.nx()));
        const auto y = static_cast<std::int64_t>((vox / static_cast<std::size_t>(v.nx())) % static_cast<std::size_t>(v.ny()));
        const auto z = static_cast<std::int64_t>(vox / static_cast<std::size_t>(v.nx() * v.ny()));
        throw ValueError(fmt::format("value {} at voxel ({}, {}, {}) (1-based){} cannot be stored exactly as {}",
                                     p[i], x + 1, y + 1, z + 1,
                                     v.frames() > 1 ? fmt::format(", frame {}", i / v.voxels() + 1) : "",
                                     datatype_name(t)));
      }
    return t;
  }
  const DataType src = v.info.source_type;
  if (src == DataType::Float32 || v.info.scaled) return DataType::Float32;
  for (std::size_t i = 0; i < n; ++i)
    if (!representable(p[i], src)) return DataType::Float32;
  return src;
}

namespace {

template <class T>
void pack(const float* src, unsigned char* dst, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const T x = static_cast<T>(src[i]);
    std::memcpy(dst + i * sizeof(T), &x, sizeof(T));
  }
}

void pack_any(DataType t, const float* src, unsigned char* dst, std::size_t n) {
  switch (t) {
    case DataType::UInt8: return pack<std::uint8_t>(src, dst, n);
    case DataType::Int8: return pack<std::int8_t>(src, dst, n);
    case DataType::Int16: return pack<std::int16_t>(src, dst, n);
    case DataType::UInt16: return pack<std::uint16_t>(src, dst, n);
    case DataType::Int32: return pack<std::int32_t>(src, dst, n);
    case DataType::UInt32: return pack<std::uint32_t>(src, dst, n);
    case DataType::Int64: return pack<std::int64_t>(src, dst, n);
    case DataType::UInt64: return pack<std::uint64_t>(src, dst, n);
    case DataType::Float32: return pack<float>(src, dst, n);
    case DataType::Float64: return pack<double>(src, dst, n);
  }
}

void copy_string(char* dst, std::size_t cap, const std::string& s) {
  std::memset(dst, 0, cap);
  std::memcpy(dst, s.data(), std::min(s.size(), cap - 1));
}

}  // namespace

void save_volume(const Volume& v, const std::string& path, const SaveOptions& options) {
  check_write_access(path);
  quiet_nifti();
  const bool gz = ends_with(path, ".nii.gz");
  if (!gz && !ends_with(path, ".nii"))
    throw ValueError(fmt::format("'{}': the file name must end in .nii or .nii.gz", path));
  if (v.size() == 0) throw ValueError("cannot save an empty volume");
  const DataType dt = output_datatype(v, options);
  int version = options.version ? options.version : v.info.nifti_version;
  const bool big = std::any_of(v.grid().dims.begin(), v.grid().dims.end(), [](std::int64_t d) { return d > 32767; }) ||
                   v.frames() > 32767;
  if (big && options.version == 1)
    throw ValueError(fmt::format("'{}': dimensions above 32767 need NIfTI-2 (version = 2)", path));
  if (big) version = 2;
  if (version != 1 && version != 2) throw ValueError(fmt::format("NIfTI version must be 1 or 2, got {}", version));

  // --- header through nifti_clib
  Nim nim(nifti_simple_init_nim());
  if (!nim) throw std::bad_alloc();
  const Grid& g = v.grid();
  const std::int64_t ndim = v.ndim();
  const std::int64_t dims[8] = {ndim, g.dims[0], g.dims[1], g.dims[2], ndim == 4 ? v.frames() : 1, 1, 1, 1};
  for (int i = 0; i < 8; ++i) nim->dim[i] = dims[i];
  nim->ndim = ndim;
  nim->nx = dims[1], nim->ny = dims[2], nim->nz = dims[3], nim->nt = dims[4];
  nim->nu = nim->nv = nim->nw = 1;
  nim->nvox = static_cast<std::int64_t>(v.size());
  const TypeInfo& ti = type_info(dt);
  nim->datatype = ti.code;
  nifti_datatype_sizes(ti.code, &nim->nbyper, &nim->swapsize);
  nim->pixdim[0] = g.qfac;
  for (int i = 0; i < 3; ++i) nim->pixdim[i + 1] = g.pixdim[static_cast<std::size_t>(i)];
  nim->pixdim[4] = ndim == 4 ? v.info.pixdim_t : 0.0;
  for (int i = 5; i < 8; ++i) nim->pixdim[i] = 0.0;
  nim->dx = nim->pixdim[1], nim->dy = nim->pixdim[2], nim->dz = nim->pixdim[3], nim->dt = nim->pixdim[4];
  nim->scl_slope = 1.0;
  nim->scl_inter = 0.0;
  nim->cal_min = v.info.cal_min;
  nim->cal_max = v.info.cal_max;
  nim->qform_code = g.qform_code;
  nim->sform_code = g.sform_code;
  nim->quatern_b = g.quatern[0], nim->quatern_c = g.quatern[1], nim->quatern_d = g.quatern[2];
  nim->qoffset_x = g.qoffset[0], nim->qoffset_y = g.qoffset[1], nim->qoffset_z = g.qoffset[2];
  nim->qfac = g.qfac;
  nim->sto_xyz = to_dmat(g.sform);
  nim->toffset = v.info.toffset;
  nim->xyz_units = v.info.xyz_units;
  nim->time_units = v.info.time_units;
  nim->intent_code = v.info.intent_code;
  nim->intent_p1 = v.info.intent_p[0], nim->intent_p2 = v.info.intent_p[1], nim->intent_p3 = v.info.intent_p[2];
  copy_string(nim->intent_name, sizeof nim->intent_name, v.info.intent_name);
  copy_string(nim->descrip, sizeof nim->descrip, v.info.descrip);
  nim->freq_dim = v.info.freq_dim, nim->phase_dim = v.info.phase_dim, nim->slice_dim = v.info.slice_dim;
  nim->slice_code = v.info.slice_code;
  nim->slice_start = v.info.slice_start, nim->slice_end = v.info.slice_end;
  nim->slice_duration = v.info.slice_duration;
  nim->nifti_type = version == 1 ? NIFTI_FTYPE_NIFTI1_1 : NIFTI_FTYPE_NIFTI2_1;
  nim->iname_offset = version == 1 ? 352 : 544;

  unsigned char header[544] = {};
  std::size_t header_size = 0;
  if (version == 1) {
    nifti_1_header h1;
    if (nifti_convert_nim2n1hdr(nim.get(), &h1) != 0) throw ValueError(fmt::format("'{}': cannot encode a NIfTI-1 header", path));
    h1.vox_offset = 352;
    std::memcpy(h1.magic, "n+1\0", 4);
    std::memcpy(header, &h1, sizeof h1);
    header_size = 352;  // header + 4-byte extender (no extensions)
  } else {
    nifti_2_header h2;
    if (nifti_convert_nim2n2hdr(nim.get(), &h2) != 0) throw ValueError(fmt::format("'{}': cannot encode a NIfTI-2 header", path));
    h2.vox_offset = 544;
    std::memcpy(h2.magic, "n+2\0\r\n\032\n", 8);
    std::memcpy(header, &h2, sizeof h2);
    header_size = 544;
  }

  // --- a hidden temporary file next to the target (nl::AtomicFile: fsync, rename,
  // fsync of the folder); zlib gets a duplicate descriptor, which gzclose closes
  // (AtomicFile's messages start with the path; the volume's say "cannot write 'path'")
  auto volume_error = [&](const FileError& e) {
    std::string why = e.what();
    if (why.rfind(path + ": ", 0) == 0) why.erase(0, path.size() + 2);
    return FileError(fmt::format("cannot write '{}': {}", path, why));
  };
  std::optional<AtomicFile> temp;
  try {
    temp.emplace(path);
  } catch (const FileError& e) {
    throw volume_error(e);
  }
  const int fd = ::dup(temp->fd());
  if (fd < 0) throw FileError(fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
  const std::string mode = gz ? fmt::format("wb{}", std::clamp(options.compression, 1, 9)) : std::string("wbT");
  gzFile out = gzdopen(fd, mode.c_str());
  if (!out) {
    ::close(fd);
    throw FileError(fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
  }
  auto write_all = [&](const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    while (n > 0) {
      const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n, 1u << 30));
      if (gzwrite(out, b, chunk) != static_cast<int>(chunk)) return false;
      b += chunk;
      n -= chunk;
    }
    return true;
  };
  bool ok = write_all(header, header_size);
  constexpr std::size_t kChunk = std::size_t{1} << 20;
  std::vector<unsigned char> buf(dt == DataType::Float32 ? 0 : kChunk * static_cast<std::size_t>(ti.bytes));
  for (std::size_t done = 0; ok && done < v.size();) {
    const std::size_t n = std::min(kChunk, v.size() - done);
    if (dt == DataType::Float32) {
      ok = write_all(v.data() + done, n * sizeof(float));
    } else {
      pack_any(dt, v.data() + done, buf.data(), n);
      ok = write_all(buf.data(), n * static_cast<std::size_t>(ti.bytes));
    }
    done += n;
  }
  std::string why = ok ? "" : gz_message(out);
  const int closed = gzclose(out);
  if (ok && closed != Z_OK) {
    ok = false;
    why = closed == Z_ERRNO ? std::strerror(errno) : "compression error";
  }
  if (!ok) throw FileError(fmt::format("cannot write '{}': {}", path, why.empty() ? "write failed" : why));
  try {
    temp->commit();
  } catch (const FileError& e) {
    throw volume_error(e);
  }
}

// ---------------------------------------------------------------- grids from affines

Grid make_grid(const std::array<std::int64_t, 3>& dims, const Affine& affine, int code) {
  Grid g;
  g.dims = dims;
  g.affine = affine;
  check_grid(g, "grid");
  g.sform = affine;
  g.sform_code = code;
  g.pixdim = {affine.block<3, 1>(0, 0).norm(), affine.block<3, 1>(0, 1).norm(), affine.block<3, 1>(0, 2).norm()};
  // The qform can hold the affine only when its columns are orthogonal.
  const Eigen::Matrix3d d = g.direction();
  if ((d.transpose() * d - Eigen::Matrix3d::Identity()).cwiseAbs().maxCoeff() < 1e-6) {
    double b, c, dd, qx, qy, qz, dx, dy, dz, qfac;
    nifti_dmat44_to_quatern(to_dmat(affine), &b, &c, &dd, &qx, &qy, &qz, &dx, &dy, &dz, &qfac);
    g.quatern = {b, c, dd};
    g.qoffset = {qx, qy, qz};
    g.qfac = qfac;
    g.qform_code = code;
  }
  return g;
}

}  // namespace nl
