#!/usr/bin/python3
"""bench/cv/summary.py FILE...: the summary table of bench/cv/run.sh.

Reads the `key value` lines of bench_cv.lua and peer_sklearn.py (a key seen more than
once, like the repeated PCA timings, is summarized by its median) and prints the
figures, the ratios against the scikit-learn peer, the goals, and where neurolua's
time goes (the engine's nested CV with the C grid cut short, and per-call costs of
the stages on CV1 partitions).
"""
import statistics
import sys

vals = {}
for path in sys.argv[1:]:
    with open(path) as f:
        for line in f:
            parts = line.split(None, 1)
            if len(parts) == 2:
                vals.setdefault(parts[0], []).append(parts[1].strip())


def num(key):
    v = vals.get(key)
    return statistics.median(float(x) for x in v) if v else float("nan")


def best(key):
    v = vals.get(key)
    return min(float(x) for x in v) if v else float("nan")


def text(key):
    v = vals.get(key)
    return v[-1] if v else "?"


def ok(met):
    return "met" if met else "NOT met"


PARTS, INNER, GRID, PERMS = 15, 15, 11, 1000
MODELS = PARTS * INNER  # base models = CV1 partitions per nested CV
threads = int(num("nl_threads"))
outer = int(num("sk_outer_folds")) if "sk_outer_folds" in vals else 0
extrap = "" if outer in (0, 15) else f" (extrapolated from {outer} of 15 outer folds)"

print("\n== Discovery analysis, neurolua (99 x 136, CV2 3x5, CV1 3x5, 11 C values) ==")
print(f"  {'stage':<52} {'wall s':>8} {'CPU s':>8}")
rows = [
    ("whole analysis: RobPCA + wrapper + 1000 NM perms", "nl_whole_wall", "nl_whole_cpu"),
    ("  nested CV alone (RobPCA + wrapper)", "nl_nested_wall", "nl_nested_cpu"),
    ("  one NeuroMiner-mode permutation", "nl_nm_perm_wall", "nl_nm_perm_cpu"),
    (f"  one full-mode permutation (mean of {int(num('nl_full_perms'))})", "nl_full_perm_wall",
     "nl_full_perm_cpu"),
]
for name, w, c in rows:
    print(f"  {name:<52} {num(w):8.3f} {num(c):8.3f}")
print(f"  BAC {100 * num('nl_whole_bac'):.1f} %  AUC {num('nl_whole_auc'):.3f}  p = {num('nl_whole_p'):.4g} "
      f"({int(num('nl_whole_count'))} of {PERMS} permutations reached the observed BAC; (count+1)/(n+1))")
whole_ok = num("nl_whole_wall") < 60
print(f"  goal: whole analysis under 60 s wall on {threads} threads: {ok(whole_ok)}")

print("\n== Like-for-like: nested CV with PCA(13), no wrapper; neurolua vs scikit-learn"
      f" {text('sk_version')}{extrap} ==")
print(f"  {'configuration':<44} {'wall s':>8} {'CPU s':>8} {'BAC %':>6} {'AUC':>6}")
nl1w, nl1c, nlnw, nlnc = num("nl_pca_wall_t1"), num("nl_pca_cpu_t1"), num(f"nl_pca_wall_t{threads}"), num(
    f"nl_pca_cpu_t{threads}")
sk1w, sk1c, sk2w, sk2c = num("sk1_wall"), num("sk1_cpu"), num("sk2_wall"), num("sk2_cpu")
nb, na = 100 * num("nl_pca_bac"), num("nl_pca_auc")
sb, sa = 100 * num("sk1_bac"), num("sk1_auc")
reps = len(vals.get("nl_pca_wall_t1", []))
print(f"  {'neurolua, 1 thread':<44} {nl1w:8.3f} {nl1c:8.3f} {nb:6.1f} {na:6.3f}   (median of {reps}; best"
      f" {best('nl_pca_wall_t1'):.3f})")
print(f"  {f'neurolua, {threads} threads':<44} {nlnw:8.3f} {nlnc:8.3f} {nb:6.1f} {na:6.3f}   (median of {reps}; best"
      f" {best(f'nl_pca_wall_t{threads}'):.3f})")
print(f"  {'scikit-learn, n_jobs=1':<44} {sk1w:8.3f} {sk1c:8.3f} {sb:6.1f} {sa:6.3f}")
if "sk2_wall" in vals:
    print(f"  {'scikit-learn, n_jobs=2 (CPU: parent only)':<44} {sk2w:8.3f} {sk2c:8.3f} "
          f"{100 * num('sk2_bac'):6.1f} {num('sk2_auc'):6.3f}")
print("  ratios (scikit-learn time / neurolua time):")
r1w, r1c = sk1w / nl1w, sk1c / nl1c
print(f"    1 thread vs n_jobs=1: wall {r1w:6.1f}x   CPU {r1c:6.1f}x")
best_sk = min(sk1w, sk2w) if "sk2_wall" in vals else sk1w
rnw = best_sk / nlnw
print(f"    {threads} threads vs scikit-learn's best wall (n_jobs=1 or 2): {rnw:6.1f}x")
print(f"  goal: >= 100x faster (single core, wall): {ok(r1w >= 100)}; "
      f"({threads} threads vs best peer: {ok(rnw >= 100)})")
print(f"  chosen C per outer fold, neurolua:     {text('nl_pca_chosen_C')}")
print(f"  chosen C per outer fold, scikit-learn: {text('sk1_chosen_C')}")

if "prof_nested_pca_C11" in vals:
    print("\n== Where neurolua's time goes (CPU s on one thread) ==")
    print("  The engine's own nested CV with the C grid cut to {2^-6} and to 2^-6..2^1; the"
          " differences are what the dropped C values cost:")
    for name, key, extra in [("PCA, no wrapper", "pca", "prof_pca_fit_pca"),
                             ("RobPCA + wrapper", "robpca_wrapper", "prof_robpca_fit_robpca")]:
        c1, c8, c11 = (num(f"prof_nested_{key}_C{g}") for g in (1, 8, 11))
        print(f"  nested CV, {name}: {c11:.3f} s")
        print(f"    {'preprocessing of 225 CV1 partitions + C = 2^-6 + base models':<62} {c1:7.3f} s "
              f"{100 * c1 / c11:5.1f} %")
        print(f"      ({MODELS} x {1e3 * num(extra):.2f} ms for the {'PCA' if key == 'pca' else 'RobPCA'} fits"
              f" = {MODELS * num(extra):.3f} s, measured alone)")
        print(f"    {'C = 2^-5 .. 2^1 (7 values)':<62} {c8 - c1:7.3f} s {100 * (c8 - c1) / c11:5.1f} %")
        print(f"    {'C = 4, 8, 16 (3 values)':<62} {c11 - c8:7.3f} s {100 * (c11 - c8) / c11:5.1f} %")
    parts = int(num("prof_partitions"))
    print(f"  Per call, mean of {parts} CV1 partitions (44 training rows x 13 components; 22 validation rows):")
    print(f"    {'C':>9} {'SVC passes':>10} {'SVC fit+score us':>17} {'wrapper run us':>15}")
    for e in range(-6, 5):
        c = f"{2.0 ** e:g}"
        print(f"    {'2^' + str(e):>9} {num('prof_pca_svc_iter_C' + c):10.0f} {1e6 * num('prof_pca_svc_C' + c):17.1f}"
              f" {1e6 * num('prof_robpca_wrapper_C' + c):15.0f}")
    base_sel = num("prof_robpca_base_model_selected")
    print(f"    base model on CV1-train + CV1-test, C = 1: {1e6 * num('prof_pca_base_model'):.0f} us (13 components),"
          f" {1e6 * base_sel:.0f} us ({num('prof_robpca_wrapper_selected'):.1f} selected)")
    print(f"  One NeuroMiner-mode permutation retrains the {MODELS} base SVCs at each fold's chosen C:"
          f" {1e3 * num('nl_nm_perm_cpu'):.1f} ms CPU ({1e6 * num('nl_nm_perm_cpu') / MODELS:.0f} us per model);"
          f" chosen C: {text('nl_whole_chosen_C')}")
    print(f"  One full-mode permutation re-runs the grid and the wrapper, not the preprocessing:"
          f" {num('nl_full_perm_cpu'):.2f} s CPU (nested CV {num('nl_nested_cpu'):.2f} s, of which RobPCA"
          f" about {MODELS * num('prof_robpca_fit_robpca'):.2f} s)")
