#!/usr/bin/env bash
# The GPU run in one call (issue: paper-configuration antmaze and throughput on a lent H200). On the device:
#   bash tools/gpu_run.sh                 (carry .whl: the wheels `python tools/gpu_wheels.py` downloads beforehand)
# Here, on any CPU, the same stages with tiny sizes in about a minute:
#   OUT=_build/gpu_smoke tools/gpu_run.sh --smoke
# Results go to $OUT (default _build/gpu_run): at most 8 flat files, this log among them. Arguments after the
# script's name go to tools/gpu_run.py (--train-seconds, --throughput-seconds, --skip, ...).
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 MUJOCO_GL="${MUJOCO_GL:-egl}"
OUT="${OUT:-_build/gpu_run}"
PY="${PYTHON:-python3}"
mkdir -p "$OUT"
{
  echo "[$(date -u +%FT%TZ)] stage install: $($PY --version 2>&1) at $(command -v "$PY")"
  if ! $PY -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))'; then
    echo "[$(date -u +%FT%TZ)] stage install: skipped (the carried wheels are for Python 3.12; using the installed packages)"
  elif compgen -G ".whl/*.whl" >/dev/null; then
    # The machine has no package registry: install the carried wheels into a folder of their own, no network.
    $PY tools/gpu_wheels.py --check || echo "[install] the wheel folder does not match tools/gpu_wheels.txt"
    SITE="${FLOQ_GPU_SITE:-/tmp/floq-site}"
    if $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/*.whl; then
      export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
      echo "[$(date -u +%FT%TZ)] stage install: ok ($(ls .whl/*.whl | wc -l) wheels into $SITE)"
    else
      echo "[$(date -u +%FT%TZ)] stage install: failed; later stages use what is installed"
    fi
  else
    echo "[$(date -u +%FT%TZ)] stage install: skipped (no .whl folder; using the installed packages)"
  fi
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
  $PY tools/gpu_run.py --out "$OUT" "$@"
  status=$?
  echo "[$(date -u +%FT%TZ)] gpu_run.sh finished with status $status"
  exit $status
} 2>&1 | tee "$OUT/gpu_run.log"
exit "${PIPESTATUS[0]}"
