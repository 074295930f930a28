#!/usr/bin/env bash
# tools/bootstrap.sh: make a Debian 12 machine ready and build neurolua.
#
# Installs the Debian packages the build and the tests need when any is missing
# (apt-get; as root, or through sudo), configures CMake once (Release, warnings as
# errors) and builds. Idempotent: a second run installs nothing and rebuilds only what
# changed. Used by ./run.sh and ./test.sh.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${NEUROLUA_BUILD_DIR:-$root/build}

packages=(
  cmake g++ make pkg-config        # toolchain
  lua5.4 liblua5.4-dev             # Lua 5.4 (the stock interpreter loads neurolua.so in the tests)
  libeigen3-dev libfmt-dev         # engine
  libarmadillo-dev                 # engine: Armadillo's FFT (ideal band-pass) and Lanczos eigs_sym (truncated PCA)
  liblapack-dev                    # engine: LAPACK's dstemr (leading eigenpairs of a tall PCA)
  libboost-dev                     # engine: Boost.Math distributions (t, F, chi-squared, normal; nl.stats, lmm, MCD)
  libreadline-dev                  # REPL line editing and history
  catch2                           # engine tests
  python3                          # REPL test under a pseudo-terminal
  libinsighttoolkit5-dev           # imaging: ITK (resampling)
  libnifti2-dev zlib1g-dev         # imaging: NIfTI-1/NIfTI-2 headers (nifti_clib 3), .nii.gz
  libdeflate-dev                   # imaging: fast .nii.gz inflation
  nlohmann-json3-dev               # imaging: neuroparc-style JSON label tables
  mricron-data                     # atlases by name: AAL, Harvard-Oxford, Brodmann, AICHA, JHU
  python3-nibabel python3-numpy python3-scipy  # imaging tests (nibabel's 4-D example) and bench/ peer
  libplplot-dev plplot-driver-cairo  # figures: PLplot charts through its cairo drivers (PNG, SVG, PDF)
  libcairo2-dev fonts-dejavu-core    # figures: brain-slice compositor; the fonts every figure uses
  nettle-dev                         # reports: SHA-256 of inputs (provenance), base64 of embedded figures
  libcmark-gfm-dev libcmark-gfm-extensions-dev  # reports and the course's site: Markdown (CommonMark + GitHub tables)
  chromium                           # reports: the browser test of nl.report pages (tests/browser/, headless)
  openmpi-bin libopenmpi-dev         # scale: mpirun -n N neurolua script.lua (nl.mpi; docs/scaling.md)
  libhdf5-dev                        # scale: the out-of-core voxel store (chunked HDF5; docs/scaling.md)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm fetch the reports' JavaScript (viewer/: NiiVue, playwright-core). A
# machine that already has npm (e.g. a NodeSource nodejs, which bundles it and conflicts
# with Debian's npm package) keeps it.
command -v npm >/dev/null || missing+=(nodejs npm)
if ((${#missing[@]})); then
  echo "bootstrap: installing ${missing[*]}" >&2
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then sudo=(sudo); else
      echo "bootstrap: missing packages (${missing[*]}) and not root; install them or run as root" >&2
      exit 1
    fi
  fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# viewer/node_modules from the committed lock file, when missing or older than the lock
# (npm ci writes node_modules/.package-lock.json). --ignore-scripts: nothing may download
# at install time.
viewer=$root/viewer
if [ ! -f "$viewer/node_modules/.package-lock.json" ] || [ "$viewer/package-lock.json" -nt "$viewer/node_modules/.package-lock.json" ]; then
  echo "bootstrap: npm ci in viewer/" >&2
  (cd "$viewer" && npm ci --ignore-scripts --no-audit --no-fund >&2)
fi

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DNL_WERROR=ON >&2
fi
cmake --build "$build" -j"$(nproc)" >&2
