// bindings/ml/lua_step.hpp: pipeline steps written in Lua (issue 19, item 3).
//
//   local top_var = {
//     name = "top_variance",                 -- how saved models refer to it
//     label_dependent = false,               -- default false
//     covariates = { "age" },                -- covariate columns fit/transform read (optional)
//     fit = function(self, X, y, covariates) ... end,  -- learn; store state in self
//     transform = function(self, X, covariates) return Xnew end,
//     backproject = function(self, w) return w_in end,  -- optional (weights, weight maps)
//   }
//   nl.ml.pipeline{ nl.ml.scale{}, top_var, nl.ml.svc{} }
//
// A Lua step is a Transform (nl/ml/transform.hpp) whose fit and apply call the table's
// functions on a fresh object `self` (a table whose metatable __index is the
// definition): label-independent ones inside the cached preprocessing of every fold,
// label-dependent ones (y: an n x 1 Matrix of +1/-1 labels or targets) with each
// model. Lua runs on one thread, so a pipeline with a Lua step runs its cross-validation
// on the calling thread (LuaStepScope): the results are the same as on any number of
// threads. A fitted object is saved with the model (numbers, strings, booleans, nested
// tables and Matrix values; anything else is an error naming the field) under the
// step's name; nl.cv.load(path, {steps = {name = definition}}) gives it its functions
// again.
#pragma once

#include <memory>
#include <string>

#include "core/common.hpp"
#include "nl/core/core.hpp"
#include "nl/ml/pipeline.hpp"

namespace nl::bind {

// A Lua step calls into the Lua thread of the binding that runs it (calling_state(),
// bindings/core/lifetime.hpp). A binding whose engine call may reach a Lua step inside a
// parallel_for holds a LuaStepScope(has_lua_steps(spec)): with `serial` it keeps every
// parallel_for on this thread (nl::SerialScope).
class LuaStepScope {
 public:
  explicit LuaStepScope(bool serial);
  ~LuaStepScope();
  LuaStepScope(const LuaStepScope&) = delete;
  LuaStepScope& operator=(const LuaStepScope&) = delete;

 private:
  std::unique_ptr<nl::SerialScope> serial_;
};

// Whether the value at idx is a Lua table meant as a step (it has a `fit` or a
// `transform` field).
bool is_lua_step(lua_State* L, int idx);
// Checks the step table at idx (position k of the pipeline list, for messages): name
// (a string of letters, digits and _), fit and transform functions, label_dependent
// (boolean), covariates (a list of strings), backproject (a function) when present.
// Raises (a Lua error naming the step) otherwise. Returns a registry reference to the
// table (the caller owns it; make_lua_step takes it over).
int check_lua_step(lua_State* L, int idx, lua_Integer k);
// The step for a checked definition (inside protect(): throws).
std::shared_ptr<nl::ml::Transform> make_lua_step(lua_State* L, int definition_ref);

// Whether the pipeline holds a Lua step (its calls then need a serial LuaStepScope).
bool has_lua_steps(const nl::ml::PipelineSpec& spec);

// The resolver nl.cv.load installs: rebuilds the "lua" foreign steps of a model file
// from the definitions in the table at `steps_idx` (0: none given), by name; a step
// whose name the table lacks is a FileError naming the file, the step and the option.
nl::ml::ForeignResolver lua_step_resolver(lua_State* L, int steps_idx, const std::string& path);

}  // namespace nl::bind
