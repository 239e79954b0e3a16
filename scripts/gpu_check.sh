#!/usr/bin/env bash
# The GPU check: test suite, course run, vmapped sweep of 1024 learning rates, and the scale suite at
# m = 1,000,000 (12 GB of uint8 on the device), all figures into ONE file: $OUT/gpu_check.txt (and the scale
# suite's table, with its command, date, machine and versions, into $OUT/scale.json).
#
#   bash scripts/gpu_check.sh            # on the GPU machine
#   bash scripts/gpu_check.sh --smoke    # small sizes, runs on a CPU (or GPU_CHECK_SMOKE=1)
#
# Installs nothing. It runs from the repository root with PYTHONPATH=$PWD, so lr_jax needs no
# `pip install`. It needs jax (with CUDA), numpy, optax, h5py, matplotlib, pillow and pytest on the
# machine; the pure-Python wheels the GPU image may lack are taken from ./.pydeps when it exists:
#   pip install --target .pydeps --no-deps hydra-core omegaconf antlr4-python3-runtime==4.9.3 \
#       pooch platformdirs requests idna urllib3 certifi charset-normalizer tqdm packaging
# (build it here, then carry .pydeps along). The section time limits add up to 440 s.
# The course data come from $LR_JAX_DATA_DIR, else
# ./shared/data/catvnoncat or ../shared/data/catvnoncat; without them the course run uses synthetic
# data of the same shape and the tests that need the files skip.
set -uo pipefail
cd "$(dirname "$0")/.."

smoke="${GPU_CHECK_SMOKE:-0}"
[[ "${1:-}" == "--smoke" ]] && smoke=1
out_dir="${OUT:-./gpu_check_out}"
mkdir -p "$out_dir"
report="$out_dir/gpu_check.txt"
: > "$report"

export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
[[ -d .pydeps ]] && export PYTHONPATH="$PYTHONPATH:$PWD/.pydeps"
for d in "${LR_JAX_DATA_DIR:-}" shared/data/catvnoncat ../shared/data/catvnoncat; do
  if [[ -n "$d" && -f "$d/train_catvnoncat.h5" ]]; then export LR_JAX_DATA_DIR="$(cd "$d" && pwd)"; break; fi
done
export XLA_PYTHON_CLIENT_PREALLOCATE=false   # allocate as needed; the scale suite's subprocesses share the card
export MPLBACKEND=Agg

section() {  # section NAME TIMEOUT_S COMMAND...: run it, append its output and status to the report
  local name="$1" limit="$2"; shift 2
  echo "== $name ($(date -u +%H:%M:%S), limit ${limit}s)" | tee -a "$report"
  local t0=$SECONDS
  timeout "$limit" "$@" 2>&1 | tee -a "$report"
  local rc=${PIPESTATUS[0]}
  echo "-- $name: exit $rc$([[ $rc == 124 ]] && echo ' (timed out)') in $((SECONDS - t0)) s" | tee -a "$report"
}

if [[ "$smoke" == 1 ]]; then
  sizes=2000,4000; features=3000; numpy_max=4000; flag=--smoke
  tests=(tests/test_pixels.py -q -x)
else
  sizes=100000,1000000; features=12288; numpy_max=100000; flag=
  tests=(-q -ra)
fi

section environment 30 bash -c 'nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || echo "no nvidia-smi";
  python -c "import jax, sys; print(\"python\", sys.version.split()[0], \"jax\", jax.__version__, jax.default_backend(), jax.devices())";
  python -c "import importlib.util as u; print(\"missing modules:\", [m for m in (\"optax\",\"h5py\",\"matplotlib\",\"PIL\",\"pytest\",\"hydra\",\"omegaconf\",\"pooch\",\"tqdm\") if u.find_spec(m) is None] or \"none\")"'
section course 45 python scripts/gpu_check.py course $flag
section sweep 45 python scripts/gpu_check.py sweep $flag
section pixels 90 python scripts/gpu_check.py pixels $flag
section scale 120 python scripts/benchmark.py --suite scale --sizes "$sizes" --features "$features" \
  --numpy-max "$numpy_max" --repeats 3 --results "$out_dir/scale.json"   # a results file for docs/results/
# tests/conftest.py sets full float32 matmul precision (XLA may use TF32 on the GPU by default).
section tests 200 python -m pytest -p no:cacheprovider "${tests[@]}"
echo "figures: $report" | tee -a "$report"
