#!/usr/bin/env bash
# Everything a session lent a GPU runs, in one call: compile every kernel through NVRTC, time the kernels against
# cuBLAS/cuDNN/torch, profile a ResNet-18 step, run the cuda-marked tests, and re-run the whole CPU suite with
# minitorch's side on the GPU.
#
#     OUT=/some/folder bash benchmarks/kernels/gpu_check.sh      # logs and <gpu-name>.{json,md} go to $OUT
#
# Each step has its own time cap, so one that hangs cannot starve the others; a test run that hits its cap is sent
# SIGINT, which makes pytest print the failures it has seen so far. The C++ CPU extension is not needed here.
set -u
cd "$(dirname "$0")/../.."
out="${OUT:-$PWD/gpu-logs}"
mkdir -p "$out"
py="${PYTHON:-python3}"
export PYTHONPATH="$PWD" MINITORCH_CPP=0 PYTHONUNBUFFERED=1 CUPY_CACHE_DIR="${CUPY_CACHE_DIR:-/tmp/minitorch-cupy-cache}"

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee "$out/gpu.txt"
"$py" -c "import cupy, numpy, torch; print('cupy', cupy.__version__, 'numpy', numpy.__version__, 'torch', torch.__version__)" \
    | tee -a "$out/gpu.txt"

echo "== compile every kernel (NVRTC) =="
timeout "${CAP_COMPILE:-150}" "$py" -m minitorch.backends.cuda_kernels 2>&1 | tee "$out/compile.log"

echo "== kernel benchmark =="
timeout -s INT -k 15 "${CAP_BENCH:-200}" "$py" benchmarks/kernels/bench_kernels.py --out "$out" 2>&1 | tee "$out/bench.log"

echo "== where a ResNet-18 step spends its time =="
timeout -s INT -k 15 "${CAP_PROFILE:-60}" "$py" benchmarks/kernels/profile_step.py --steps 3 2>&1 | tee "$out/profile.log"

echo "== cuda-marked tests, and the CPU suite with minitorch on the GPU (both at once) =="
tests=(-q -p no:cacheprovider -rfE --tb=short)
# A kernel that never returns would hold its worker until the cap: pytest-timeout (where installed) ends that test.
if "$py" -c "import pytest_timeout" 2>/dev/null; then tests+=(--timeout=150 --timeout-method=thread); fi
timeout -s INT -k 20 "${CAP_TESTS:-220}" "$py" -m pytest "${tests[@]}" -n 6 -m cuda tests >"$out/cuda_tests.log" 2>&1 &
MINITORCH_TEST_DEVICE=cuda timeout -s INT -k 20 "${CAP_TESTS:-220}" "$py" -m pytest "${tests[@]}" -n 10 \
    --ignore-glob='tests/test_cuda_*' tests >"$out/suite_on_cuda.log" 2>&1 &
wait
for log in cuda_tests suite_on_cuda; do
    echo "--- $log"
    grep -E "^(FAILED|ERROR)" "$out/$log.log" | cut -c1-200 | head -40
    tail -n 2 "$out/$log.log"
done
grep -E "NOT met|met\]|failed" "$out/bench.log" | cut -c1-160
