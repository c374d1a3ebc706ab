#!/usr/bin/env bash
# Installs the Debian packages whose text forms the training corpus of
# models/minimind-serve-tiny (see tools/train/README.md). Run as root.
set -euo pipefail
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
  fortunes fortunes-min fortunes-zh fortunes-debian-hints python3-torch python3-regex python3-numpy libopenblas0-pthread
# libopenblas0-pthread registers itself as the system libblas.so.3; the pipeline only needs it via
# LD_LIBRARY_PATH (run_pipeline.sh), so put the system default back to the reference BLAS that the
# rest of the project (tools/reference goldens) was computed with.
update-alternatives --set libblas.so.3-x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/blas/libblas.so.3 || true
update-alternatives --set liblapack.so.3-x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/lapack/liblapack.so.3 || true
