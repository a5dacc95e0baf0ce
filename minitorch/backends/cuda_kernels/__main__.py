"""``python -m minitorch.backends.cuda_kernels``: compile every kernel through NVRTC and say which source failed."""

import sys
import time

from . import KERNELS, compile_all

start = time.perf_counter()
errors = compile_all()
for source, names in KERNELS.items():
    print(f"{source}: {len(names)} kernels, {'FAILED' if source in errors else 'ok'}")
for source, message in errors.items():
    print(f"--- {source}\n{message}", file=sys.stderr)
print(f"compiled in {time.perf_counter() - start:.1f} s")
sys.exit(1 if errors else 0)
