#!/usr/bin/env python3
"""make_wide.py OUT COLUMNS ROWS: a CSV with an id column and COLUMNS-1 number columns."""
import random
import sys

out, ncol, nrow = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(17)
with open(out, "w") as f:
    f.write("participant_id," + ",".join(f"v{j}" for j in range(1, ncol)) + "\n")
    for i in range(nrow):
        f.write(f"sub-{i + 1:03d}," + ",".join(f"{rng.random():.4f}" for _ in range(ncol - 1)) + "\n")
