// nl/io/provenance.hpp: what a report needs to say where its numbers came from: the
// process-wide log of the input files the engine read (with their SHA-256), the build's
// git commit, the host, and the byte encodings (SHA-256, base64) of nettle.
//
// Why hash at read time: the hash then describes the bytes the analysis used. A file
// replaced after it was read is caught by input_changed() (its size or modification
// time differ from the ones recorded), where a hash taken later would silently describe
// the new file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nl {

// ---------------------------------------------------------------- input log

// One file the engine read.
struct InputRecord {
  std::string path;        // as the reader was given it
  std::string sha256;      // lower-case hex digest of the file's bytes when it was read
  std::uint64_t bytes = 0;
  std::int64_t mtime_ns = 0;  // modification time then (for input_changed)
};

// Called by every reader after it has read path successfully (tables, NIfTI volumes,
// label tables, model files, motion parameters, the simulator's checks): hashes the
// file and appends it to the log. A file read again unchanged (same resolved path, size
// and modification time) is logged once; one that changed between two reads is logged
// twice, with both hashes. Thread-safe (volumes are loaded in parallel). The first
// form reads the file again (from the page cache: 5 ms for 7 MB with SHA-NI); the
// second hashes `contents`, the bytes the reader already holds. A file that cannot be
// read again is logged with an empty hash rather than failing the read that succeeded.
void record_input(const std::string& path);
void record_input(const std::string& path, std::string_view contents);

// The log, in the order of first reads.
std::vector<InputRecord> recorded_inputs();
// The latest record of the file at path (the same file however it was named), without
// copying the log: true and *out filled, or false when it was never logged.
bool find_recorded_input(const std::string& path, InputRecord& out);

// Whether the file no longer matches its record: it is missing, or its size or
// modification time changed since it was read.
bool input_changed(const InputRecord& r);

// ---------------------------------------------------------------- encodings

// SHA-256 of data as 64 lower-case hex digits (nettle).
std::string sha256_hex(std::string_view data);
// Standard base64 (RFC 4648, with padding, no line breaks; nettle).
std::string base64_encode(std::string_view data);

// ---------------------------------------------------------------- build and host

// The git commit the engine was built from: the short hash, with "-dirty" when the work
// tree had uncommitted changes to tracked files at build time; "unknown" when it was not
// built from a git checkout.
const char* build_commit() noexcept;

// The host as uname(2) gives it: "<nodename> (<sysname> <release> <machine>)".
std::string host_description();

// ---------------------------------------------------------------- installed files

// The bytes of a file that belongs to the neurolua installation, not to the user (the
// NiiVue bundle and the template a report embeds, at paths fixed at build time), so the
// sandbox's file policy does not apply and the read is not logged as an input.
// FileError "<what> is missing (<path>): <hint>" when it cannot be read.
std::string read_installed_file(const std::string& path, const std::string& what, const std::string& hint);

}  // namespace nl
