#!/usr/bin/env python3
"""peer_pandas.py FILE: pandas.read_csv on the same file, the read time in seconds."""
import sys
import time

import pandas as pd

t0 = time.process_time()
df = pd.read_csv(sys.argv[1])
print(f"{df.shape[0]} rows x {df.shape[1]} columns, read in {time.process_time() - t0:.2f} s")
