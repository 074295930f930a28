// provenance.cpp: nl.inputs, nl.commit and nl._report, the C pieces of nl.report
// (stdlib/neurolua/report.lua): SHA-256, base64, atomic writes, the host, and the
// installed files a report embeds (the NiiVue bundle, the template background).
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/args.hpp"
#include "core/common.hpp"
#include "nl/io/fileio.hpp"
#include "nl/io/provenance.hpp"

#ifndef NL_NIIVUE_BUNDLE
#define NL_NIIVUE_BUNDLE ""
#endif
#ifndef NL_REPORT_TEMPLATE
#define NL_REPORT_TEMPLATE ""
#endif

namespace nl::bind {

int markdown_html(lua_State* L);  // markdown.cpp

namespace {

// ---------------------------------------------------------------- nl.inputs

// nl.inputs() -> list of {path, sha256, bytes, changed}: every file the engine read in
// this process, in the order of first reads (nl/io/provenance.hpp).
int inputs(lua_State* L) {
  lua_newtable(L);
  return protect(L, [&] {
    const auto log = nl::recorded_inputs();
    for (std::size_t i = 0; i < log.size(); ++i) {
      lua_createtable(L, 0, 4);
      set_string(L, "path", log[i].path);
      set_string(L, "sha256", log[i].sha256);
      set_integer(L, "bytes", static_cast<lua_Integer>(log[i].bytes));
      lua_pushboolean(L, nl::input_changed(log[i]));
      lua_setfield(L, -2, "changed");
      lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
    }
    return 1;
  });
}

// nl.file_sha256(path) -> 64 hex digits: the SHA-256 of the file's bytes now, read
// through the engine's reader (the sandbox's policy applies; errors name the file). Not
// logged as an input: it identifies files (e.g. for a cache key) without analysing them.
int file_sha256(lua_State* L) {
  const char* path = luaL_checkstring(L, 1);
  return protect(L, [&] {
    const std::string h = nl::sha256_hex(nl::read_file(path));
    lua_pushlstring(L, h.data(), h.size());
    return 1;
  });
}

// ---------------------------------------------------------------- nl._report

// sha256(bytes) -> 64 hex digits.
int sha256(lua_State* L) {
  std::size_t n;
  const char* s = luaL_checklstring(L, 1, &n);
  return protect(L, [&] {
    const std::string h = nl::sha256_hex(std::string_view(s, n));
    lua_pushlstring(L, h.data(), h.size());
    return 1;
  });
}

// base64(bytes) -> text.
int base64(lua_State* L) {
  std::size_t n;
  const char* s = luaL_checklstring(L, 1, &n);
  return protect(L, [&] {
    const std::string b = nl::base64_encode(std::string_view(s, n));
    lua_pushlstring(L, b.data(), b.size());
    return 1;
  });
}

// read(path) -> bytes, through the engine's reader (the sandbox's policy applies;
// errors name the file). Not logged as an input: a report embeds outputs.
int read(lua_State* L) {
  const char* path = luaL_checkstring(L, 1);
  return protect(L, [&] {
    const std::string data = nl::read_file(path);
    lua_pushlstring(L, data.data(), data.size());
    return 1;
  });
}

// write(path, bytes): written atomically (nl::write_file_atomic).
int write(lua_State* L) {
  const char* path = luaL_checkstring(L, 1);
  std::size_t n;
  const char* s = luaL_checklstring(L, 2, &n);
  return protect(L, [&] {
    nl::write_file_atomic(path, std::string_view(s, n));
    return 0;
  });
}

// host() -> "<nodename> (<sysname> <release> <machine>)".
int host(lua_State* L) {
  return protect(L, [&] {
    const std::string h = nl::host_description();
    lua_pushlstring(L, h.data(), h.size());
    return 1;
  });
}

// niivue() -> the text of niivue.umd.js and its path: $NEUROLUA_NIIVUE, else the copy
// npm installed in the source tree's viewer/ (its path is fixed at build time).
int niivue(lua_State* L) {
  const char* env = std::getenv("NEUROLUA_NIIVUE");
  return protect(L, [&] {  // path inside: no std::string may be alive when protect raises
    const std::string path = env && *env ? env : NL_NIIVUE_BUNDLE;
    const std::string js = nl::read_installed_file(
        path, "the NiiVue bundle",
        "run tools/bootstrap.sh (it installs NiiVue with `npm ci` in viewer/), or set NEUROLUA_NIIVUE to a "
        "niivue.umd.js");
    lua_pushlstring(L, js.data(), js.size());
    lua_pushlstring(L, path.data(), path.size());
    return 2;
  });
}

// template() -> the bytes of the viewers' "template" background (MRIcron's ch2better
// resampled to 2 mm at build time) and its path.
int template_background(lua_State* L) {
  return protect(L, [&] {  // path inside: no std::string may be alive when protect raises
    const std::string path = NL_REPORT_TEMPLATE;
    const std::string data = nl::read_installed_file(
        path.empty() ? std::string("(not built)") : path, "the template background",
        "it is made at build time from /usr/share/mricron/templates/ch2better.nii.gz (Debian's mricron-data, "
        "which tools/bootstrap.sh installs); rebuild after installing it, or pass background = a NIfTI file");
    lua_pushlstring(L, data.data(), data.size());
    lua_pushlstring(L, path.data(), path.size());
    return 2;
  });
}

const luaL_Reg report_functions[] = {
    {"sha256", sha256}, {"base64", base64}, {"read", read},         {"write", write},
    {"host", host},     {"niivue", niivue}, {"template", template_background},
    {"markdown", markdown_html}, {nullptr, nullptr},
};

}  // namespace

// Adds inputs, commit and _report to the nl table on top of the stack.
void open_provenance(lua_State* L) {
  push_binding(L, inputs);
  lua_setfield(L, -2, "inputs");
  push_binding(L, file_sha256);
  lua_setfield(L, -2, "file_sha256");
  lua_pushstring(L, nl::build_commit());
  lua_setfield(L, -2, "commit");
  lua_newtable(L);
  set_bindings(L, report_functions);
  lua_setfield(L, -2, "_report");
}

}  // namespace nl::bind
