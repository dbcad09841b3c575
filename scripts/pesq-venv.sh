#!/usr/bin/env bash
# Creates .venv-pesq (gitignored) from PyPI for `make bench-pesq`: `pesq` (ITU-T P.862) and
# numpy for benches/pesq/score.py, `NetfilterQueue` for benches/pesq/impair.py. Debian blocks
# a system-wide pip, hence a virtualenv of the project's own. Idempotent: does nothing when
# the venv already imports all three. Needs python3-venv, a C compiler, the Python headers
# and libnetfilter-queue-dev: both packages build from source (scripts/install-deps.sh
# installs them).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv-pesq"
PESQ_VERSION=0.0.4
NUMPY_SPEC="numpy<2.3"
NFQUEUE_VERSION=1.1.0

if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c 'import pesq, numpy, netfilterqueue' 2>/dev/null; then
  echo "pesq-venv: $venv ready"
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
# pesq's build imports numpy and cython and needs wheel: install them first, then pesq
# without build isolation so that it finds them.
"$venv/bin/python" -m pip install -q "$NUMPY_SPEC" cython wheel setuptools
"$venv/bin/python" -m pip install -q --no-build-isolation "pesq==$PESQ_VERSION"
"$venv/bin/python" -m pip install -q "NetfilterQueue==$NFQUEUE_VERSION"
"$venv/bin/python" -c 'import pesq, numpy, netfilterqueue; print("pesq-venv: pesq '"$PESQ_VERSION"', NetfilterQueue '"$NFQUEUE_VERSION"', numpy", numpy.__version__)'
