// Tests of nl/core: random streams, parallel-for, interruption.
#include <catch2/catch.hpp>
#include <algorithm>

#include <chrono>
#include <cmath>
#include <mutex>
#include <numeric>
#include <set>
#include <thread>
#include <vector>

#include "nl/core/core.hpp"
#include "nl/core/warnings.hpp"

TEST_CASE("Rng: same seed and stream give the same sequence", "[core]") {
  nl::Rng a(42, 3), b(42, 3), c(42, 4), d(43, 3);
  bool differs_c = false, differs_d = false;
  for (int i = 0; i < 100; ++i) {
    const auto x = a.next();
    REQUIRE(x == b.next());
    differs_c |= x != c.next();
    differs_d |= x != d.next();
  }
  REQUIRE(differs_c);
  REQUIRE(differs_d);
}

TEST_CASE("Rng: uniform and normal moments", "[core]") {
  nl::Rng r(1);
  const int n = 400000;
  double su = 0, su2 = 0, sn = 0, sn2 = 0, sn4 = 0;
  for (int i = 0; i < n; ++i) {
    const double u = r.uniform();
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    su += u;
    su2 += u * u;
    const double z = r.normal();
    sn += z;
    sn2 += z * z;
    sn4 += z * z * z * z;
  }
  // Tolerances are about 5 standard errors.
  CHECK(std::fabs(su / n - 0.5) < 5 * std::sqrt(1.0 / 12 / n));
  CHECK(std::fabs(su2 / n - 1.0 / 3) < 0.002);
  CHECK(std::fabs(sn / n) < 5 / std::sqrt(n));
  CHECK(std::fabs(sn2 / n - 1) < 5 * std::sqrt(2.0 / n));
  CHECK(std::fabs(sn4 / n - 3) < 0.05);  // normal kurtosis
}

TEST_CASE("Rng: below is unbiased (chi-squared)", "[core]") {
  nl::Rng r(7);
  const int k = 7, n = 70000;
  std::vector<int> counts(k, 0);
  for (int i = 0; i < n; ++i) {
    const auto v = r.below(k);
    REQUIRE(v < static_cast<std::uint64_t>(k));
    ++counts[v];
  }
  double chi2 = 0;
  for (int c : counts) chi2 += (c - n / double(k)) * (c - n / double(k)) / (n / double(k));
  CHECK(chi2 < 22.46);  // chi-squared(6) 0.999 quantile
}

TEST_CASE("Rng: independent streams are uncorrelated", "[core]") {
  nl::Rng a(5, 0), b(5, 1);
  const int n = 100000;
  double sab = 0;
  for (int i = 0; i < n; ++i) sab += (a.uniform() - 0.5) * (b.uniform() - 0.5);
  CHECK(std::fabs(sab / n * 12) < 5 / std::sqrt(n));
}

TEST_CASE("Rng: shuffle is a permutation", "[core]") {
  nl::Rng r(9);
  std::vector<int> v(50);
  std::iota(v.begin(), v.end(), 0);
  r.shuffle(v);
  REQUIRE(std::set<int>(v.begin(), v.end()).size() == 50);
  bool moved = false;
  for (int i = 0; i < 50; ++i) moved |= v[i] != i;
  REQUIRE(moved);
}

TEST_CASE("parallel_for: result independent of the thread count", "[core]") {
  auto run = [](int threads) {
    nl::set_threads(threads);
    std::vector<double> out(64);
    nl::parallel_for(out.size(), [&](std::size_t i) {
      nl::Rng r(11, i);  // one stream per task
      double s = 0;
      for (int k = 0; k < 1000; ++k) s += r.normal();
      out[i] = s;
    });
    return out;
  };
  const auto one = run(1), two = run(2), four = run(4);
  REQUIRE(one == two);
  REQUIRE(one == four);
  nl::set_threads(2);
}

TEST_CASE("parallel_for: nested loops run the inner one serially, with the same results", "[core]") {
  // The outer tasks each run an inner parallel_for (as ROBPCA's MCD inside a
  // cross-validation fold): the inner tasks must stay on the outer task's thread, and
  // the results must not depend on the thread count.
  auto run = [](int threads, bool& inner_on_own_thread, bool& flagged) {
    nl::set_threads(threads);
    std::vector<double> out(8 * 40);
    inner_on_own_thread = true;
    flagged = true;
    std::mutex mu;
    nl::parallel_for(8, [&](std::size_t o) {
      const auto outer_id = std::this_thread::get_id();
      const bool in_region = nl::in_parallel_region();
      nl::parallel_for(40, [&](std::size_t i) {
        nl::Rng r(5, o * 40 + i);
        double s = 0;
        for (int k = 0; k < 200; ++k) s += r.uniform();
        out[o * 40 + i] = s;
        std::lock_guard<std::mutex> lock(mu);
        if (std::this_thread::get_id() != outer_id) inner_on_own_thread = false;
      });
      std::lock_guard<std::mutex> lock(mu);
      if (in_region != (threads > 1)) flagged = false;
    });
    return out;
  };
  bool same_thread1, same_thread2, flag1, flag2;
  const auto one = run(1, same_thread1, flag1), two = run(2, same_thread2, flag2);
  CHECK(one == two);
  CHECK(same_thread2);  // with 2 threads the inner loops did not fan out
  CHECK(flag1);         // not a parallel region with one thread ...
  CHECK(flag2);         // ... but one with two
  CHECK_FALSE(nl::in_parallel_region());  // the calling thread is outside again
  // A top-level loop after the nested one runs in parallel again.
  std::set<std::thread::id> ids;
  std::mutex mu;
  nl::parallel_for(64, [&](std::size_t) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::lock_guard<std::mutex> lock(mu);
    ids.insert(std::this_thread::get_id());
  });
  CHECK(ids.size() == 2);
  nl::set_threads(2);
}

TEST_CASE("parallel_for: kept worker threads, many calls and concurrent callers", "[core]") {
  // Many short calls in a row, on the kept worker threads, each run every task once;
  // two host threads calling at the same time (one gets the kept workers, the other
  // starts its own) both get complete, correct results.
  for (int threads : {4, 2, 3}) {
    nl::set_threads(threads);
    for (int call = 0; call < 300; ++call) {
      std::vector<int> hit(37, 0);
      nl::parallel_for(hit.size(), [&](std::size_t i) {
        hit[i] += 1;
        if (i % 5 == 0) std::this_thread::yield();
      });
      REQUIRE(std::count(hit.begin(), hit.end(), 1) == 37);
    }
  }
  auto sums = [](std::uint64_t seed) {
    std::vector<double> out(200);
    for (int rep = 0; rep < 20; ++rep)
      nl::parallel_for(out.size(), [&](std::size_t i) {
        nl::Rng r(seed, i);
        out[i] = r.normal() + r.normal();
      });
    return out;
  };
  const auto ref_a = sums(1), ref_b = sums(2);
  std::vector<double> a, b;
  std::thread t1([&] { a = sums(1); }), t2([&] { b = sums(2); });
  t1.join();
  t2.join();
  CHECK(a == ref_a);
  CHECK(b == ref_b);
  nl::set_threads(2);
}

TEST_CASE("simd switch: AVX kernels can be turned off, not forced on", "[core]") {
  const bool initial = nl::simd_avx();
  nl::set_simd_avx(false);
  CHECK_FALSE(nl::simd_avx());
  nl::set_simd_avx(true);
  CHECK(nl::simd_avx() == initial);  // true only on a CPU with AVX
  nl::set_simd_avx(initial);
}

TEST_CASE("parallel_for: the first failing task's exception is rethrown", "[core]") {
  nl::set_threads(2);
  REQUIRE_THROWS_WITH(nl::parallel_for(100,
                                       [](std::size_t i) {
                                         if (i == 3 || i == 60) throw nl::ValueError("task " + std::to_string(i));
                                       }),
                      "task 3");
  REQUIRE_THROWS_AS(nl::set_threads(0), nl::ValueError);
}

TEST_CASE("interrupt: check_interrupt throws once and parallel_for stops", "[core]") {
  nl::clear_interrupt();
  REQUIRE_NOTHROW(nl::check_interrupt());
  nl::request_interrupt();
  REQUIRE(nl::interrupt_requested());
  REQUIRE_THROWS_AS(nl::check_interrupt(), nl::Interrupted);
  // The request stays until the host clears it, so that enclosing loops stop too.
  REQUIRE(nl::interrupt_requested());
  REQUIRE_THROWS_AS(nl::check_interrupt(), nl::Interrupted);
  nl::clear_interrupt();
  REQUIRE_FALSE(nl::interrupt_requested());

  for (int threads : {1, 2}) {
    nl::set_threads(threads);
    std::atomic<int> ran{0};
    REQUIRE_THROWS_AS(nl::parallel_for(1000,
                                       [&](std::size_t i) {
                                         ++ran;
                                         if (i == 5) nl::request_interrupt();
                                       }),
                      nl::Interrupted);
    REQUIRE(ran < 1000);
    nl::clear_interrupt();
  }
}

// Issue 16: a task that noticed the interrupt used to clear it, so the other workers ran
// their (long) tasks to the end. Every worker must stop at its next poll.
TEST_CASE("interrupt: every worker of a parallel_for stops at its next poll", "[core]") {
  nl::clear_interrupt();
  nl::set_threads(2);
  std::atomic<int> started{0}, finished{0};
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE_THROWS_AS(nl::parallel_for(2,
                                     [&](std::size_t i) {
                                       ++started;
                                       // Task 0 asks to stop once both run; task 1 polls for up to 20 s.
                                       while (started < 2) std::this_thread::yield();
                                       if (i == 0) {
                                         nl::request_interrupt();
                                         nl::check_interrupt();
                                       }
                                       for (int k = 0; k < 20000; ++k) {
                                         nl::check_interrupt();
                                         std::this_thread::sleep_for(std::chrono::milliseconds(1));
                                       }
                                       ++finished;
                                     }),
                    nl::Interrupted);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(finished == 0);
  CHECK(seconds < 5.0);
  nl::clear_interrupt();
}

TEST_CASE("warnings: solver_outcome warns at once or once per tally with the count", "[core]") {
  std::vector<std::string> got;
  nl::set_warning_sink([&](const std::string& m) { got.push_back(m); });
  nl::solver_outcome("SVC", true, "(max_iter 5)", "raise max_iter");
  CHECK(got.empty());
  nl::solver_outcome("SVC", false, "(max_iter 5)", "raise max_iter");
  REQUIRE(got.size() == 1);
  CHECK(got[0] == "SVC did not converge (max_iter 5); raise max_iter");
  got.clear();
  for (int threads : {1, 2}) {
    nl::set_threads(threads);
    nl::ConvergenceTally tally("the test");
    nl::parallel_for(40, [](std::size_t i) { nl::solver_outcome("SVC", i % 8 != 0, "(max_iter 5)", "raise max_iter"); });
    CHECK(got.empty());
    tally.finish();
    tally.finish();  // once only
    REQUIRE(got.size() == 1);
    CHECK(got[0] == "5 of 40 SVC fits in the test did not converge (max_iter 5); raise max_iter");
    got.clear();
  }
  {
    nl::ConvergenceTally tally("the test");
    nl::solver_outcome("SVC", true, "", "");
    tally.finish();  // nothing failed: nothing to say
  }
  CHECK(got.empty());
  CHECK(nl::detail::current_tally() == nullptr);
  nl::set_warning_sink({});
}
