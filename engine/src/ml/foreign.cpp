// ml/foreign.cpp: steps whose code lives outside the engine (nl/ml/transform.hpp,
// "foreign steps"): their record, the per-thread resolver, and the placeholder a model
// file gives when no resolver knows the step.
#include <fmt/format.h>

#include "nl/core/core.hpp"
#include "nl/io/serial.hpp"
#include "nl/ml/transform.hpp"

namespace nl::ml {

namespace {

thread_local ForeignResolver* current_resolver = nullptr;
thread_local ForeignResolver resolver_storage;

// What a model file holds for a step no resolver rebuilt: the record, kept as it is (so
// saving the model again loses nothing), refusing to fit or apply.
class ForeignStep final : public Transform {
 public:
  explicit ForeignStep(ForeignRecord record) : record_(std::move(record)) {
    fitted_ = record_.fitted;
    p_in_ = record_.p_in;
  }
  std::unique_ptr<Transform> clone() const override { return std::make_unique<ForeignStep>(record_); }
  std::unique_ptr<Transform> copy() const override { return std::make_unique<ForeignStep>(record_); }
  void fit(const Matrix&, const Table*) override { refuse(); }
  void fit_labelled(const Matrix&, const Vector&, const Table*) override { refuse(); }
  Matrix apply(const Matrix&, const Table*) const override { refuse(); }
  std::string name() const override { return record_.name; }
  std::string options() const override { return fmt::format("{} step '{}' (not loaded)", record_.kind, record_.name); }
  std::vector<StateItem> state() const override { return {}; }
  Matrix backproject(const Matrix&) const override { refuse(); }
  std::vector<std::string> covariates_used() const override { return record_.covariates; }
  bool label_dependent() const override { return record_.label_dependent; }
  void save(Writer& w) const override { save_foreign(w, record_); }
  Eigen::Index n_features_out() const override { return record_.p_out; }

 protected:
  void load(Reader&) override {}

 private:
  [[noreturn]] void refuse() const {
    throw ValueError(fmt::format("the {} step '{}' of this model is not defined: give its definition when loading "
                                 "(nl.cv.load(path, {{steps = {{{} = ...}}}}))",
                                 record_.kind, record_.name, record_.name));
  }
  ForeignRecord record_;
};

}  // namespace

void save_foreign(Writer& w, const ForeignRecord& r) {
  w.tag("step");
  w.str("foreign");
  w.str(r.kind);
  w.str(r.name);
  w.boolean(r.label_dependent);
  w.strings(r.covariates);
  w.i64(r.p_in);
  w.i64(r.p_out);
  w.boolean(r.fitted);
  w.str(r.bytes);
}

// Called by read_transform after the record name "foreign".
std::unique_ptr<Transform> read_foreign(Reader& r) {
  ForeignRecord rec;
  rec.kind = r.str();
  rec.name = r.str();
  rec.label_dependent = r.boolean();
  rec.covariates = r.strings();
  rec.p_in = r.i64();
  rec.p_out = r.i64();
  if (rec.p_in < 0 || rec.p_out < 0) r.fail("a foreign step's width is negative");
  rec.fitted = r.boolean();
  rec.bytes = r.str();
  if (current_resolver && *current_resolver) {
    auto t = (*current_resolver)(rec);
    if (t) return t;
  }
  return std::make_unique<ForeignStep>(std::move(rec));
}

ForeignStepResolver::ForeignStepResolver(ForeignResolver resolver) {
  previous_ = current_resolver ? *current_resolver : ForeignResolver{};
  resolver_storage = std::move(resolver);
  current_resolver = &resolver_storage;
}

ForeignStepResolver::~ForeignStepResolver() {
  resolver_storage = std::move(previous_);
  current_resolver = resolver_storage ? &resolver_storage : nullptr;
}

}  // namespace nl::ml
