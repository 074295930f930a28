#!/usr/bin/env python3
"""Reference fixtures for the Table exploration functions (describe, group_by/agg,
value_counts, pivot, melt, quantiles), computed with pandas and numpy.

Run from this folder with Debian's python3 (python3-pandas, python3-numpy):
    /usr/bin/python3 make_fixtures.py
It writes the inputs (participants.tsv, fc_long.tsv) and the expected outputs, and
versions.txt with the versions used. Missing cells are written as n/a (neurolua's and
pandas' readers both read that as missing); floats are written with 17 significant
digits so that nothing is lost.
"""
import platform

import numpy as np
import pandas as pd

rng = np.random.default_rng(20240516)

# ---------------------------------------------------------------- inputs

n = 31
ids = [f"sub-{i:02d}" for i in range(1, n + 1)]
group = rng.choice(["patient", "control"], n).astype(object)
group[[4, 17]] = None  # NA keys form their own group
sex = rng.choice(["F", "M"], n).astype(object)
site = rng.choice(["A", "B", "C"], n, p=[0.5, 0.3, 0.2]).astype(object)
site[[9, 22, 23]] = None
age = np.round(rng.normal(40, 12, n), 1)
age[[3, 11, 26]] = np.nan
madrs = rng.integers(5, 45, n).astype(float)
responder = rng.choice([True, False], n).astype(object)
responder[[2, 20]] = None
hippo = np.round(rng.normal(4200, 350, n), 3)
ventricle = np.round(rng.normal(900, 150, n), 2)
ventricle[7] = np.nan

df = pd.DataFrame({
    "participant_id": ids, "group": group, "sex": sex, "site": site, "age": age,
    "madrs": madrs, "responder": responder, "Left-Hippocampus": hippo, "3rd-Ventricle": ventricle,
})


def fmt(v):
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return "n/a"
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (float, np.floating)):
        return repr(float(v)) if float(v) != int(v) or abs(v) > 1e15 else str(int(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return str(v)


def write(frame, path):
    with open(path, "w") as f:
        f.write("\t".join(frame.columns) + "\n")
        for row in frame.itertuples(index=False):
            f.write("\t".join(fmt(v) for v in row) + "\n")


write(df, "participants.tsv")
# Read back as neurolua will see it.
df = pd.read_csv("participants.tsv", sep="\t", na_values=["n/a"], keep_default_na=False)

# ---------------------------------------------------------------- describe

desc = df.describe(include="all").T  # count unique top freq mean std min 25% 50% 75% max
rows = []
for name in df.columns:
    col = df[name]
    d = desc.loc[name]
    kind = "number" if pd.api.types.is_float_dtype(col) or pd.api.types.is_integer_dtype(col) else (
        "bool" if set(col.dropna().unique()) <= {True, False} else "string")
    r = {"name": name, "type": kind, "n": int(col.count()), "missing": int(col.isna().sum())}
    for k in ["mean", "std", "min", "25%", "50%", "75%", "max"]:
        r[k] = float(d[k]) if kind == "number" else None
    for k in ["unique", "top", "freq"]:
        r[k] = d[k] if kind != "number" else None
    rows.append(r)
write(pd.DataFrame(rows), "describe.tsv")

# ---------------------------------------------------------------- group_by / agg

g = df.groupby(["group", "sex"], dropna=False, sort=True)
agg = g.agg(
    n=("age", "count"), age_sum=("age", "sum"), age_mean=("age", "mean"), age_std=("age", "std"),
    age_min=("age", "min"), age_max=("age", "max"), age_median=("age", "median"),
    first_id=("participant_id", "first"), age_missing=("age", lambda s: int(s.isna().sum())),
    madrs_mean=("madrs", "mean"),
).reset_index()
write(agg, "groupby.tsv")
write(g.size().rename("n").reset_index(), "groupby_size.tsv")

# ---------------------------------------------------------------- value_counts

vc = df["site"].value_counts(dropna=False)
vcn = df["site"].value_counts(dropna=False, normalize=True)
write(pd.DataFrame({"value": vc.index, "count": vc.values, "proportion": vcn[vc.index].values}),
      "value_counts_site.tsv")

# ---------------------------------------------------------------- pivot / melt

long_rows = []
for i in range(1, 7):
    for run in [1, 2, 3]:
        if (i, run) == (4, 2):
            continue  # a missing run: an NA cell in the wide table
        long_rows.append({"participant_id": f"sub-{i:02d}", "run": run, "fc": float(np.round(rng.normal(0.3, 0.1), 4))})
long = pd.DataFrame(long_rows)
write(long, "fc_long.tsv")
wide = long.pivot(index="participant_id", columns="run", values="fc")
wide.columns = [f"run_{c}" for c in wide.columns]
write(wide.reset_index(), "fc_wide.tsv")
back = wide.reset_index().melt(id_vars=["participant_id"], value_vars=["run_1", "run_2", "run_3"],
                               var_name="run", value_name="fc")
# neurolua's melt is row-major (each participant's runs together, as tidyr's pivot_longer)
back = back.sort_values(["participant_id", "run"], kind="stable")
write(back, "fc_melted.tsv")

# ---------------------------------------------------------------- quantiles (numpy default: linear, type 7)

x = np.array([3.5, -1.0, 7.25, 0.0, 2.0, 11.0, 4.125, 9.0, -3.5, 5.0, 6.0])
ps = [0.0, 0.1, 0.25, 1 / 3, 0.5, 0.75, 0.9, 0.99, 1.0]
with open("quantiles.tsv", "w") as f:
    f.write("p\tq\n")
    for p in ps:
        f.write(f"{p!r}\t{float(np.quantile(x, p))!r}\n")
with open("quantiles_x.txt", "w") as f:
    f.write(" ".join(repr(float(v)) for v in x) + "\n")

with open("versions.txt", "w") as f:
    f.write(f"python {platform.python_version()}\nnumpy {np.__version__}\npandas {pd.__version__}\n")
