"""Write the zoo's frozen reference values from PyTorch: ``python tests/reference/make_reference.py [names]``.

For each model in the registries (tests/twins_cnn.py, tests/twins_seq.py)
the PyTorch twin gets the seeded weights of tests/zoo_reference.py, runs the
case's seeded inputs in float64 and eval mode, and backpropagates the fixed
loss. The outputs and gradient fingerprints go to tests/reference/<name>.npz,
which test_models_reference.py compares minitorch with where PyTorch is not
installed. Rerun it after changing a model or a case, and commit the files.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The twins and the reference helpers live beside the tests, which are not a package (and the checkout's models/).
ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

import numpy as np
import torch

from zoo_reference import fingerprint, flat_outputs, output_weights, path_for, seeded_state
from zoo_registry import reference_cases


def reference(case) -> dict:
    """Outputs and gradient fingerprints of the twin of ``case``, as arrays for an npz file."""
    model = case.build_torch().double().eval()
    state = seeded_state({k: tuple(v.shape) for k, v in model.state_dict().items()})
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    inputs = [torch.from_numpy(a) for a in case.inputs(np.random.default_rng(0))]
    outs = flat_outputs(model(*inputs))
    loss = sum((o * torch.from_numpy(r)).sum() for o, r in zip(outs, output_weights([tuple(o.shape) for o in outs])))
    loss.backward()
    grads = {n: p.grad.numpy() for n, p in model.named_parameters() if p.grad is not None}
    norms, dots = fingerprint(grads)
    arrays = {f"output{i}": o.detach().numpy() for i, o in enumerate(outs)}
    return {**arrays, "names": np.array(list(grads)), "grad_norms": norms, "grad_dots": dots}


def main(names: list) -> None:
    torch.set_num_threads(2)
    cases = reference_cases()
    unknown = set(names) - set(cases)
    if unknown:
        raise SystemExit(f"unknown model(s) {sorted(unknown)}; known: {sorted(cases)}")
    for name in names or sorted(cases):
        np.savez_compressed(path_for(name), **reference(cases[name]))
        print(f"wrote {path_for(name)} ({path_for(name).stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main(sys.argv[1:])
