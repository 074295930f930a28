// bindings/ml/lua_step.cpp: pipeline steps written in Lua (see lua_step.hpp).
//
// Every Lua API call of a step runs inside lua_pcall of a C function (call_lua), so a
// Lua error or an out-of-memory error becomes a C++ exception in the engine code that
// called the step, and no longjmp crosses an engine frame.
#include "ml/lua_step.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/lifetime.hpp"
#include "core/types.hpp"
#include "nl/io/serial.hpp"

namespace nl::bind {

namespace {


// A registry reference, released on the main thread of its state when the last owner
// goes (Lua steps live and die on the thread that runs Lua).
struct Ref {
  lua_State* L = nullptr;  // the main thread of the state
  int ref = LUA_NOREF;
  Ref(lua_State* l, int r) : L(l), ref(r) {}
  ~Ref() {
    if (L && ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, ref);
  }
  Ref(const Ref&) = delete;
  Ref& operator=(const Ref&) = delete;
};

lua_State* main_thread(lua_State* L) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  lua_State* m = lua_tothread(L, -1);
  lua_pop(L, 1);
  return m;
}

// Runs fn(L) (a lua_CFunction reading its context from the light userdata at index 1)
// protected; throws ValueError with `what` and the Lua message when it fails.
void call_lua(lua_State* L, lua_CFunction fn, void* ctx, const std::string& what) {
  if (!lua_checkstack(L, 4)) throw ValueError(fmt::format("{}: the Lua stack is full", what));
  lua_pushcfunction(L, fn);
  lua_pushlightuserdata(L, ctx);
  const int status = lua_pcall(L, 1, 0, 0);
  set_calling_state(L);  // a binding the step's code called may have raised
  if (status != LUA_OK) {
    std::string msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(an error object that is not text)";
    lua_pop(L, 1);
    throw ValueError(fmt::format("{}: {}", what, msg));
  }
}

lua_State* current_state(const std::string& name) {
  lua_State* L = calling_state();
  if (!L) throw ValueError(fmt::format("Lua step '{}': called outside any neurolua call (internal error)", name));
  if (nl::in_parallel_region())
    throw ValueError(fmt::format("Lua step '{}': called from a worker thread (internal error)", name));
  return L;
}

// ---------------------------------------------------------------- saving self

constexpr std::uint8_t kNil = 0, kFalse = 1, kTrue = 2, kInt = 3, kFloat = 4, kString = 5, kTable = 6, kMatrix = 7,
                       kEnd = 8;

// Encodes the value at idx (a field of self named `path`) into w; raises a Lua error
// naming the field for a value that cannot be saved.
void encode(lua_State* L, int idx, Writer& w, const std::string& path, int depth) {
  idx = lua_absindex(L, idx);
  if (depth > 32) luaL_error(L, "field '%s' nests tables more than 32 deep (or refers to itself)", path.c_str());
  switch (lua_type(L, idx)) {
    case LUA_TNIL: w.u8(kNil); return;
    case LUA_TBOOLEAN: w.u8(lua_toboolean(L, idx) ? kTrue : kFalse); return;
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx)) {
        w.u8(kInt);
        w.i64(lua_tointeger(L, idx));
      } else {
        w.u8(kFloat);
        w.f64(lua_tonumber(L, idx));
      }
      return;
    case LUA_TSTRING: {
      std::size_t n = 0;
      const char* s = lua_tolstring(L, idx, &n);
      w.u8(kString);
      w.str(std::string_view(s, n));
      return;
    }
    case LUA_TTABLE: {
      w.u8(kTable);
      lua_pushnil(L);
      while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING && lua_type(L, -2) != LUA_TNUMBER)
          luaL_error(L, "field '%s' has a key of type %s; only text and number keys can be saved", path.c_str(),
                     luaL_typename(L, -2));
        lua_pushvalue(L, -2);
        const std::string key = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : fmt::format("[{}]", lua_tonumber(L, -1));
        lua_pop(L, 1);
        encode(L, -2, w, path, depth + 1);  // the key
        encode(L, -1, w, path.empty() ? key : path + "." + key, depth + 1);
        lua_pop(L, 1);
      }
      w.u8(kEnd);
      return;
    }
    default:
      if (const auto* m = test<nl::Matrix>(L, idx)) {
        w.u8(kMatrix);
        w.matrix(*m);
        return;
      }
      luaL_error(L, "field '%s' is a %s; a Lua step's saved state holds numbers, text, booleans, tables and "
                    "Matrix values only",
                 path.c_str(), luaL_typename(L, idx));
  }
}

// A decoded value (parsed in C++ first, so that a corrupt record throws there, then
// pushed by push_node, where no C++ object is made).
struct Node {
  std::uint8_t type = kNil;
  std::int64_t i = 0;
  double f = 0;
  std::string s;
  std::shared_ptr<nl::Matrix> m;
  std::vector<Node> keys, values;  // a table's fields (std::vector allows the incomplete Node)
};

Node parse(Reader& r, int depth) {
  if (depth > 64) r.fail("a Lua step's state nests too deep");
  Node n;
  n.type = r.u8();
  switch (n.type) {
    case kNil:
    case kFalse:
    case kTrue: break;
    case kInt: n.i = r.i64(); break;
    case kFloat: n.f = r.f64(); break;
    case kString: n.s = r.str(); break;
    case kMatrix: n.m = std::make_shared<nl::Matrix>(r.matrix()); break;
    case kTable:
      for (;;) {
        Node key = parse(r, depth + 1);
        if (key.type == kEnd) break;
        if (key.type != kInt && key.type != kFloat && key.type != kString) r.fail("a Lua step's state has a bad key");
        Node value = parse(r, depth + 1);
        n.keys.push_back(std::move(key));
        n.values.push_back(std::move(value));
      }
      break;
    case kEnd: break;
    default: r.fail("a Lua step's state has an unknown value type");
  }
  return n;
}

void push_node(lua_State* L, const Node& n) {
  luaL_checkstack(L, 4, "Lua step state");
  switch (n.type) {
    case kFalse: lua_pushboolean(L, 0); return;
    case kTrue: lua_pushboolean(L, 1); return;
    case kInt: lua_pushinteger(L, n.i); return;
    case kFloat: lua_pushnumber(L, n.f); return;
    case kString: lua_pushlstring(L, n.s.data(), n.s.size()); return;
    case kMatrix: *new_object<nl::Matrix>(L) = n.m; return;
    case kTable:
      lua_createtable(L, 0, static_cast<int>(n.keys.size()));
      for (std::size_t k = 0; k < n.keys.size(); ++k) {
        push_node(L, n.keys[k]);
        push_node(L, n.values[k]);
        lua_rawset(L, -3);
      }
      return;
    default: lua_pushnil(L); return;
  }
}

// ---------------------------------------------------------------- the step

// Pushes a copy of m as a neurolua Matrix (a Lua error when memory runs out).
void push_matrix(lua_State* L, const nl::Matrix& m) {
  protect(L, [&] {
    *new_object<nl::Matrix>(L) = std::make_shared<nl::Matrix>(m);
    return 0;
  });
}

// Pushes a copy of t as a neurolua Table, or nil.
void push_table(lua_State* L, const nl::Table* t) {
  if (!t) {
    lua_pushnil(L);
    return;
  }
  protect(L, [&] {
    *new_object<nl::Table>(L) = std::make_shared<nl::Table>(*t);
    return 0;
  });
}

class LuaStep final : public nl::ml::Transform {
 public:
  // What a definition says, read once (the table may change later; the step keeps what
  // it was given at construction, like the built-in steps keep their options).
  struct Info {
    std::string name;
    bool label_dependent = false;
    bool backproject = false;
    std::vector<std::string> covariates;
  };

  LuaStep(std::shared_ptr<Ref> def, Info info) : def_(std::move(def)), info_(std::move(info)) {}

  std::unique_ptr<Transform> clone() const override { return std::make_unique<LuaStep>(def_, info_); }
  std::unique_ptr<Transform> copy() const override {
    auto c = std::make_unique<LuaStep>(def_, info_);
    c->self_ = self_;  // learned state is never changed after fit: shared
    c->p_out_ = p_out_;
    c->fitted_ = fitted_;
    c->p_in_ = p_in_;
    return c;
  }

  void fit(const Matrix& X, const Table* covariates) override {
    if (info_.label_dependent)
      throw ValueError(fmt::format("Lua step '{}' is label-dependent: it is fitted with the labels, in a pipeline",
                                   info_.name));
    do_fit(X, nullptr, covariates);
  }
  void fit_labelled(const Matrix& X, const Vector& y, const Table* covariates) override {
    do_fit(X, &y, covariates);
  }
  Matrix apply(const Matrix& X, const Table* covariates) const override {
    if (!fitted_) throw ValueError(fmt::format("Lua step '{}': not fitted (call fit first)", info_.name));
    if (X.cols() != p_in_)
      throw ValueError(fmt::format("Lua step '{}': fitted on {} features, got {}", info_.name, p_in_, X.cols()));
    return run_transform(X, covariates);
  }

  std::string name() const override { return info_.name; }
  std::string options() const override {
    return fmt::format("Lua step '{}'{}", info_.name, info_.label_dependent ? " (label-dependent)" : "");
  }
  std::vector<nl::ml::StateItem> state() const override { return {}; }
  Matrix backproject(const Matrix& w) const override;
  std::vector<std::string> covariates_used() const override { return info_.covariates; }
  bool label_dependent() const override { return info_.label_dependent; }
  Eigen::Index n_features_out() const override { return p_out_; }
  void save(Writer& w) const override;

  // Installs a decoded object (nl.cv.load).
  void restore(std::shared_ptr<Ref> self, Eigen::Index p_in, Eigen::Index p_out) {
    self_ = std::move(self);
    p_in_ = p_in;
    p_out_ = p_out;
    fitted_ = true;
  }

 protected:
  void load(Reader&) override {}

 private:
  struct Call {
    const LuaStep* step;
    const char* fn;
    const Matrix* X;
    const Vector* y;
    const Table* cov;
    const Matrix* w;
    Matrix out;
    std::shared_ptr<Ref> self;  // fit: the new object
    Writer* writer;             // save
  };

  void do_fit(const Matrix& X, const Vector* y, const Table* covariates);
  Matrix run_transform(const Matrix& X, const Table* covariates) const;
  static int fit_body(lua_State* L);
  static int transform_body(lua_State* L);
  static int save_body(lua_State* L);
  // Pushes the definition's function `fn` (raising naming it when absent) and self.
  static void push_call(lua_State* L, const Call& c, const Ref& self);
  static void read_result(lua_State* L, Call& c, Eigen::Index rows, const char* what);

  std::shared_ptr<Ref> def_;
  Info info_;
  std::shared_ptr<Ref> self_;
  Eigen::Index p_out_ = 0;
};

void LuaStep::push_call(lua_State* L, const Call& c, const Ref& self) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, c.step->def_->ref);
  if (lua_getfield(L, -1, c.fn) != LUA_TFUNCTION)
    luaL_error(L, "the definition has no function '%s'", c.fn);
  lua_remove(L, -2);
  lua_rawgeti(L, LUA_REGISTRYINDEX, self.ref);
}

void LuaStep::read_result(lua_State* L, Call& c, Eigen::Index rows, const char* what) {
  const auto* m = test<nl::Matrix>(L, -1);
  if (!m) luaL_error(L, "%s must return a Matrix, got %s", what, luaL_typename(L, -1));
  if (m->rows() != rows)
    luaL_error(L, "%s returned %d rows for %d", what, static_cast<int>(m->rows()), static_cast<int>(rows));
  for (Eigen::Index j = 0; j < m->cols(); ++j)
    for (Eigen::Index i = 0; i < m->rows(); ++i)
      if (!std::isfinite((*m)(i, j)))
        luaL_error(L, "%s returned a non-finite value (%f) at row %d, column %d", what, (*m)(i, j),
                   static_cast<int>(i + 1), static_cast<int>(j + 1));
  protect(L, [&] {
    c.out = *m;
    return 0;
  });
}

int LuaStep::fit_body(lua_State* L) {
  auto& c = *static_cast<Call*>(lua_touserdata(L, 1));
  // self: a new table whose metatable reads missing keys from the definition.
  lua_newtable(L);
  lua_newtable(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, c.step->def_->ref);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  const int ref = luaL_ref(L, LUA_REGISTRYINDEX);
  protect(L, [&] {
    c.self = std::make_shared<Ref>(main_thread(L), ref);
    return 0;
  });
  lua_pop(L, 1);
  push_call(L, c, *c.self);
  // fit(self, X, y, covariates): y (an n x 1 Matrix) is nil for a label-independent step.
  push_matrix(L, *c.X);
  if (c.y) push_matrix(L, nl::Matrix(*c.y));
  else lua_pushnil(L);
  push_table(L, c.cov);
  lua_call(L, 4, 0);
  return 0;
}

int LuaStep::transform_body(lua_State* L) {
  auto& c = *static_cast<Call*>(lua_touserdata(L, 1));
  push_call(L, c, *c.step->self_);
  if (c.w) {  // backproject(self, w)
    push_matrix(L, *c.w);
    lua_call(L, 2, 1);
    read_result(L, c, c.step->p_in_, "backproject");
    return 0;
  }
  push_matrix(L, *c.X);  // transform(self, X, covariates)
  push_table(L, c.cov);
  lua_call(L, 3, 1);
  read_result(L, c, c.X->rows(), "transform");
  return 0;
}

void LuaStep::do_fit(const Matrix& X, const Vector* y, const Table* covariates) {
  if (X.rows() == 0) throw ValueError(fmt::format("Lua step '{}': cannot fit on 0 rows", info_.name));
  if (y && y->size() != X.rows())
    throw ValueError(fmt::format("Lua step '{}': {} labels for {} rows", info_.name, y->size(), X.rows()));
  lua_State* L = current_state(info_.name);
  Call c{this, "fit", &X, y, covariates, nullptr, {}, nullptr, nullptr};
  call_lua(L, fit_body, &c, fmt::format("Lua step '{}': fit", info_.name));
  self_ = std::move(c.self);
  p_in_ = X.cols();
  fitted_ = true;
  // The output width, from the training rows themselves.
  p_out_ = run_transform(X, covariates).cols();
}

Matrix LuaStep::run_transform(const Matrix& X, const Table* covariates) const {
  lua_State* L = current_state(info_.name);
  Call c{this, "transform", &X, nullptr, covariates, nullptr, {}, nullptr, nullptr};
  call_lua(L, transform_body, &c, fmt::format("Lua step '{}': transform", info_.name));
  if (p_out_ > 0 && c.out.cols() != p_out_)
    throw ValueError(fmt::format("Lua step '{}': transform returned {} columns, {} on the training rows", info_.name,
                                 c.out.cols(), p_out_));
  return std::move(c.out);
}

Matrix LuaStep::backproject(const Matrix& w) const {
  check_backproject(w, p_out_);
  if (!info_.backproject)
    throw ValueError(fmt::format("Lua step '{}' defines no backproject(self, w), so weights cannot be mapped back "
                                 "through it to the input features",
                                 info_.name));
  lua_State* L = current_state(info_.name);
  Call c{this, "backproject", nullptr, nullptr, nullptr, &w, {}, nullptr, nullptr};
  call_lua(L, transform_body, &c, fmt::format("Lua step '{}': backproject", info_.name));
  return std::move(c.out);
}

int LuaStep::save_body(lua_State* L) {
  auto& c = *static_cast<Call*>(lua_touserdata(L, 1));
  lua_rawgeti(L, LUA_REGISTRYINDEX, c.step->self_->ref);
  // Only the object's own fields (its functions come from the definition).
  encode(L, -1, *c.writer, "", 0);
  return 0;
}

void LuaStep::save(Writer& w) const {
  nl::ml::ForeignRecord rec;
  rec.kind = "lua";
  rec.name = info_.name;
  rec.label_dependent = info_.label_dependent;
  rec.covariates = info_.covariates;
  rec.p_in = p_in_;
  rec.p_out = p_out_;
  rec.fitted = fitted_;
  if (fitted_) {
    lua_State* L = current_state(info_.name);
    Writer bytes;
    Call c{this, "save", nullptr, nullptr, nullptr, nullptr, {}, nullptr, &bytes};
    call_lua(L, save_body, &c, fmt::format("Lua step '{}': save", info_.name));
    rec.bytes = bytes.bytes();
  }
  nl::ml::save_foreign(w, rec);
}

// ---------------------------------------------------------------- definitions

// Reads the definition at the top of the stack into info (raising naming step k).
void read_info(lua_State* L, int idx, lua_Integer k, LuaStep::Info& info, std::string& name_out) {
  idx = lua_absindex(L, idx);
  const auto bad = [&](const char* msg) {
    luaL_error(L, "pipeline step %d (a Lua step): %s", static_cast<int>(k), msg);
  };
  if (raw_field(L, idx, "name") != LUA_TSTRING) bad("needs name = \"...\" (saved models refer to it by name)");
  name_out = lua_tostring(L, -1);
  lua_pop(L, 1);
  if (name_out.empty()) bad("its name is empty");
  for (char ch : name_out)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_')) bad("its name must hold letters, digits and _ only");
  if (raw_field(L, idx, "fit") != LUA_TFUNCTION) bad("needs fit = function(self, X, y, covariates)");
  lua_pop(L, 1);
  if (raw_field(L, idx, "transform") != LUA_TFUNCTION) bad("needs transform = function(self, X, covariates)");
  lua_pop(L, 1);
  const int ld = raw_field(L, idx, "label_dependent");
  if (ld != LUA_TNIL && ld != LUA_TBOOLEAN) bad("label_dependent must be true or false");
  info.label_dependent = lua_toboolean(L, -1);
  lua_pop(L, 1);
  const int bp = raw_field(L, idx, "backproject");
  if (bp != LUA_TNIL && bp != LUA_TFUNCTION) bad("backproject must be a function(self, w)");
  info.backproject = bp == LUA_TFUNCTION;
  lua_pop(L, 1);
  const int ct = raw_field(L, idx, "covariates");
  if (ct != LUA_TNIL) {
    if (ct != LUA_TTABLE) bad("covariates must be a list of column names");
    const auto n = static_cast<lua_Integer>(lua_rawlen(L, -1));
    for (lua_Integer i = 1; i <= n; ++i) {
      if (lua_rawgeti(L, -1, i) != LUA_TSTRING) bad("covariates must be a list of column names");
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
}

void read_covariates(lua_State* L, int idx, std::vector<std::string>& out) {
  if (raw_field(L, idx, "covariates") == LUA_TTABLE) {
    const auto n = static_cast<lua_Integer>(lua_rawlen(L, -1));
    for (lua_Integer i = 1; i <= n; ++i) {
      lua_rawgeti(L, -1, i);
      if (lua_type(L, -1) == LUA_TSTRING) out.emplace_back(lua_tostring(L, -1));
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
}

struct RestoreCall {
  int def_ref;
  const Node* state;
  std::shared_ptr<Ref> self;
};

int restore_body(lua_State* L) {
  auto& c = *static_cast<RestoreCall*>(lua_touserdata(L, 1));
  push_node(L, *c.state);
  lua_newtable(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, c.def_ref);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);
  const int ref = luaL_ref(L, LUA_REGISTRYINDEX);
  protect(L, [&] {
    c.self = std::make_shared<Ref>(main_thread(L), ref);
    return 0;
  });
  return 0;
}

}  // namespace

LuaStepScope::LuaStepScope(bool serial) {
  if (serial) serial_ = std::make_unique<nl::SerialScope>();
}

LuaStepScope::~LuaStepScope() = default;

bool is_lua_step(lua_State* L, int idx) {
  if (lua_type(L, idx) != LUA_TTABLE) return false;
  idx = lua_absindex(L, idx);
  lua_pushliteral(L, "fit");
  const int f = lua_rawget(L, idx);
  lua_pushliteral(L, "transform");
  const int t = lua_rawget(L, idx);
  lua_pop(L, 2);
  return f != LUA_TNIL || t != LUA_TNIL;
}

int check_lua_step(lua_State* L, int idx, lua_Integer k) {
  LuaStep::Info info;
  std::string name;
  read_info(L, idx, k, info, name);
  lua_pushvalue(L, idx);
  return luaL_ref(L, LUA_REGISTRYINDEX);
}

std::shared_ptr<nl::ml::Transform> make_lua_step(lua_State* L, int definition_ref) {
  auto def = std::make_shared<Ref>(main_thread(L), definition_ref);
  LuaStep::Info info;
  lua_rawgeti(L, LUA_REGISTRYINDEX, definition_ref);
  const int d = lua_gettop(L);
  raw_field(L, d, "name");
  info.name = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?";
  lua_pop(L, 1);
  raw_field(L, d, "label_dependent");
  info.label_dependent = lua_toboolean(L, -1);
  lua_pop(L, 1);
  raw_field(L, d, "backproject");
  info.backproject = lua_isfunction(L, -1);
  lua_pop(L, 1);
  read_covariates(L, d, info.covariates);
  lua_pop(L, 1);
  return std::make_shared<LuaStep>(std::move(def), std::move(info));
}

bool has_lua_steps(const nl::ml::PipelineSpec& spec) {
  for (const auto& s : spec.steps)
    if (dynamic_cast<const LuaStep*>(s.get())) return true;
  for (const auto& s : spec.filters)
    if (dynamic_cast<const LuaStep*>(s.get())) return true;
  return false;
}

nl::ml::ForeignResolver lua_step_resolver(lua_State* L, int steps_idx, const std::string& path) {
  return [L, steps_idx, path](const nl::ml::ForeignRecord& rec) -> std::unique_ptr<nl::ml::Transform> {
    if (rec.kind != "lua") return nullptr;
    int type = LUA_TNIL;
    if (steps_idx) {
      lua_pushstring(L, rec.name.c_str());
      type = lua_rawget(L, steps_idx);
    } else {
      lua_pushnil(L);
    }
    if (type != LUA_TTABLE) {
      lua_pop(L, 1);
      throw FileError(fmt::format("{}: the model uses the Lua step '{}'; give its definition when loading: "
                                  "nl.cv.load(path, {{steps = {{{} = definition}}}})",
                                  path, rec.name, rec.name));
    }
    const int ref = luaL_ref(L, LUA_REGISTRYINDEX);
    auto step = make_lua_step(L, ref);
    auto* ls = static_cast<LuaStep*>(step.get());
    if (ls->label_dependent() != rec.label_dependent)
      throw FileError(fmt::format("{}: the Lua step '{}' was saved {} label-dependent, but the definition given says "
                                  "the opposite",
                                  path, rec.name, rec.label_dependent ? "as" : "as not"));
    std::unique_ptr<LuaStep> out(static_cast<LuaStep*>(ls->clone().release()));
    if (rec.fitted) {
      Reader r(rec.bytes, path, 4);
      const Node state = parse(r, 0);
      if (state.type != kTable || !r.done()) r.fail(fmt::format("the saved object of Lua step '{}' is malformed", rec.name));
      RestoreCall c{ref, &state, nullptr};
      call_lua(L, restore_body, &c, fmt::format("{}: Lua step '{}'", path, rec.name));
      out->restore(std::move(c.self), rec.p_in, rec.p_out);
    }
    return out;
  };
}

}  // namespace nl::bind
