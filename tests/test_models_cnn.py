"""The CNN zoo: parameter counts, parity with the PyTorch twins, shapes, training, and bad input.

Parity runs through ``nn_helpers.check_module``: the twin's state_dict is
loaded into our model, then outputs, running statistics and the gradients
of the input and of every parameter are compared, in training and in eval
mode. Every architecture is compared in float64 (rtol 1e-6), narrowed by
``width`` at small inputs (``twins_cnn.SMALL_CASES``); at full width and
the seed's input size, ResNet-18 is compared in float64 and AlexNet in
float32 (rtol 1e-4, atol 1e-5), and GoogLeNet and DenseNet-121 compare
outputs and running statistics in float32. Their float32 gradients are not
compared: at 224x224, rounding alone moves some past rtol 1e-4 (a max pool
whose two largest inputs differ by a rounding error sends its gradient to
the other one; batch norm's backward subtracts nearly equal means), while
the same networks agree to 1e-6 in float64 (checked by hand; too slow to
run here). VGG is never run at 224x224 (15 GFLOPs an image).
"""

from __future__ import annotations

from typing import Callable, Dict, Tuple

import numpy as np
import pytest

import minitorch
from minitorch.nn import functional as F
from models.alexnet import alexnet
from models.densenet import densenet121
from models.googlenet import GoogLeNetOutputs, googlenet
from models.lenet import lenet5
from models.resnet import resnet18, resnet34, resnet50
from models.vgg import vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn

from helpers import check_raises, requires_torch, torch
from nn_helpers import check_module
from twins_cnn import CASES, SMALL_CASES
from zoo_cases import Case

FLOAT32 = dict(atol=1e-5, rtol=1e-4, grad_atol=1e-5, grad_rtol=1e-4)
FLOAT64 = dict(atol=1e-9, rtol=1e-6, grad_atol=1e-9, grad_rtol=1e-6)


def n_params(model: minitorch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.fixture
def no_init(monkeypatch):
    """Skip drawing random initial weights: 100M draws take seconds here, and neither a parameter
    count nor a model about to load a twin's state_dict needs them."""
    for name in ("uniform_", "normal_", "trunc_normal_"):
        monkeypatch.setattr(minitorch.nn.init, name, lambda tensor, *args, **kwargs: tensor)


# ---- 1. parameter counts: the published figures (torchvision's, and the paper's for the original AlexNet) ----
PARAM_COUNTS = {
    "alexnet": (alexnet, 62_378_344),
    "alexnet_torchvision": (lambda: alexnet(variant="torchvision"), 61_100_840),
    "vgg11": (vgg11, 132_863_336),
    "vgg11_bn": (vgg11_bn, 132_868_840),
    "vgg13": (vgg13, 133_047_848),
    "vgg13_bn": (vgg13_bn, 133_053_736),
    "vgg16": (vgg16, 138_357_544),
    "vgg16_bn": (vgg16_bn, 138_365_992),
    "vgg19": (vgg19, 143_667_240),
    "vgg19_bn": (vgg19_bn, 143_678_248),
    "googlenet": (googlenet, 6_624_904),
    "googlenet_aux": (lambda: googlenet(aux_logits=True), 13_004_888),
    "resnet18": (resnet18, 11_689_512),
    "resnet34": (resnet34, 21_797_672),
    "resnet50": (resnet50, 25_557_032),
    "densenet121": (densenet121, 7_978_856),
}


@pytest.mark.parametrize("name", list(PARAM_COUNTS))
def test_parameter_count_is_the_published_one(name, no_init):
    build, expected = PARAM_COUNTS[name]
    assert n_params(build()) == expected


def test_width_narrows_every_layer_but_keeps_the_keys():
    full, narrow = resnet18(), resnet18(width=0.25)
    assert list(full.state_dict()) == list(narrow.state_dict())
    assert narrow.layer4[1].conv2.weight.shape == (128, 128, 3, 3) and narrow.fc.weight.shape == (1000, 128)
    assert list(googlenet(aux_logits=True, width=0.25).state_dict()) == list(googlenet(aux_logits=True).state_dict())
    with pytest.raises(ValueError, match="width must be positive"):
        densenet121(width=0)
    with pytest.raises(ValueError, match="variant must be one of"):
        alexnet(variant="caffe")


def test_zero_init_residual_starts_every_block_as_the_identity():
    for model, last_norm in ((resnet18(zero_init_residual=True), "bn2"), (resnet50(zero_init_residual=True), "bn3")):
        blocks = [block for layer in (model.layer1, model.layer2, model.layer3, model.layer4) for block in layer]
        assert all(not getattr(block, last_norm).weight.detach().numpy().any() for block in blocks)
        assert model.bn1.weight.detach().numpy().all()  # only the blocks' last norms


# ---- 2. parity with the twins, through state_dict ----
def check_twin(
    case: Case, dtype: str, tolerances: dict, grad: bool = True, modes: tuple = (True, False), device: str = None
) -> None:
    """Our model and its twin holding the same weights agree on the case's inputs, in each mode (True = train).

    ``device`` puts our side on another device (default: MINITORCH_TEST_DEVICE, else the CPU)."""
    torch.manual_seed(0)
    ours, twin = case.build(), case.build_torch()
    arrays = case.inputs(np.random.default_rng(0))
    for train in modes:
        ours.zero_grad()
        twin.zero_grad()
        check_module(ours, twin, *arrays, dtype=dtype, train=train, grad=grad, device=device, **tolerances)


@requires_torch
@pytest.mark.parametrize("name", list(SMALL_CASES))
def test_narrow_model_matches_its_twin_in_float64(name):
    check_twin(SMALL_CASES[name], "float64", FLOAT64)


@requires_torch
@pytest.mark.cuda
@pytest.mark.parametrize("name", list(SMALL_CASES))
def test_narrow_model_matches_its_twin_on_the_gpu(name):
    # float64, as on the CPU: training-mode batch norm over these small batches is too ill-conditioned for
    # float32 gradients to meet rtol 1e-4 in either framework.
    check_twin(SMALL_CASES[name], "float64", FLOAT64, device="cuda")


@requires_torch
@pytest.mark.slow
def test_resnet18_matches_its_twin_at_224_in_float64(no_init):
    check_twin(CASES["resnet18"], "float64", FLOAT64)


@requires_torch
@pytest.mark.slow
def test_alexnet_matches_its_twin_at_227_in_float32(no_init):
    # No batch norm and dropout 0: training and eval mode compute the same function, so one mode suffices.
    check_twin(CASES["alexnet"], "float32", FLOAT32, modes=(True,))


@requires_torch
@pytest.mark.slow
@pytest.mark.parametrize("name", ["googlenet", "densenet121"])
def test_outputs_and_running_stats_match_the_twin_at_224_in_float32(name, no_init):
    check_twin(CASES[name], "float32", FLOAT32, grad=False, modes=(True,))


# ---- 3. shapes, outputs, state_dict keys, repr ----
@requires_torch
@pytest.mark.parametrize("name", list(CASES))
def test_state_dict_keys_and_repr_are_the_twins(name, no_init):
    ours, twin = CASES[name].build(), CASES[name].build_torch()
    assert list(ours.state_dict()) == list(twin.state_dict())
    assert [tuple(v.shape) for v in ours.state_dict().values()] == [tuple(v.shape) for v in twin.state_dict().values()]
    assert repr(ours) == repr(twin).replace("Torch", "")  # the twins' classes are named Torch<ours>


# Narrow builds, the seed's input size and the smallest input each model's docstring promises (eval mode).
NARROW: Dict[str, Tuple[Callable[..., minitorch.nn.Module], int, int]] = {
    "alexnet": (lambda **kw: alexnet(width=1 / 16, dropout=0.0, **kw), 227, 67),
    "alexnet_torchvision": (lambda **kw: alexnet(variant="torchvision", width=1 / 16, dropout=0.0, **kw), 224, 63),
    "vgg11_bn": (lambda **kw: vgg11_bn(width=1 / 16, dropout=0.0, **kw), 224, 32),
    "googlenet": (lambda **kw: googlenet(aux_logits=True, width=1 / 8, dropout=0.0, dropout_aux=0.0, **kw), 224, 15),
    "resnet18": (lambda **kw: resnet18(width=1 / 8, **kw), 224, 1),
    "resnet50": (lambda **kw: resnet50(width=1 / 8, **kw), 224, 1),
    "densenet121": (lambda **kw: densenet121(width=1 / 4, **kw), 224, 29),
}


@pytest.mark.parametrize("name", list(NARROW))
def test_output_shape_at_the_native_and_the_smallest_size(name):
    build, native, smallest = NARROW[name]
    model = build(num_classes=7).eval()
    with minitorch.no_grad():
        assert model(minitorch.randn(1, 3, native, native)).shape == (1, 7)
        assert model(minitorch.randn(2, 3, smallest, smallest + 5)).shape == (2, 7)


def test_googlenet_returns_the_auxiliary_logits_in_training_mode_only():
    model = googlenet(num_classes=5, aux_logits=True, width=1 / 8)
    out = model(minitorch.randn(2, 3, 64, 64))
    assert isinstance(out, GoogLeNetOutputs) and out._fields == ("logits", "aux_logits2", "aux_logits1")
    assert [o.shape for o in out] == [(2, 5)] * 3
    with minitorch.no_grad():
        assert model.eval()(minitorch.randn(2, 3, 64, 64)).shape == (2, 5)
        assert googlenet(num_classes=5, width=1 / 8)(minitorch.randn(2, 3, 64, 64)).shape == (2, 5)  # no aux heads


# ---- 4. training: a few Adam steps on a tiny fixed batch lower the loss ----
def loss_of(out, target: minitorch.Tensor) -> minitorch.Tensor:
    if isinstance(out, GoogLeNetOutputs):  # the paper weights the auxiliary losses by 0.3
        return F.cross_entropy(out.logits, target) + 0.3 * (
            F.cross_entropy(out.aux_logits1, target) + F.cross_entropy(out.aux_logits2, target)
        )
    return F.cross_entropy(out, target)


@pytest.mark.parametrize("name", ["lenet5", *NARROW])
def test_a_few_adam_steps_lower_the_loss(name):
    if name == "lenet5":
        model, x = lenet5(num_classes=3), minitorch.randn(4, 1, 32, 32)
    else:  # big enough that the last stage keeps several positions, so batch statistics are not too noisy
        size = 96 if name.startswith("alexnet") else 64  # AlexNet's stride-4 stem shrinks the image fastest
        model, x = NARROW[name][0](num_classes=3), minitorch.randn(4, 3, size, size)
    target = minitorch.tensor([0, 1, 2, 1])
    optimizer = minitorch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(8):
        optimizer.zero_grad()
        loss = loss_of(model(x), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0], losses


# ---- 5. bad input: PyTorch's kind of error, with a message that says what is wrong ----
@pytest.mark.parametrize("name", list(NARROW))
def test_wrong_channel_count_is_a_runtime_error(name):
    build, _, smallest = NARROW[name]
    with pytest.raises(RuntimeError, match="to have 3 channels, but got 1 channels"):
        build().eval()(minitorch.randn(1, 1, max(smallest, 64), max(smallest, 64)))


@pytest.mark.parametrize("name", [n for n, (_, _, smallest) in NARROW.items() if smallest > 1])
def test_an_image_below_the_smallest_size_is_a_runtime_error(name):
    build, _, smallest = NARROW[name]
    with pytest.raises(RuntimeError, match="too small|can't be greater than actual input size"):
        build().eval()(minitorch.randn(1, 3, smallest - 1, smallest - 1))


@requires_torch
@pytest.mark.parametrize("name", ["resnet18", "googlenet", "densenet121"])
def test_bad_input_raises_what_pytorch_raises(name, no_init):
    ours, twin = CASES[name].build().eval(), CASES[name].build_torch().eval()
    check_raises(lambda: ours(minitorch.randn(1, 1, 64, 64)), lambda: twin(torch.randn(1, 1, 64, 64)), "channels")
    # One image in training mode leaves one value per channel in the last stage: batch norm refuses it.
    ours.train(), twin.train()
    check_raises(lambda: ours(minitorch.randn(1, 3, 32, 32)), lambda: twin(torch.randn(1, 3, 32, 32)), "per channel")
