"""The zoo against frozen reference values from PyTorch (tests/reference/*.npz): runs without PyTorch.

See tests/zoo_reference.py for what is stored and why it stays small.
"""

from __future__ import annotations

import numpy as np
import pytest

import minitorch

from zoo_reference import fingerprint, flat_outputs, output_weights, path_for, seeded_state
from zoo_registry import reference_cases

CASES = reference_cases()


def test_every_model_has_a_reference_file():
    missing = [name for name in CASES if not path_for(name).exists()]
    assert not missing, (
        f"no reference values for {missing}: run python tests/reference/make_reference.py {' '.join(missing)}"
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_model_matches_frozen_reference(name):
    ref = np.load(path_for(name))
    model = CASES[name].build().double().eval()
    state = seeded_state({k: tuple(v.shape) for k, v in model.state_dict().items()})
    model.load_state_dict({k: minitorch.tensor(v) for k, v in state.items()})
    inputs = [minitorch.tensor(a) for a in CASES[name].inputs(np.random.default_rng(0))]
    outs = flat_outputs(model(*inputs))
    weights = output_weights([tuple(o.shape) for o in outs])
    for i, out in enumerate(outs):
        expected = ref[f"output{i}"]
        np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-6, atol=1e-9 * np.abs(expected).max())
    sum((o * minitorch.tensor(r)).sum() for o, r in zip(outs, weights)).backward()
    grads = {n: p.grad.numpy() for n, p in model.named_parameters() if p.grad is not None}
    assert list(grads) == list(ref["names"]), "a different set of parameters received gradients"
    norms, dots = fingerprint(grads)
    # Some gradients are zero in exact arithmetic (an attention key's bias cannot change a softmax) and hold only
    # rounding noise, so near-zero figures are compared against the size of all the gradients together.
    scale = np.linalg.norm(ref["grad_norms"])
    np.testing.assert_allclose(norms, ref["grad_norms"], rtol=1e-6, atol=1e-9 * scale, err_msg="gradient norms")
    np.testing.assert_allclose(dots, ref["grad_dots"], rtol=1e-6, atol=1e-9 * scale, err_msg="gradient projections")
