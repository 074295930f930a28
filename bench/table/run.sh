#!/usr/bin/env bash
# Reading a wide CSV (issue 17 item 6): 200,000 columns x 5 rows, neurolua against
# pandas (Debian's python3-pandas, /usr/bin/python3), CPU seconds of the read alone.
#   bench/table/run.sh [neurolua] [columns] [rows]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exe=${1:-build/neurolua}
cols=${2:-200000}
rows=${3:-5}
file=$(mktemp --suffix=.csv)
trap 'rm -f "$file"' EXIT
python3 "$here/make_wide.py" "$file" "$cols" "$rows"
echo "file: $cols columns x $rows rows, $(stat -c %s "$file") bytes"
echo -n "neurolua: "; "$exe" "$here/wide.lua" "$file"
if /usr/bin/python3 -c "import pandas" 2>/dev/null; then
  echo -n "pandas:   "; /usr/bin/python3 "$here/peer_pandas.py" "$file"
fi
