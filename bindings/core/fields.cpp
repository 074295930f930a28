// fields.cpp: unknown-field errors with a did-you-mean, renamed fields, deprecation
// warnings (see fields.hpp).
#include "core/fields.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <vector>

namespace nl::bind {

namespace {

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

// Optimal-string-alignment distance (Levenshtein plus adjacent transpositions), case-
// insensitive: "metrcis" and "Metrics" are both 1 from "metrics".
std::size_t distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::size_t> d((n + 1) * (m + 1));
  auto at = [&](std::size_t i, std::size_t j) -> std::size_t& { return d[i * (m + 1) + j]; };
  for (std::size_t i = 0; i <= n; ++i) at(i, 0) = i;
  for (std::size_t j = 0; j <= m; ++j) at(0, j) = j;
  for (std::size_t i = 1; i <= n; ++i)
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) && lower(a[i - 2]) == lower(b[j - 1]))
        at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
    }
  return at(n, m);
}

std::string_view strip_underscore(std::string_view s) {
  return !s.empty() && s.back() == '_' ? s.substr(0, s.size() - 1) : s;
}

// The name a candidate is judged by: 0 is an exact match up to case and a trailing
// underscore; otherwise the edit distance, accepted up to a third of the key's length.
std::size_t score(std::string_view key, std::string_view cand) {
  const auto k = strip_underscore(key), c = strip_underscore(cand);
  if (k.size() == c.size() && distance(k, c) == 0) return 0;
  return distance(key, cand);
}

// The list of strings returned by calling f(obj) (f at index fi), appended to out.
void append_names(lua_State* L, int fi, int obj, std::vector<std::string>& out) {
  if (lua_type(L, fi) == LUA_TFUNCTION) {
    lua_pushvalue(L, fi);
    lua_pushvalue(L, obj);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {  // a failing __fields only shortens the message
      lua_pop(L, 1);
      return;
    }
  } else {
    lua_pushvalue(L, fi);
  }
  if (lua_type(L, -1) == LUA_TTABLE) {
    const lua_Integer n = luaL_len(L, -1);
    for (lua_Integer i = 1; i <= n; ++i) {
      if (lua_rawgeti(L, -1, i) == LUA_TSTRING) out.emplace_back(lua_tostring(L, -1));
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
}

// "a, b, c"; a long list (a Table of many columns) stops after 40 names.
std::string join(const std::vector<std::string>& v) {
  constexpr std::size_t kMax = 40;
  std::string s;
  for (std::size_t i = 0; i < v.size() && i < kMax; ++i) {
    if (i) s += ", ";
    s += v[i];
  }
  if (v.size() > kMax) s += ", ... (" + std::to_string(v.size() - kMax) + " more)";
  return s;
}

// The registry list of deprecation messages issued in this session.
constexpr const char* kDeprecations = "neurolua.deprecations";

void push_deprecation_list(lua_State* L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, kDeprecations) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, kDeprecations);
  }
}

}  // namespace

std::string closest_name(std::string_view key, const std::vector<std::string_view>& candidates) {
  std::string best;
  std::size_t best_score = key.size() / 3 + 1;  // accept up to about a third of the key
  for (auto c : candidates) {
    const std::size_t s = score(key, c);
    if (s < best_score || (s == 0 && best.empty())) {
      best_score = s;
      best = std::string(c);
    }
  }
  return best;
}

int no_field(lua_State* L, int obj, int key) {
  obj = lua_absindex(L, obj);
  key = lua_absindex(L, key);
  // The message is assembled in Lua-owned memory only: no C++ object with a
  // destructor may be alive when luaL_error longjmps, so the work happens in a block.
  {
    std::vector<std::string> fields, methods;
    std::string type = "object";
    if (lua_getmetatable(L, obj)) {
      if (lua_getfield(L, -1, "__name") == LUA_TSTRING) {
        type = lua_tostring(L, -1);
        if (type.rfind("neurolua.", 0) == 0) type = type.substr(9);
      }
      lua_pop(L, 1);
      // a record lists every field it may have; other types the fields obj has
      if (lua_getfield(L, -1, "__all_fields") != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_getfield(L, -1, "__fields");
      }
      if (!lua_isnil(L, -1)) append_names(L, lua_gettop(L), obj, fields);
      lua_pop(L, 1);
      if (lua_getfield(L, -1, "__methods") == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, -2)) {
          lua_pop(L, 1);
          if (lua_type(L, -1) == LUA_TSTRING) methods.emplace_back(lua_tostring(L, -1));
        }
      }
      lua_pop(L, 2);
    }
    std::sort(methods.begin(), methods.end());
    std::string k;
    if (lua_type(L, key) == LUA_TSTRING || lua_type(L, key) == LUA_TNUMBER) {
      lua_pushvalue(L, key);  // a copy: lua_tostring converts a number in place
      k = lua_tostring(L, -1);
      lua_pop(L, 1);
    } else if (lua_type(L, key) == LUA_TBOOLEAN) {
      k = lua_toboolean(L, key) ? "true" : "false";
    } else {  // no __tostring is called here: it could raise with C++ objects alive
      k = std::string("<") + luaL_typename(L, key) + ">";
    }
    std::string best;
    std::size_t best_score = k.size() / 3 + 1;
    for (const auto* list : {&fields, &methods})
      for (const auto& c : *list) {
        const std::size_t s = score(k, c);
        if (s < best_score) {
          best_score = s;
          best = c;
        }
      }
    std::string msg = type + " has no field '" + k + "'";
    if (!best.empty()) msg += "; did you mean '" + best + "'?";
    msg += " (fields: " + (fields.empty() ? std::string("none") : join(fields));
    if (!methods.empty()) msg += "; methods: " + join(methods);
    msg += ")";
    luaL_where(L, 1);  // the line with the typo
    lua_pushlstring(L, msg.data(), msg.size());
    lua_concat(L, 2);
  }
  return lua_error(L);
}

int not_fitted(lua_State* L, const char* what, const char* field) {
  return luaL_error(L, "%s is not fitted: call fit first (%s is learned by fit)", what, field);
}

int methods_only_index(lua_State* L) {
  if (push_method(L, 2)) return 1;
  // An object freed while a binding ran gets the freed metatable when that binding ends,
  // which may be at the entry of this very call.
  if (luaL_getmetafield(L, 1, "__name") == LUA_TSTRING && std::strncmp(lua_tostring(L, -1), "freed ", 6) == 0)
    return freed_access(L);
  return no_field(L, 1, 2);
}

namespace {

// __index of a record (upvalue 1: the set of its field names; upvalue 2: old name ->
// new name): a field the record lacks reads nil, an old name reads the new one with a
// warning, any other key raises.
int record_index(lua_State* L) {
  if (lua_type(L, 2) == LUA_TSTRING) {
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 0;
    lua_pop(L, 1);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(2)) == LUA_TSTRING) {  // stack: t, key, new name
      const int nw = lua_gettop(L);
      const char* type = "record";
      if (lua_getmetatable(L, 1) && lua_getfield(L, -1, "__name") == LUA_TSTRING)
        type = lua_tostring(L, -1) + 9;  // after "neurolua."
      const Renamed r{lua_tostring(L, 2), lua_tostring(L, nw)};
      renamed(L, type, r.old_name, &r, 1);
      lua_settop(L, nw);
      lua_rawget(L, 1);  // t[new name]
      return 1;
    }
    lua_pop(L, 1);
  }
  return no_field(L, 1, 2);
}

// __fields of a record (upvalue 1: the list of its field names): those it has.
int record_fields(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  const auto n = static_cast<lua_Integer>(lua_rawlen(L, lua_upvalueindex(1)));
  lua_createtable(L, static_cast<int>(n), 0);
  lua_Integer k = 0;
  for (lua_Integer i = 1; i <= n; ++i) {
    lua_rawgeti(L, lua_upvalueindex(1), i);
    lua_pushvalue(L, -1);
    if (lua_rawget(L, 1) != LUA_TNIL) {
      lua_pop(L, 1);
      lua_rawseti(L, -2, ++k);
    } else {
      lua_pop(L, 2);
    }
  }
  return 1;
}

}  // namespace

void register_record(lua_State* L, const char* name, std::initializer_list<const char*> fields,
                     lua_CFunction tostring, std::initializer_list<Renamed> renames) {
  luaL_newmetatable(L, name);
  push_names(L, fields);
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "__all_fields");
  lua_pushcclosure(L, record_fields, 1);
  lua_setfield(L, -2, "__fields");
  lua_createtable(L, 0, static_cast<int>(fields.size()));  // the set of field names
  for (const char* f : fields) {
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, f);
  }
  lua_createtable(L, 0, static_cast<int>(renames.size()));  // old name -> new name
  for (const Renamed& r : renames) {
    lua_pushstring(L, r.new_name);
    lua_setfield(L, -2, r.old_name);
  }
  lua_pushcclosure(L, record_index, 2);
  lua_setfield(L, -2, "__index");
  lua_newtable(L);
  lua_setfield(L, -2, "__methods");
  push_binding(L, tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
}

int no_fields(lua_State* L) {
  lua_newtable(L);
  return 1;
}

int push_names(lua_State* L, std::initializer_list<const char*> names) {
  lua_createtable(L, static_cast<int>(names.size()), 0);
  int k = 0;
  for (const char* n : names) {
    lua_pushstring(L, n);
    lua_rawseti(L, -2, ++k);
  }
  return 1;
}

int push_names(lua_State* L, const char* const* names) {
  lua_newtable(L);
  for (int k = 0; names[k]; ++k) {
    lua_pushstring(L, names[k]);
    lua_rawseti(L, -2, k + 1);
  }
  return 1;
}

int field_index(lua_State* L, int idx, const char* const* names) {
  if (lua_type(L, idx) != LUA_TSTRING) return -1;
  const char* key = lua_tostring(L, idx);
  for (int k = 0; names[k]; ++k)
    if (std::strcmp(key, names[k]) == 0) return k;
  return -1;
}

void deprecation_warning(lua_State* L, const std::string& message) {
  push_deprecation_list(L);
  const lua_Integer n = luaL_len(L, -1);
  for (lua_Integer i = 1; i <= n; ++i) {
    lua_rawgeti(L, -1, i);
    const bool seen = message == lua_tostring(L, -1);
    lua_pop(L, 1);
    if (seen) {
      lua_pop(L, 1);
      return;
    }
  }
  lua_pushlstring(L, message.data(), message.size());
  lua_rawseti(L, -2, n + 1);
  lua_pop(L, 1);
  std::fprintf(stderr, "neurolua: warning: %s\n", message.c_str());
  std::fflush(stderr);
}

const char* renamed(lua_State* L, const char* type, const char* key, const Renamed* renames, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    const Renamed& r = renames[i];
    if (std::string_view(key) == r.old_name) {
      deprecation_warning(L, std::string(type) + "." + r.old_name + " is deprecated; use " + type + "." + r.new_name +
                                 " (the old name goes in neurolua 0.3)");
      return r.new_name;
    }
  }
  return key;
}

int deprecations(lua_State* L) {
  push_deprecation_list(L);
  const lua_Integer n = luaL_len(L, -1);
  lua_createtable(L, static_cast<int>(n), 0);
  for (lua_Integer i = 1; i <= n; ++i) {
    lua_rawgeti(L, -2, i);
    lua_rawseti(L, -2, i);
  }
  return 1;
}

}  // namespace nl::bind
