// tests/engine/io/test_fileio.cpp: nl::read_file and nl::AtomicFile (issue 17 item 6):
// non-regular files refused before they can block, the memory budget on bytes read,
// hidden locked temporary names that fit NAME_MAX, fsync'd renames, and the removal of
// temporary files left by killed writers (never of a live writer's); the strict
// NEUROLUA_THREADS parser.
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "nl/core/core.hpp"
#include "nl/core/memory.hpp"
#include "nl/io/fileio.hpp"

namespace {

template <class F>
std::string file_error(F&& f) {
  try {
    f();
  } catch (const nl::FileError& e) {
    return e.what();
  }
  FAIL("no FileError thrown");
  return {};
}

// A fresh folder under the temporary directory, removed (one level deep) at the end.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/nl-fileio-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    for (const auto& name : list()) std::remove((path + "/" + name).c_str());
    ::rmdir(path.c_str());
  }
  std::vector<std::string> list() const {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(path.c_str())) {
      while (const dirent* e = ::readdir(d))
        if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") out.push_back(e->d_name);
      ::closedir(d);
    }
    return out;
  }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("read_file refuses a FIFO and devices before reading, without blocking", "[io]") {
  TempDir dir;
  const std::string fifo = dir.path + "/pipe.csv";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const auto t0 = std::chrono::steady_clock::now();
  const std::string msg = file_error([&] { nl::read_file(fifo); });
  CHECK(contains(msg, fifo + ": is a FIFO"));
  CHECK(contains(msg, "neurolua reads only regular files"));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  CHECK(contains(file_error([] { nl::read_file("/dev/zero"); }), "/dev/zero: is a character device"));
  CHECK(contains(file_error([&] { nl::read_file(dir.path); }), "is a directory, not a file"));
  CHECK(contains(file_error([] { nl::read_file(""); }), "an empty name"));
  CHECK(contains(file_error([&] { nl::read_file(dir.path + "/missing.csv"); }),
                 "cannot open file (No such file or directory)"));
}

TEST_CASE("read_file enforces the memory budget on the bytes read, not only the size", "[io]") {
  TempDir dir;
  const std::string path = dir.path + "/f.txt";
  {
    std::ofstream(path) << std::string(2000, 'x');
  }
  const std::uint64_t saved = nl::memory_budget();
  nl::set_memory_budget(1000);
  const std::string by_size = file_error([&] { nl::read_file(path); });
  // /proc files are regular and say they hold 0 bytes: only the bytes read can tell.
  const std::string by_bytes = file_error([] { nl::read_file("/proc/self/maps", 100); });
  nl::set_memory_budget(saved);
  CHECK(contains(by_size, "the file has 2000 bytes"));
  CHECK(contains(by_size, "more than the memory budget of 1000 bytes"));
  CHECK(contains(by_bytes, "/proc/self/maps: the file grew to at least"));
  CHECK(nl::read_file(path).size() == 2000);
}

TEST_CASE("atomic writes: hidden temporary name, nothing left, empty and folder names refused", "[io]") {
  TempDir dir;
  const std::string target = dir.path + "/out.csv";
  {
    nl::AtomicFile f(target);
    const std::string prefix = dir.path + "/.out.csv.nl-tmp-" + std::to_string(::getpid()) + "-";
    CHECK(f.temp_path().rfind(prefix, 0) == 0);
    CHECK(f.temp_path().size() == prefix.size() + 6);
    f.write("a,b\n");
    CHECK(dir.list().size() == 1);  // only the temporary file so far
    f.commit();
  }
  CHECK(slurp(target) == "a,b\n");
  CHECK(dir.list() == std::vector<std::string>{"out.csv"});
  {
    nl::AtomicFile f(target);  // not committed: removed, the old file intact
    f.write("half");
  }
  CHECK(slurp(target) == "a,b\n");
  CHECK(dir.list() == std::vector<std::string>{"out.csv"});
  CHECK(file_error([] { nl::write_file_atomic("", "x"); }) == "cannot write a file with an empty name");
  CHECK(contains(file_error([&] { nl::write_file_atomic(dir.path, "x"); }), "is a directory, not a file"));
  CHECK(contains(file_error([&] { nl::write_file_atomic(dir.path + "/", "x"); }), "is a directory name"));
}

TEST_CASE("atomic writes: a 255-byte file name works (the temporary name is shortened)", "[io]") {
  TempDir dir;
  for (std::size_t len : {254u, 255u}) {
    const std::string name(len, 'n');
    const std::string target = dir.path + "/" + name;
    nl::write_file_atomic(target, "x");
    CHECK(slurp(target) == "x");
    const std::string prefix = nl::atomic_temp_prefix(target, 4194304);
    CHECK(prefix.size() - dir.path.size() - 1 + 6 <= 255);
    std::remove(target.c_str());
  }
  // A multi-byte character is not cut in half.
  std::string name;
  while (name.size() < 250) name += "\xC3\xA9";  // é
  const std::string prefix = nl::atomic_temp_prefix(dir.path + "/" + name, 123);
  const std::string base = prefix.substr(dir.path.size() + 2, prefix.find(".nl-tmp-") - dir.path.size() - 2);
  CHECK(base.size() % 2 == 0);
  CHECK(dir.list().empty());
}

TEST_CASE("atomic writes: stale temporary files of killed writers go, a live writer's stays", "[io]") {
  TempDir dir;
  const std::string target = dir.path + "/big.nii";
  // A child holds an AtomicFile open (a live writer), tells us, and waits to be killed.
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(ready[0]);
    try {
      nl::AtomicFile f(target);
      f.write(std::string(4096, 'v'));
      (void)!::write(ready[1], "1", 1);
      for (;;) ::pause();
    } catch (...) {
    }
    ::_exit(1);
  }
  ::close(ready[1]);
  char c = 0;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  ::close(ready[0]);
  auto temps = [&] {
    std::size_t n = 0;
    for (const auto& name : dir.list()) n += contains(name, ".nl-tmp-");
    return n;
  };
  REQUIRE(temps() == 1);
  // This process writes into the folder for the first time: it sweeps, and must keep
  // the live writer's file.
  nl::write_file_atomic(dir.path + "/other.csv", "1\n");
  CHECK(temps() == 1);
  // The writer is killed: its temporary file stays behind ...
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE(temps() == 1);
  // ... until a later run (a new process) writes into the folder.
  const pid_t later = ::fork();
  REQUIRE(later >= 0);
  if (later == 0) {
    try {
      nl::write_file_atomic(dir.path + "/again.csv", "2\n");
    } catch (...) {
      ::_exit(1);
    }
    ::_exit(0);
  }
  ::waitpid(later, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(temps() == 0);
  CHECK(slurp(dir.path + "/again.csv") == "2\n");
}

TEST_CASE("NEUROLUA_THREADS is parsed strictly", "[io][core]") {
  std::string warning;
  CHECK(nl::parse_thread_count("4", 2, warning) == 4);
  CHECK(warning.empty());
  CHECK(nl::parse_thread_count(" 8 ", 2, warning) == 8);
  CHECK(warning.empty());
  CHECK(nl::parse_thread_count("1024", 2, warning) == 1024);
  CHECK(warning.empty());
  // atoi read this as 1,215,752,191 threads
  CHECK(nl::parse_thread_count("99999999999", 2, warning) == nl::kMaxThreads);
  CHECK(warning == "NEUROLUA_THREADS=99999999999 is more than the 1024 threads neurolua allows; using 1024");
  CHECK(nl::parse_thread_count("99999999999999999999999", 2, warning) == nl::kMaxThreads);
  CHECK(!warning.empty());
  for (const char* bad : {"0", "-3", "4x", "four", "", "2.5", "-99999999999999999999999"}) {
    INFO(bad);
    CHECK(nl::parse_thread_count(bad, 3, warning) == 3);
    CHECK(contains(warning, "is not a thread count (a whole number from 1 to 1024); using 3"));
    CHECK(warning.rfind("NEUROLUA_THREADS=", 0) == 0);
  }
  CHECK_THROWS_AS(nl::set_threads(nl::kMaxThreads + 1), nl::ValueError);
}
