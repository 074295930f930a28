// io/voxel_store.cpp: the out-of-core voxel store (see voxel_store.hpp for the layout and
// the choice of chunks) through HDF5's C API.
//
// Every HDF5 call runs under h5_mutex (voxel_store.hpp, "Thread safety"); handles are
// closed by Hid's destructor, which also runs under the mutex because every Hid lives
// inside a locked region. HDF5's own error printing is switched off: failures become a
// FileError naming the file, with the innermost messages of HDF5's error stack.
#include "nl/io/voxel_store.hpp"

#include <fmt/format.h>
#include <hdf5.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <mutex>

#include "nl/core/mpi.hpp"
#include "nl/io/fileio.hpp"
#include "nl/io/provenance.hpp"

namespace nl {

namespace {

constexpr const char* kFormatName = "neurolua voxel store";

// ---------------------------------------------------------------- HDF5 plumbing

std::mutex& h5_mutex() {
  static std::mutex m;
  return m;
}

// Called with the mutex held, before the first HDF5 call of a locked region.
void h5_init() {
  static bool done = false;
  if (done) return;
  H5open();
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors are reported as exceptions
  done = true;
}

// The descriptions on HDF5's error stack, outermost first ("" when empty).
std::string h5_message() {
  std::vector<std::string> lines;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned, const H5E_error2_t* e, void* data) -> herr_t {
        auto* out = static_cast<std::vector<std::string>*>(data);
        if (e->desc && *e->desc) out->emplace_back(e->desc);
        return 0;
      },
      &lines);
  H5Eclear2(H5E_DEFAULT);
  if (lines.empty()) return "";
  if (lines.size() == 1) return lines[0];
  return lines.front() + ": " + lines.back();
}

[[noreturn]] void h5_fail(const std::string& file, const std::string& what) {
  const std::string why = h5_message();
  throw FileError(why.empty() ? fmt::format("{}: {}", file, what) : fmt::format("{}: {} ({})", file, what, why));
}

// An HDF5 identifier closed on destruction (H5Idec_ref closes any kind).
class Hid {
 public:
  Hid() = default;
  explicit Hid(hid_t id) : id_(id) {}
  Hid(Hid&& o) noexcept : id_(o.id_) { o.id_ = -1; }
  Hid& operator=(Hid&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      o.id_ = -1;
    }
    return *this;
  }
  Hid(const Hid&) = delete;
  Hid& operator=(const Hid&) = delete;
  ~Hid() { reset(); }
  void reset() noexcept {
    if (id_ >= 0) H5Idec_ref(id_);
    id_ = -1;
  }
  hid_t get() const noexcept { return id_; }
  // Forgets the identifier without closing it (for a close whose error is checked).
  hid_t release() noexcept {
    const hid_t id = id_;
    id_ = -1;
    return id;
  }
  operator hid_t() const noexcept { return id_; }  // NOLINT: passed straight to the C API

 private:
  hid_t id_ = -1;
};

Hid checked(hid_t id, const std::string& file, const std::string& what) {
  if (id < 0) h5_fail(file, what);
  return Hid(id);
}
void checked(herr_t rc, const std::string& file, const std::string& what) {
  if (rc < 0) h5_fail(file, what);
}

// A file access list: the sec2 driver without HDF5's file locks. The store is written
// once under a private name (AtomicFile holds that file's lock) and never modified after
// its rename, so locks protect nothing, and they fail on many cluster file systems.
Hid file_access(const std::string& file) {
  Hid fapl = checked(H5Pcreate(H5P_FILE_ACCESS), file, "cannot create a file access list");
  checked(H5Pset_file_locking(fapl, false, true), file, "cannot switch file locking off");
  return fapl;
}

// ---------------------------------------------------------------- attributes

void put_attr(hid_t loc, const char* name, hid_t file_type, hid_t mem_type, const void* data,
              const std::vector<hsize_t>& shape, const std::string& file) {
  Hid space = checked(shape.empty() ? H5Screate(H5S_SCALAR)
                                    : H5Screate_simple(static_cast<int>(shape.size()), shape.data(), nullptr),
                      file, "cannot create a dataspace");
  Hid attr = checked(H5Acreate2(loc, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT), file,
                     fmt::format("cannot create attribute {}", name));
  checked(H5Awrite(attr, mem_type, data), file, fmt::format("cannot write attribute {}", name));
}
void put_int(hid_t loc, const char* name, std::int64_t v, const std::string& file) {
  put_attr(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &v, {}, file);
}
void put_ints(hid_t loc, const char* name, const std::vector<std::int64_t>& v, const std::string& file) {
  put_attr(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, v.data(), {v.size()}, file);
}
void put_doubles(hid_t loc, const char* name, const double* v, const std::vector<hsize_t>& shape,
                 const std::string& file) {
  put_attr(loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, v, shape, file);
}
void put_string(hid_t loc, const char* name, const std::string& s, const std::string& file) {
  Hid type = checked(H5Tcopy(H5T_C_S1), file, "cannot make a string type");
  checked(H5Tset_size(type, std::max<std::size_t>(s.size(), 1)), file, "cannot size a string type");
  checked(H5Tset_cset(type, H5T_CSET_UTF8), file, "cannot set a string type's character set");
  std::string padded = s;
  padded.resize(std::max<std::size_t>(s.size(), 1), '\0');
  put_attr(loc, name, type, type, padded.data(), {}, file);
}

// The attribute's values (any shape), converted to the memory type; FileError naming
// the file and the attribute when it is missing or has `count` values but not `want`.
void get_attr(hid_t loc, const char* name, hid_t mem_type, void* out, std::size_t want, const std::string& file) {
  if (H5Aexists(loc, name) <= 0) throw FileError(fmt::format("{}: attribute '{}' is missing", file, name));
  Hid attr = checked(H5Aopen(loc, name, H5P_DEFAULT), file, fmt::format("cannot open attribute {}", name));
  Hid space = checked(H5Aget_space(attr), file, "cannot read an attribute's dataspace");
  const hssize_t count = H5Sget_simple_extent_npoints(space);
  if (count != static_cast<hssize_t>(want))
    throw FileError(fmt::format("{}: attribute '{}' has {} values, expected {}", file, name, count, want));
  checked(H5Aread(attr, mem_type, out), file, fmt::format("cannot read attribute {}", name));
}
std::int64_t get_int(hid_t loc, const char* name, const std::string& file) {
  std::int64_t v = 0;
  get_attr(loc, name, H5T_NATIVE_INT64, &v, 1, file);
  return v;
}
std::string get_string(hid_t loc, const char* name, const std::string& file) {
  if (H5Aexists(loc, name) <= 0) throw FileError(fmt::format("{}: attribute '{}' is missing", file, name));
  Hid attr = checked(H5Aopen(loc, name, H5P_DEFAULT), file, fmt::format("cannot open attribute {}", name));
  Hid type = checked(H5Aget_type(attr), file, "cannot read an attribute's type");
  if (H5Tget_class(type) != H5T_STRING || H5Tis_variable_str(type) > 0)
    throw FileError(fmt::format("{}: attribute '{}' is not a fixed-length string", file, name));
  std::string s(H5Tget_size(type), '\0');
  Hid mem = checked(H5Tcopy(type), file, "cannot copy a string type");
  checked(H5Aread(attr, mem, s.data()), file, fmt::format("cannot read attribute {}", name));
  s.resize(std::strlen(s.c_str()));
  return s;
}

// ---------------------------------------------------------------- string lists

void put_strings(hid_t loc, const char* name, const std::vector<std::string>& v, const std::string& file) {
  Hid type = checked(H5Tcopy(H5T_C_S1), file, "cannot make a string type");
  checked(H5Tset_size(type, H5T_VARIABLE), file, "cannot make a variable-length string type");
  checked(H5Tset_cset(type, H5T_CSET_UTF8), file, "cannot set a string type's character set");
  const hsize_t n = v.size();
  Hid space = checked(H5Screate_simple(1, &n, nullptr), file, "cannot create a dataspace");
  Hid set = checked(H5Dcreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), file,
                    fmt::format("cannot create {}", name));
  std::vector<const char*> ptrs(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) ptrs[i] = v[i].c_str();
  checked(H5Dwrite(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), file, fmt::format("cannot write {}", name));
}
std::vector<std::string> get_strings(hid_t loc, const char* name, std::size_t want, const std::string& file) {
  Hid set = checked(H5Dopen2(loc, name, H5P_DEFAULT), file, fmt::format("cannot open {}", name));
  Hid space = checked(H5Dget_space(set), file, "cannot read a dataspace");
  if (H5Sget_simple_extent_npoints(space) != static_cast<hssize_t>(want))
    throw FileError(fmt::format("{}: {} has {} entries, expected {}", file, name, H5Sget_simple_extent_npoints(space),
                                want));
  Hid type = checked(H5Tcopy(H5T_C_S1), file, "cannot make a string type");
  checked(H5Tset_size(type, H5T_VARIABLE), file, "cannot make a variable-length string type");
  checked(H5Tset_cset(type, H5T_CSET_UTF8), file, "cannot set a string type's character set");
  std::vector<char*> ptrs(want, nullptr);
  checked(H5Dread(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), file, fmt::format("cannot read {}", name));
  std::vector<std::string> out(want);
  for (std::size_t i = 0; i < want; ++i) out[i] = ptrs[i] ? ptrs[i] : "";
  H5Dvlen_reclaim(type, space, H5P_DEFAULT, ptrs.data());
  return out;
}
template <class T>
void put_numbers(hid_t loc, const char* name, hid_t file_type, hid_t mem_type, const std::vector<T>& v,
                 const std::string& file) {
  const hsize_t n = v.size();
  Hid space = checked(H5Screate_simple(1, &n, nullptr), file, "cannot create a dataspace");
  Hid set = checked(H5Dcreate2(loc, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), file,
                    fmt::format("cannot create {}", name));
  checked(H5Dwrite(set, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), file, fmt::format("cannot write {}", name));
}
template <class T>
std::vector<T> get_numbers(hid_t loc, const char* name, hid_t mem_type, std::size_t want, const std::string& file) {
  Hid set = checked(H5Dopen2(loc, name, H5P_DEFAULT), file, fmt::format("cannot open {}", name));
  Hid space = checked(H5Dget_space(set), file, "cannot read a dataspace");
  if (H5Sget_simple_extent_npoints(space) != static_cast<hssize_t>(want))
    throw FileError(fmt::format("{}: {} has {} entries, expected {}", file, name, H5Sget_simple_extent_npoints(space),
                                want));
  std::vector<T> out(want);
  checked(H5Dread(set, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), file, fmt::format("cannot read {}", name));
  return out;
}

// ---------------------------------------------------------------- the build's checks

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Whether a and b name the same file (both existing), or the same path when b does not
// exist yet.
bool same_file(const std::string& a, const std::string& b) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) return fs::equivalent(a, b, ec);
  const auto ca = fs::weakly_canonical(fs::absolute(a, ec), ec), cb = fs::weakly_canonical(fs::absolute(b, ec), ec);
  return !ec && ca == cb;
}

// What is wrong with grid g (a map's or a series') against the mask's grid, or "".
std::string grid_differs(const Grid& g, const Grid& mask) {
  if (g.dims != mask.dims)
    return fmt::format("is {}x{}x{} but the mask is {}x{}x{} (every map must be on the mask's grid; resample it first)",
                       g.dims[0], g.dims[1], g.dims[2], mask.dims[0], mask.dims[1], mask.dims[2]);
  if (!g.same_as(mask)) {
    const double d = (g.affine - mask.affine).cwiseAbs().maxCoeff();
    return fmt::format("has the mask's dimensions but another affine (entries differ by up to {:.6g}; {} vs the "
                       "mask's {}): it is not on the mask's grid",
                       d, g.describe() + " " + g.orientation(), mask.describe() + " " + mask.orientation());
  }
  return "";
}

// What is wrong with map `v` (its path) against the mask's grid, or "".
std::string grid_mismatch(const Volume& v, const Grid& mask) {
  if (v.frames() > 1)
    return fmt::format("is 4-D ({} frames); a store takes one 3-D map per subject (split a 4-D file first, e.g. with "
                       "fslsplit or Volume:frame, or build a store of its frames with nl.store.build_series)",
                       v.frames());
  return grid_differs(v.grid(), mask);
}

// "NaN" or "an infinite value" at mask voxel q (0-based) of `index` on `grid`, placed.
std::string bad_value(float x, Index q, const std::vector<Index>& index, const Grid& grid) {
  const auto at = index[static_cast<std::size_t>(q)];
  const auto nx = grid.dims[0], ny = grid.dims[1];
  return fmt::format("{} inside the mask at voxel ({}, {}, {}) (0-based; mask voxel {} of {})",
                     std::isnan(x) ? "NaN" : "an infinite value", at % nx, (at / nx) % ny, at / (nx * ny), q + 1,
                     index.size());
}

// The record of map `path` just loaded: size and time now, the hash from the input log
// (load_volume logged it) or computed.
StoreSource source_of(const std::string& path, bool checksums) {
  StoreSource s;
  s.path = path;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    s.bytes = static_cast<std::uint64_t>(st.st_size);
    s.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  }
  if (checksums) {
    InputRecord r;
    if (find_recorded_input(path, r) && r.bytes == s.bytes && r.mtime_ns == s.mtime_ns) s.sha256 = r.sha256;
    else s.sha256 = sha256_hex(read_file(path));
  }
  return s;
}

void write_grid(hid_t root, const Grid& g, const std::string& file) {
  put_ints(root, "dims", {g.dims[0], g.dims[1], g.dims[2]}, file);
  double a[16], s[16];
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) a[i * 4 + j] = g.affine(i, j), s[i * 4 + j] = g.sform(i, j);
  put_doubles(root, "affine", a, {4, 4}, file);
  put_doubles(root, "sform", s, {4, 4}, file);
  put_int(root, "qform_code", g.qform_code, file);
  put_int(root, "sform_code", g.sform_code, file);
  put_doubles(root, "quatern", g.quatern.data(), {3}, file);
  put_doubles(root, "qoffset", g.qoffset.data(), {3}, file);
  put_doubles(root, "qfac", &g.qfac, {}, file);
  put_doubles(root, "pixdim", g.pixdim.data(), {3}, file);
}

Grid read_grid(hid_t root, const std::string& file) {
  Grid g;
  std::int64_t dims[3];
  get_attr(root, "dims", H5T_NATIVE_INT64, dims, 3, file);
  double a[16], s[16];
  get_attr(root, "affine", H5T_NATIVE_DOUBLE, a, 16, file);
  get_attr(root, "sform", H5T_NATIVE_DOUBLE, s, 16, file);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) g.affine(i, j) = a[i * 4 + j], g.sform(i, j) = s[i * 4 + j];
  g.dims = {dims[0], dims[1], dims[2]};
  g.qform_code = static_cast<int>(get_int(root, "qform_code", file));
  g.sform_code = static_cast<int>(get_int(root, "sform_code", file));
  get_attr(root, "quatern", H5T_NATIVE_DOUBLE, g.quatern.data(), 3, file);
  get_attr(root, "qoffset", H5T_NATIVE_DOUBLE, g.qoffset.data(), 3, file);
  get_attr(root, "qfac", H5T_NATIVE_DOUBLE, &g.qfac, 1, file);
  get_attr(root, "pixdim", H5T_NATIVE_DOUBLE, g.pixdim.data(), 3, file);
  const std::string problem = grid_problem(g);
  if (!problem.empty()) throw FileError(fmt::format("{}: the stored grid is unusable: {}", file, problem));
  return g;
}

// ---------------------------------------------------------------- the build (rank 0)

// The rows of a build: how many, what they are, and how to fill rows [r0, r0 + rows)
// of the batch (row-major, V floats per row, the mask's voxels in `index` order), each
// row checked. `sources` is filled by fill (maps) or beforehand (a series).
struct RowSource {
  StoreRows kind = StoreRows::Subjects;
  Index n = 0;
  std::function<void(Index r0, Index rows, float* batch, const std::vector<Index>& index)> fill;
  std::vector<StoreSource> sources;
};

std::vector<Index> mask_index(const Volume& mask) {
  std::vector<Index> index;
  for (std::size_t i = 0; i < mask.voxels(); ++i)
    if (mask.data()[i] != 0) index.push_back(static_cast<Index>(i));
  return index;
}

void build_here(const std::string& path, RowSource& src, const Volume& mask, const std::string& mask_source,
                const VoxelStoreOptions& o) {
  const Index n = src.n;
  const std::vector<Index> index = mask_index(mask);
  const auto V = static_cast<Index>(index.size());
  // Default: at most 64 subjects per chunk, n split evenly (200 subjects: 4 x 50, not
  // 3 x 64 + 8, whose last chunks would be stored padded to 64 rows).
  const Index row_blocks = (n + 63) / 64;
  const Index cs = o.chunk_subjects > 0 ? std::min(n, o.chunk_subjects) : (n + row_blocks - 1) / row_blocks;
  const Index cv = std::min(V, o.chunk_voxels);

  AtomicFile out(path);  // the hidden temporary file, removed unless committed
  const std::string& temp = out.temp_path();
  std::vector<float> batch(static_cast<std::size_t>(cs * V));
  {
    std::lock_guard lock(h5_mutex());
    h5_init();
  }
  // The file and the data set, used and closed under the mutex (also when an error
  // unwinds: before `out` removes the temporary file).
  struct Handles {
    Hid file, data;
    ~Handles() {
      std::lock_guard lock(h5_mutex());
      data.reset();
      file.reset();
    }
  } h;
  Hid& file = h.file;
  Hid& data = h.data;
  {
    std::lock_guard lock(h5_mutex());
    Hid fapl = file_access(path);
    file = checked(H5Fcreate(temp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl), path, "cannot create the store");
    const hsize_t dims[2] = {static_cast<hsize_t>(n), static_cast<hsize_t>(V)};
    const hsize_t chunk[2] = {static_cast<hsize_t>(cs), static_cast<hsize_t>(cv)};
    Hid space = checked(H5Screate_simple(2, dims, nullptr), path, "cannot create a dataspace");
    Hid dcpl = checked(H5Pcreate(H5P_DATASET_CREATE), path, "cannot create a property list");
    checked(H5Pset_chunk(dcpl, 2, chunk), path, "cannot set the chunk size");
    checked(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER), path, "cannot set the fill time");
    if (o.compression > 0) {
      checked(H5Pset_shuffle(dcpl), path, "cannot add the shuffle filter");
      checked(H5Pset_deflate(dcpl, static_cast<unsigned>(o.compression)), path, "cannot add the deflate filter");
    }
    checked(H5Pset_fletcher32(dcpl), path, "cannot add the Fletcher-32 checksum");
    // No chunk cache while writing: every chunk is written whole, once, straight to disk.
    Hid dapl = checked(H5Pcreate(H5P_DATASET_ACCESS), path, "cannot create a property list");
    checked(H5Pset_chunk_cache(dapl, 0, 0, 1.0), path, "cannot set the chunk cache");
    data = checked(H5Dcreate2(file, "data", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, dapl), path,
                   "cannot create the data set");
  }

  // Batches of cs rows, filled by the source and written whole.
  const Grid& grid = mask.grid();
  for (Index r0 = 0; r0 < n; r0 += cs) {
    const Index rows = std::min(cs, n - r0);
    src.fill(r0, rows, batch.data(), index);
    {
      std::lock_guard lock(h5_mutex());
      Hid fspace = checked(H5Dget_space(data), path, "cannot read the data set's dataspace");
      const hsize_t start[2] = {static_cast<hsize_t>(r0), 0}, count[2] = {static_cast<hsize_t>(rows),
                                                                           static_cast<hsize_t>(V)};
      checked(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, nullptr, count, nullptr), path, "cannot select rows");
      Hid mspace = checked(H5Screate_simple(2, count, nullptr), path, "cannot create a dataspace");
      checked(H5Dwrite(data, H5T_NATIVE_FLOAT, mspace, fspace, H5P_DEFAULT, batch.data()), path,
              fmt::format("cannot write {} {} to {}", src.kind == StoreRows::Frames ? "frames" : "maps", r0 + 1,
                          r0 + rows));
    }
    if (o.progress) o.progress(r0 + rows, n);
  }

  {
    std::lock_guard lock(h5_mutex());
    hid_t root = file.get();
    put_string(root, "format", kFormatName, path);
    put_int(root, "format_version", src.kind == StoreRows::Frames ? 2 : 1, path);
    put_string(root, "rows", src.kind == StoreRows::Frames ? "frames" : "subjects", path);
    put_int(root, "n_subjects", n, path);
    put_int(root, "n_voxels", V, path);
    write_grid(root, grid, path);
    put_string(root, "mask_source", mask_source, path);
    put_string(root, "created", utc_now(), path);
    put_string(root, "neurolua_commit", build_commit(), path);
    // The mask, C order nz x ny x nx (x fastest, as in memory), compressed.
    {
      const hsize_t dims[3] = {static_cast<hsize_t>(grid.dims[2]), static_cast<hsize_t>(grid.dims[1]),
                               static_cast<hsize_t>(grid.dims[0])};
      std::vector<std::uint8_t> m(mask.voxels());
      for (std::size_t i = 0; i < m.size(); ++i) m[i] = mask.data()[i] != 0;
      Hid space = checked(H5Screate_simple(3, dims, nullptr), path, "cannot create a dataspace");
      Hid dcpl = checked(H5Pcreate(H5P_DATASET_CREATE), path, "cannot create a property list");
      checked(H5Pset_chunk(dcpl, 3, dims), path, "cannot set the mask's chunk");
      checked(H5Pset_deflate(dcpl, 6), path, "cannot add the deflate filter");
      Hid set = checked(H5Dcreate2(root, "mask", H5T_STD_U8LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), path,
                        "cannot create the mask");
      checked(H5Dwrite(set, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, m.data()), path, "cannot write the mask");
    }
    Hid group = checked(H5Gcreate2(root, "sources", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), path,
                        "cannot create /sources");
    std::vector<std::string> paths, sums;
    std::vector<std::uint64_t> bytes;
    std::vector<std::int64_t> mtimes;
    for (const auto& s : src.sources) {
      paths.push_back(s.path);
      sums.push_back(s.sha256);
      bytes.push_back(s.bytes);
      mtimes.push_back(s.mtime_ns);
    }
    put_strings(group, "path", paths, path);
    put_strings(group, "sha256", sums, path);
    put_numbers(group, "bytes", H5T_STD_U64LE, H5T_NATIVE_UINT64, bytes, path);
    put_numbers(group, "mtime_ns", H5T_STD_I64LE, H5T_NATIVE_INT64, mtimes, path);
    group.reset();
    data.reset();
    checked(H5Fflush(file, H5F_SCOPE_LOCAL), path, "cannot flush the store");
    checked(H5Fclose(file.release()), path, "cannot close the store");
  }
  out.commit();
}

// `inputs` are the maps, or the series (`series` true); a series' frame count is not
// known before it is read, so its chunks are checked at `chunk_subjects` or 64 rows.
void check_build_arguments(const std::string& path, const std::vector<std::string>& inputs, bool series,
                           const Volume& mask, const VoxelStoreOptions& o) {
  if (inputs.empty()) throw ValueError("maps: no maps given");
  if (series && inputs[0].empty()) throw ValueError("series: empty file name");
  if (o.chunk_voxels < 1 || o.chunk_voxels > (Index{1} << 20))
    throw ValueError(fmt::format("chunk_voxels must be from 1 to {}, got {}", Index{1} << 20, o.chunk_voxels));
  if (o.chunk_subjects < 0 || o.chunk_subjects > 65536)
    throw ValueError(fmt::format("chunk_subjects must be from 1 to 65536 (0: the default), got {}", o.chunk_subjects));
  if (o.compression < 0 || o.compression > 9)
    throw ValueError(fmt::format("compression must be a deflate level from 0 (none) to 9, got {}", o.compression));
  const Index rows = o.chunk_subjects > 0 ? o.chunk_subjects : 64;
  const Index cs = series ? rows : std::min<Index>(static_cast<Index>(inputs.size()), rows);
  if (cs * std::min<Index>(o.chunk_voxels, static_cast<Index>(mask.voxels())) * 4 > (Index{1} << 30))
    throw ValueError(fmt::format("a chunk of {} {} x {} voxels would exceed 1 GiB; choose smaller chunks", cs,
                                 series ? "frames" : "subjects", o.chunk_voxels));
  if (mask.frames() > 1) throw ValueError(fmt::format("mask: has {} frames; a mask is one 3-D volume", mask.frames()));
  check_grid(mask.grid(), "mask");
  bool any = false;
  for (std::size_t i = 0; i < mask.voxels() && !any; ++i) any = mask.data()[i] != 0;
  if (!any) throw ValueError("mask: has no non-zero voxel");
  if (path.empty()) throw ValueError("path: empty");
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (same_file(inputs[i], path))
      throw ValueError(series ? fmt::format("path: '{}' is the series; the store never overwrites an input", path)
                              : fmt::format("path: '{}' is map {} of {}; the store never overwrites an input", path,
                                            i + 1, inputs.size()));
  if (!mask.info.path.empty() && same_file(mask.info.path, path))
    throw ValueError(fmt::format("path: '{}' is the mask; the store never overwrites an input", path));
  check_write_access(path);
}

// Runs `build` on rank 0; under MPI the other ranks wait for its outcome and raise the
// same error (a broadcast of "" or of the error's kind and message).
void build_collective(const std::function<void()>& build) {
  if (mpi::size() <= 1) return build();
  std::string outcome;
  if (mpi::root()) {
    std::exception_ptr error;
    try {
      build();
    } catch (const Interrupted& e) {
      outcome = std::string("I") + e.what();
      error = std::current_exception();
    } catch (const ValueError& e) {
      outcome = std::string("V") + e.what();
      error = std::current_exception();
    } catch (const FileError& e) {
      outcome = std::string("F") + e.what();
      error = std::current_exception();
    } catch (const std::exception& e) {
      outcome = std::string("E") + e.what();
      error = std::current_exception();
    }
    mpi::broadcast(outcome, 0);
    if (error) std::rethrow_exception(error);
    return;
  }
  mpi::broadcast(outcome, 0);
  if (outcome.empty()) return;
  const std::string msg = outcome.substr(1);
  switch (outcome[0]) {
    case 'I': throw InterruptedAfter(msg);
    case 'V': throw ValueError(msg);
    case 'F': throw FileError(msg);
    default: throw Error(msg);
  }
}

// The maps, loaded a batch at a time in parallel: each map's in-mask values copied into
// its row of the batch and the map dropped at once (memory: the batch plus one map per
// thread).
void build_from_maps(const std::string& path, const std::vector<std::string>& maps, const Volume& mask,
                     const std::string& mask_source, const VoxelStoreOptions& o) {
  RowSource src;
  src.kind = StoreRows::Subjects;
  src.n = static_cast<Index>(maps.size());
  src.sources.resize(maps.size());
  const Grid& grid = mask.grid();
  const Index n = src.n;
  src.fill = [&](Index r0, Index rows, float* batch, const std::vector<Index>& index) {
    const auto V = static_cast<Index>(index.size());
    parallel_for(static_cast<std::size_t>(rows), [&](std::size_t k) {
      check_interrupt();
      const Index i = r0 + static_cast<Index>(k);
      const std::string& p = maps[static_cast<std::size_t>(i)];
      Volume v;
      try {
        v = load_volume(p);
      } catch (const Interrupted&) {
        throw;
      } catch (const std::bad_alloc&) {
        throw;
      } catch (const std::exception& e) {
        throw FileError(fmt::format("map {} of {}: {}", i + 1, n, e.what()));
      }
      const std::string wrong = grid_mismatch(v, grid);
      if (!wrong.empty()) throw FileError(fmt::format("map {} of {} ('{}') {}", i + 1, n, p, wrong));
      float* row = batch + k * static_cast<std::size_t>(V);
      const float* values = v.data();
      for (Index q = 0; q < V; ++q) {
        const float x = values[index[static_cast<std::size_t>(q)]];
        if (!std::isfinite(x))
          throw FileError(fmt::format("map {} of {} ('{}') has {}: remove it from the mask or fix the map", i + 1, n,
                                      p, bad_value(x, q, index, grid)));
        row[q] = x;
      }
      src.sources[static_cast<std::size_t>(i)] = source_of(p, o.checksums);
    });
  };
  build_here(path, src, mask, mask_source, o);
}

// The series, loaded once (float32), its frames copied a batch at a time.
void build_from_series(const std::string& path, const std::string& series, const Volume& mask,
                       const std::string& mask_source, const VoxelStoreOptions& o) {
  Volume v;
  try {
    v = load_volume(series);
  } catch (const Interrupted&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    throw FileError(fmt::format("series '{}': {}", series, e.what()));
  }
  if (v.frames() < 2)
    throw FileError(fmt::format("series '{}' is 3-D (one frame); a store of frames needs a 4-D series (for one 3-D "
                                "map per subject use nl.store.build)",
                                series));
  const std::string wrong = grid_differs(v.grid(), mask.grid());
  if (!wrong.empty()) throw FileError(fmt::format("series '{}' {}", series, wrong));
  RowSource src;
  src.kind = StoreRows::Frames;
  src.n = static_cast<Index>(v.frames());
  src.sources = {source_of(series, o.checksums)};
  const Grid& grid = mask.grid();
  src.fill = [&](Index r0, Index rows, float* batch, const std::vector<Index>& index) {
    check_interrupt();
    const auto V = static_cast<Index>(index.size());
    for (Index k = 0; k < rows; ++k) {
      const float* values = v.frame_data(r0 + k);
      float* row = batch + k * V;
      for (Index q = 0; q < V; ++q) {
        const float x = values[index[static_cast<std::size_t>(q)]];
        if (!std::isfinite(x))
          throw FileError(fmt::format("series '{}' has {} in frame {} of {}: remove the voxel from the mask or fix "
                                      "the series",
                                      series, bad_value(x, q, index, grid), r0 + k + 1, src.n));
        row[q] = x;
      }
    }
  };
  build_here(path, src, mask, mask_source, o);
}

}  // namespace

void build_voxel_store(const std::string& path, const std::vector<std::string>& maps, const Volume& mask,
                       const VoxelStoreOptions& options) {
  check_build_arguments(path, maps, false, mask, options);
  build_collective([&] { build_from_maps(path, maps, mask, mask.info.path, options); });
}

void build_voxel_store(const std::string& path, const std::vector<std::string>& maps, const std::string& mask_path,
                       const VoxelStoreOptions& options) {
  const Volume mask = load_volume(mask_path);
  check_build_arguments(path, maps, false, mask, options);
  build_collective([&] { build_from_maps(path, maps, mask, mask_path, options); });
}

void build_series_store(const std::string& path, const std::string& series, const Volume& mask,
                        const VoxelStoreOptions& options) {
  check_build_arguments(path, {series}, true, mask, options);
  build_collective([&] { build_from_series(path, series, mask, mask.info.path, options); });
}

void build_series_store(const std::string& path, const std::string& series, const std::string& mask_path,
                        const VoxelStoreOptions& options) {
  const Volume mask = load_volume(mask_path);
  check_build_arguments(path, {series}, true, mask, options);
  build_collective([&] { build_from_series(path, series, mask, mask_path, options); });
}

// ---------------------------------------------------------------- reading

struct VoxelStore::Impl {
  std::string path;
  Hid file, data;
  Index n = 0, V = 0, cs = 0, cv = 0;
  int compression = 0, version = 0;
  StoreRows rows = StoreRows::Subjects;
  Grid grid;
  Volume mask;
  std::vector<Index> index;
  std::vector<StoreSource> sources;
  std::string mask_source, created;

  ~Impl() {
    std::lock_guard lock(h5_mutex());
    data.reset();
    file.reset();
  }
};

VoxelStore::VoxelStore(const std::string& path) : impl_(std::make_shared<Impl>()) {
  Impl& s = *impl_;
  s.path = path;
  check_read_access(path);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw FileError(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) throw FileError(fmt::format("cannot open '{}': it is {}", path, file_kind(st.st_mode)));
  std::lock_guard lock(h5_mutex());
  h5_init();
  const htri_t is = H5Fis_hdf5(path.c_str());
  H5Eclear2(H5E_DEFAULT);
  if (is <= 0) throw FileError(fmt::format("'{}' is not an HDF5 file (so not a neurolua voxel store)", path));
  Hid fapl = file_access(path);
  s.file = checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl), path, "cannot open the store");
  const hid_t root = s.file.get();
  if (H5Aexists(root, "format") <= 0 || get_string(root, "format", path) != kFormatName)
    throw FileError(fmt::format("'{}' is an HDF5 file but not a neurolua voxel store (no format attribute '{}')", path,
                                kFormatName));
  s.version = static_cast<int>(get_int(root, "format_version", path));
  if (s.version < 1 || s.version > kVoxelStoreFormat)
    throw FileError(fmt::format("'{}' is a voxel store of format version {}; this neurolua reads versions 1 to {} "
                                "(update neurolua)",
                                path, s.version, kVoxelStoreFormat));
  if (s.version >= 2) {
    const std::string rows = get_string(root, "rows", path);
    if (rows != "subjects" && rows != "frames")
      throw FileError(fmt::format("{}: attribute 'rows' is '{}', expected 'subjects' or 'frames'", path, rows));
    s.rows = rows == "frames" ? StoreRows::Frames : StoreRows::Subjects;
  }
  s.n = get_int(root, "n_subjects", path);
  s.V = get_int(root, "n_voxels", path);
  s.grid = read_grid(root, path);
  s.mask_source = get_string(root, "mask_source", path);
  s.created = get_string(root, "created", path);

  // The data set, its chunks and filters.
  Hid probe = checked(H5Dopen2(root, "data", H5P_DEFAULT), path, "cannot open /data");
  Hid dcpl = checked(H5Dget_create_plist(probe), path, "cannot read /data's creation list");
  hsize_t chunk[2] = {0, 0};
  if (H5Pget_layout(dcpl) != H5D_CHUNKED || H5Pget_chunk(dcpl, 2, chunk) != 2)
    throw FileError(fmt::format("{}: /data is not a chunked 2-D data set", path));
  s.cs = static_cast<Index>(chunk[0]);
  s.cv = static_cast<Index>(chunk[1]);
  const int nfilters = H5Pget_nfilters(dcpl);
  for (int f = 0; f < nfilters; ++f) {
    unsigned flags = 0, values[8];
    std::size_t nvalues = 8;
    if (H5Pget_filter2(dcpl, static_cast<unsigned>(f), &flags, &nvalues, values, 0, nullptr, nullptr) ==
            H5Z_FILTER_DEFLATE &&
        nvalues >= 1)
      s.compression = static_cast<int>(values[0]);
  }
  Hid space = checked(H5Dget_space(probe), path, "cannot read /data's dataspace");
  hsize_t dims[2] = {0, 0};
  if (H5Sget_simple_extent_ndims(space) != 2 || H5Sget_simple_extent_dims(space, dims, nullptr) != 2 ||
      static_cast<Index>(dims[0]) != s.n || static_cast<Index>(dims[1]) != s.V)
    throw FileError(fmt::format("{}: /data is not {} x {} as its attributes say", path, s.n, s.V));
  probe.reset();
  // The chunk cache: one block of voxels across all subjects (so that reads of
  // consecutive ranges that split a chunk decompress it once), at most 64 MiB; reads
  // aligned to chunks (the GLM's) never need it. w0 = 1: fully read chunks go first.
  const std::size_t chunk_bytes = static_cast<std::size_t>(s.cs * s.cv) * 4;
  const std::size_t column = chunk_bytes * static_cast<std::size_t>((s.n + s.cs - 1) / s.cs);
  const std::size_t cache = std::min<std::size_t>(std::max(column, chunk_bytes), std::size_t{64} << 20);
  Hid dapl = checked(H5Pcreate(H5P_DATASET_ACCESS), path, "cannot create a property list");
  checked(H5Pset_chunk_cache(dapl, 10007, cache, 1.0), path, "cannot set the chunk cache");
  s.data = checked(H5Dopen2(root, "data", dapl), path, "cannot open /data");

  // The mask.
  {
    const auto& d = s.grid.dims;
    const auto m = get_numbers<std::uint8_t>(root, "mask", H5T_NATIVE_UINT8, static_cast<std::size_t>(d[0] * d[1] * d[2]),
                                             path);
    s.mask = Volume(s.grid);
    s.mask.info.source_type = DataType::UInt8;
    s.mask.info.path = path;
    for (std::size_t i = 0; i < m.size(); ++i)
      if (m[i]) {
        s.mask.data()[i] = 1.0f;
        s.index.push_back(static_cast<Index>(i));
      }
    if (static_cast<Index>(s.index.size()) != s.V)
      throw FileError(fmt::format("{}: the mask has {} voxels but /data has {} columns", path, s.index.size(), s.V));
  }
  // The sources.
  {
    const auto N = s.rows == StoreRows::Frames ? std::size_t{1} : static_cast<std::size_t>(s.n);
    Hid group = checked(H5Gopen2(root, "sources", H5P_DEFAULT), path, "cannot open /sources");
    const auto paths = get_strings(group, "path", N, path);
    const auto sums = get_strings(group, "sha256", N, path);
    const auto bytes = get_numbers<std::uint64_t>(group, "bytes", H5T_NATIVE_UINT64, N, path);
    const auto mtimes = get_numbers<std::int64_t>(group, "mtime_ns", H5T_NATIVE_INT64, N, path);
    s.sources.resize(N);
    for (std::size_t i = 0; i < N; ++i) s.sources[i] = {paths[i], sums[i], bytes[i], mtimes[i]};
  }
}

const std::string& VoxelStore::path() const noexcept { return impl_->path; }
Index VoxelStore::subjects() const noexcept { return impl_->n; }
StoreRows VoxelStore::rows() const noexcept { return impl_->rows; }
Index VoxelStore::voxels() const noexcept { return impl_->V; }
Index VoxelStore::chunk_subjects() const noexcept { return impl_->cs; }
Index VoxelStore::chunk_voxels() const noexcept { return impl_->cv; }
int VoxelStore::compression() const noexcept { return impl_->compression; }
int VoxelStore::format_version() const noexcept { return impl_->version; }
const Grid& VoxelStore::grid() const noexcept { return impl_->grid; }
const Volume& VoxelStore::mask() const noexcept { return impl_->mask; }
const std::vector<Index>& VoxelStore::mask_indices() const noexcept { return impl_->index; }
const std::vector<StoreSource>& VoxelStore::sources() const noexcept { return impl_->sources; }
const std::string& VoxelStore::mask_source() const noexcept { return impl_->mask_source; }
const std::string& VoxelStore::created() const noexcept { return impl_->created; }
std::uint64_t VoxelStore::raw_bytes() const noexcept {
  return static_cast<std::uint64_t>(impl_->n) * static_cast<std::uint64_t>(impl_->V) * 4;
}
std::uint64_t VoxelStore::stored_bytes() const {
  std::lock_guard lock(h5_mutex());
  return H5Dget_storage_size(impl_->data);
}

void VoxelStore::read_floats(Index r0, Index r1, Index v0, Index v1, float* out) const {
  const Impl& s = *impl_;
  if (r0 < 0 || r1 > s.n || r0 > r1)
    throw ValueError(fmt::format("subjects [{}, {}) outside the store's [0, {})", r0, r1, s.n));
  if (v0 < 0 || v1 > s.V || v0 > v1)
    throw ValueError(fmt::format("voxels [{}, {}) outside the store's [0, {})", v0, v1, s.V));
  const Index rows = r1 - r0, cols = v1 - v0;
  if (rows == 0 || cols == 0) return;
  std::lock_guard lock(h5_mutex());
  Hid fspace = checked(H5Dget_space(s.data), s.path, "cannot read /data's dataspace");
  const hsize_t start[2] = {static_cast<hsize_t>(r0), static_cast<hsize_t>(v0)};
  const hsize_t count[2] = {static_cast<hsize_t>(rows), static_cast<hsize_t>(cols)};
  checked(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, nullptr, count, nullptr), s.path, "cannot select a block");
  Hid mspace = checked(H5Screate_simple(2, count, nullptr), s.path, "cannot create a dataspace");
  checked(H5Dread(s.data, H5T_NATIVE_FLOAT, mspace, fspace, H5P_DEFAULT, out), s.path,
          fmt::format("cannot read {} {} to {} at voxels {} to {}", s.rows == StoreRows::Frames ? "frames" : "subjects",
                      r0 + 1, r1, v0 + 1, v1));
}

Matrix VoxelStore::read(Index r0, Index r1, Index v0, Index v1) const {
  const Index rows = std::max<Index>(r1 - r0, 0), cols = std::max<Index>(v1 - v0, 0);
  std::vector<float> buf(static_cast<std::size_t>(rows * cols));
  read_floats(r0, r1, v0, v1, buf.data());
  // Row-major float32 -> column-major double (exact), in 64 x 64 tiles so that neither
  // side is walked with a large stride.
  Matrix out(rows, cols);
  constexpr Index kTile = 64;
  for (Index i0 = 0; i0 < rows; i0 += kTile)
    for (Index j0 = 0; j0 < cols; j0 += kTile) {
      const Index i1 = std::min(rows, i0 + kTile), j1 = std::min(cols, j0 + kTile);
      for (Index j = j0; j < j1; ++j)
        for (Index i = i0; i < i1; ++i) out(i, j) = static_cast<double>(buf[static_cast<std::size_t>(i * cols + j)]);
    }
  return out;
}

Matrix VoxelStore::read_voxels(Index v0, Index v1) const { return read(0, impl_->n, v0, v1); }

Volume VoxelStore::map(Index i) const {
  const Impl& s = *impl_;
  if (i < 0 || i >= s.n) throw ValueError(fmt::format("subject {} outside the store's [0, {})", i, s.n));
  const Matrix row = read(i, i + 1, 0, s.V);
  Volume v(s.grid);
  v.info.source_type = DataType::Float32;
  for (Index q = 0; q < s.V; ++q)
    v.data()[s.index[static_cast<std::size_t>(q)]] = static_cast<float>(row(0, q));
  return v;
}

std::string format_voxel_store(const VoxelStore& s) {
  const bool frames = s.rows() == StoreRows::Frames;
  const std::string series = frames && !s.sources().empty() ? fmt::format(" of '{}'", s.sources()[0].path) : "";
  return fmt::format("[VoxelStore {} {}{} x {} voxels, {}, chunks {} x {}, {}]", s.subjects(),
                     frames ? "frames" : "subjects", series, s.voxels(), s.grid().describe(), s.chunk_subjects(), s.chunk_voxels(),
                     s.compression() > 0 ? fmt::format("deflate {}", s.compression()) : std::string("uncompressed"));
}

}  // namespace nl
