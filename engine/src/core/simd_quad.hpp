// core/simd_quad.hpp (private to the engine): the four-double `Quad` of the hot kernels that
// are built twice, for any x86-64 CPU and for CPUs with AVX (chosen at run time with
// nl::simd_avx()): ml/svc_kernels.inc and stats/mcd_kernels.inc.
//
//   nl::simd::base::Quad  two SSE2 pairs (any CPU; GCC/Clang vector extensions)
//   nl::simd::avx::Quad   one AVX register (only where NL_HAVE_AVX_KERNELS)
//
// Both have the same operations in the same lane order (sum4 adds (q0 + q2) + (q1 + q3)),
// so a kernel written once against `Quad` gives bit-identical results in both builds.
// A kernel file includes its loop once inside a namespace that says
// `using namespace nl::simd::base;` and once, under `#pragma GCC target("avx")`, inside
// one that says `using namespace nl::simd::avx;`. may_alias and aligned(8) allow loads
// from any double array.
#pragma once

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define NL_HAVE_AVX_KERNELS 1
#else
#define NL_HAVE_AVX_KERNELS 0
#endif

namespace nl::simd {

typedef double Pair __attribute__((vector_size(16), may_alias, aligned(8)));

inline Pair load2(const double* p) { return *reinterpret_cast<const Pair*>(p); }
inline void store2(double* p, Pair v) { *reinterpret_cast<Pair*>(p) = v; }

namespace base {
struct __attribute__((may_alias)) Quad {
  Pair lo, hi;
};
inline Quad zero4() { return {Pair{0.0, 0.0}, Pair{0.0, 0.0}}; }
inline Quad load4(const double* p) { return {load2(p), load2(p + 2)}; }
inline void store4(double* p, Quad v) {
  store2(p, v.lo);
  store2(p + 2, v.hi);
}
inline Quad bcast4(double x) {
  const Pair b = {x, x};
  return {b, b};
}
inline Quad operator+(Quad a, Quad b) { return {a.lo + b.lo, a.hi + b.hi}; }
inline Quad operator-(Quad a, Quad b) { return {a.lo - b.lo, a.hi - b.hi}; }
inline Quad operator*(Quad a, Quad b) { return {a.lo * b.lo, a.hi * b.hi}; }
inline double sum4(Quad q) {
  const Pair c = q.lo + q.hi;  // (q0 + q2, q1 + q3)
  return c[0] + c[1];
}
}  // namespace base

#if NL_HAVE_AVX_KERNELS
#pragma GCC push_options
#pragma GCC target("avx")
namespace avx {
typedef double Quad __attribute__((vector_size(32), may_alias, aligned(8)));
inline Quad zero4() { return Quad{0.0, 0.0, 0.0, 0.0}; }
inline Quad load4(const double* p) { return *reinterpret_cast<const Quad*>(p); }
inline void store4(double* p, Quad v) { *reinterpret_cast<Quad*>(p) = v; }
inline Quad bcast4(double x) { return Quad{x, x, x, x}; }
inline double sum4(Quad q) { return (q[0] + q[2]) + (q[1] + q[3]); }
}  // namespace avx
#pragma GCC pop_options
#endif

}  // namespace nl::simd
