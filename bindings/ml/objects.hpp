// bindings/ml/objects.hpp: the Lua-side model objects of nl.ml, shared by
// bindings/ml/estimator.cpp (the estimators) and bindings/ml/model.cpp (the wrapper and
// the pipeline): options plus, once fitted, the learned state.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/common.hpp"
#include "ml/args.hpp"
#include "nl/ml/pipeline.hpp"

namespace nl::bind {

// Any estimator: nl.ml.svc, svr, logistic, ridge, kernel_ridge, kernel_svc.
struct SvcObject {
  nl::ml::SvcSpec spec;
  std::vector<double> grid;  // the C (or alpha) values; one value unless a grid was given
  std::optional<nl::ml::LinearSvcModel> model;
};
struct SelectObject {
  nl::ml::ForwardSelectOptions options;
};
struct PipelineObject {
  nl::ml::PipelineSpec spec;
  std::vector<double> grid;
  std::optional<nl::ml::FittedPipeline> fitted;
  Eigen::Index n_in = 0;
};

template <>
struct TypeName<SvcObject> {
  static constexpr const char* value = "neurolua.Estimator";
};
template <>
struct TypeName<SelectObject> {
  static constexpr const char* value = "neurolua.ForwardSelect";
};
template <>
struct TypeName<PipelineObject> {
  static constexpr const char* value = "neurolua.Pipeline";
};

// The estimator as written: "svr{C = {1, 2}, epsilon = 0.1, bias = true, tol = 0.001}".
std::string estimator_options(const SvcObject& s);
// "C" or "alpha": the name of the estimator's grid parameter.
const char* grid_parameter(const nl::ml::SvcSpec& spec);

// Targets at idx for the estimator: labels (validate_labels, with lo) for a classifier,
// numbers for a regressor (validate_scores). Raises naming the argument; returns n.
lua_Integer validate_targets(lua_State* L, int idx, const char* what, const nl::ml::SvcSpec& spec,
                             const LabelOptions& lo);
// Reads them (inside protect(), after validate_targets); classes as read_labels.
void read_targets(lua_State* L, int idx, nl::Vector& y, const nl::ml::SvcSpec& spec, const LabelOptions& lo,
                  nl::ml::ClassLabels* classes = nullptr);

// Registers the estimator type and adds its constructors to the nl.ml table on top.
void open_ml_estimators(lua_State* L);

}  // namespace nl::bind
