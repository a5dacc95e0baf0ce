"""minitorch.save / load (a pickle-free format) and safetensors files shared with PyTorch."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import math
import pickle
import struct
from collections import OrderedDict

import numpy as np
import pytest

import minitorch
from minitorch.dtypes import ALL
from minitorch.serialization import _PREFIX, load, save
from minitorch.utils import safetensors as mst

from helpers import requires_torch, torch

SHAPES = [(), (0,), (3,), (2, 3), (0, 4), (2, 1, 3)]


def values(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    if dtype is minitorch.bool:
        return rng.integers(0, 2, shape).astype(bool)
    if dtype.is_floating_point:
        a = rng.normal(0, 100, shape).astype(dtype.np)
        if a.size >= 3:  # the special values survive too
            a.flat[:3] = [np.nan, np.inf, -0.0]
        return a
    info = np.iinfo(dtype.np)
    return rng.integers(info.min, info.max, shape, endpoint=True, dtype=dtype.np)


def same(a, b):
    """Identical tensors: dtype, shape, device, requires_grad and every bit of every value."""
    assert isinstance(b, minitorch.Tensor)
    assert (a.dtype, a.shape, a.device, a.requires_grad) == (b.dtype, b.shape, b.device, b.requires_grad)
    x, y = a.detach().numpy(), b.detach().numpy()
    assert np.ascontiguousarray(x).tobytes() == np.ascontiguousarray(y).tobytes()


def roundtrip(obj):
    buf = io.BytesIO()
    save(obj, buf)
    buf.seek(0)
    return load(buf)


def same_tree(a, b):
    """Equal structures with equal container types, comparing tensors bit for bit."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, minitorch.Tensor):
        same(a, b)
    elif isinstance(a, dict):
        assert list(a.keys()) == list(b.keys())
        for k in a:
            same_tree(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            same_tree(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


# ---- round trips ------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ALL, ids=lambda d: d.name)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_every_dtype_and_shape_round_trips(dtype, shape):
    t = minitorch.from_numpy(values(dtype, shape))
    same(t, roundtrip(t))


@pytest.mark.parametrize(
    "make",
    [
        lambda t: t.t(),
        lambda t: t[:, ::2],
        lambda t: t[1:, 1:],
        lambda t: t[0:1].expand(4, 6),
        lambda t: t.permute(1, 0)[::3],
    ],
    ids=["transposed", "step-slice", "offset", "expanded", "permuted-sliced"],
)
def test_views_are_saved_as_their_own_values(make):
    base = minitorch.arange(24.0).reshape(4, 6)
    view = make(base)
    back = roundtrip(view)
    same(view, back)
    assert back.is_contiguous() and back.untyped_storage().nbytes() == view.numel() * view.element_size()


def test_nested_structures_round_trip():
    obj = {
        "model": OrderedDict([("fc.weight", minitorch.randn(3, 2)), ("fc.bias", minitorch.zeros(3))]),
        "epoch": 7,
        "big": 2**70,
        "loss": 0.125,
        "specials": [float("inf"), float("-inf"), float("nan"), -0.0],
        "flags": (True, False, None),
        "name": "run-1 \u00e9\u4e2d",
        "nested": [[], {}, (), [(1, 2), {"k": [minitorch.tensor(1)]}]],
        "dtype": minitorch.float16,
        "device": minitorch.device("cpu"),
        "size": minitorch.Size([2, 3]),
        3: "int key",
        (1, "a"): "tuple key",
        None: "none key",
        2.5: "float key",
    }
    same_tree(obj, roundtrip(obj))


def test_optimizer_like_state_dict_round_trips():
    state = {
        "state": {
            0: {"step": minitorch.tensor(3.0), "exp_avg": minitorch.randn(4, 3), "exp_avg_sq": minitorch.rand(4, 3)},
            1: {"step": minitorch.tensor(3.0), "exp_avg": minitorch.randn(4), "exp_avg_sq": minitorch.rand(4)},
        },
        "param_groups": [
            {
                "lr": 0.001,
                "betas": (0.9, 0.999),
                "eps": 1e-08,
                "weight_decay": 0,
                "amsgrad": False,
                "foreach": None,
                "params": [0, 1],
            }
        ],
    }
    back = roundtrip(state)
    same_tree(state, back)
    assert list(back["state"]) == [0, 1] and isinstance(list(back["state"])[0], int)


def test_requires_grad_and_parameters_round_trip():
    from minitorch.nn.parameter import Parameter

    w = Parameter(minitorch.randn(2, 2))
    leaf = minitorch.ones(3, requires_grad=True)
    back = roundtrip({"w": w, "leaf": leaf, "frozen": Parameter(minitorch.ones(1), requires_grad=False)})
    assert type(back["w"]) is Parameter and back["w"].requires_grad and back["w"].is_leaf
    assert back["leaf"].requires_grad and back["leaf"].is_leaf and type(back["leaf"]) is minitorch.Tensor
    assert type(back["frozen"]) is Parameter and not back["frozen"].requires_grad
    same(w, back["w"])


def test_a_tensor_saved_twice_loads_once_but_views_are_separate():
    t = minitorch.arange(6.0)
    back = roundtrip([t, t, t[1:3]])
    assert back[0] is back[1]
    back[2].add_(100)  # the view was saved as its own values: its base is not touched
    assert back[0].tolist() == list(map(float, range(6)))


def test_loaded_tensors_are_writable_and_independent_of_the_file(tmp_path):
    path = tmp_path / "t.mt"
    save(minitorch.zeros(3), path)
    t = load(path)
    t.add_(1)
    assert t.tolist() == [1.0, 1.0, 1.0] and load(path).tolist() == [0.0, 0.0, 0.0]


def test_paths_and_file_objects(tmp_path):
    t = minitorch.arange(5)
    save(t, str(tmp_path / "a.mt"))
    same(t, load(str(tmp_path / "a.mt")))
    save(t, tmp_path / "b.mt")
    same(t, load(tmp_path / "b.mt"))
    with open(tmp_path / "c.mt", "wb") as f:
        save({"t": t}, f)
    with open(tmp_path / "c.mt", "rb") as f:
        same(t, load(f)["t"])
    with open(tmp_path / "c.mt") as f, pytest.raises(TypeError, match="binary mode"):
        load(f)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.mt")


@pytest.mark.parametrize("where", ["cpu", minitorch.device("cpu"), {"cpu": "cpu"}])
def test_map_location(where):
    t = minitorch.ones(2)
    buf = io.BytesIO()
    save(t, buf)
    buf.seek(0)
    back = load(buf, map_location=where, weights_only=False)
    same(t, back)


def rewrite(raw, edit):
    """The file ``raw`` with its JSON header changed by ``edit`` and a fresh size and checksum."""
    _, version, _, n = _PREFIX.unpack_from(raw)
    header = json.loads(raw[_PREFIX.size : _PREFIX.size + n])
    edit(header)
    new = json.dumps(header).encode()
    data = raw[_PREFIX.size + n : -32]
    body = _PREFIX.pack(b"MINITRCH", version, _PREFIX.size + len(new) + len(data) + 32, len(new)) + new + data
    return body + hashlib.sha256(body).digest()


def saved(obj):
    buf = io.BytesIO()
    save(obj, buf)
    return buf.getvalue()


def test_cuda_tensors_without_cuda_ask_for_map_location():
    if minitorch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    raw = rewrite(saved(minitorch.ones(2)), lambda h: h["tensors"][0].update(device="cuda:0"))
    with pytest.raises(RuntimeError, match="map_location"):
        load(io.BytesIO(raw))
    same(minitorch.ones(2), load(io.BytesIO(raw), map_location="cpu"))
    same(minitorch.ones(2), load(io.BytesIO(raw), map_location={"cuda:0": "cpu"}))
    with pytest.raises(TypeError, match="map_location"):
        load(io.BytesIO(raw), map_location=lambda storage, loc: storage)


# ---- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "obj, name",
    [
        (object(), "builtins.object"),
        ({"a": np.int64(1)}, "numpy.int64"),
        ([{1, 2}], "builtins.set"),
        ({"a": np.zeros(2)}, "numpy.ndarray"),
        (lambda: 0, "function"),
    ],
)
def test_unsupported_objects_raise_type_error(obj, name):
    with pytest.raises(TypeError, match=name):
        save(obj, io.BytesIO())


def test_saving_a_module_suggests_its_state_dict():
    class Model:
        def state_dict(self):
            return {}

    with pytest.raises(TypeError, match="state_dict"):
        save(Model(), io.BytesIO())


def test_every_flipped_byte_is_detected():
    raw = saved({"w": minitorch.randn(3, 2), "step": 4, "name": "x"})
    for i in range(len(raw)):
        bad = bytearray(raw)
        bad[i] ^= 0x40
        with pytest.raises(RuntimeError, match="minitorch.load"):
            load(io.BytesIO(bytes(bad)))


def test_every_truncation_is_detected():
    raw = saved([minitorch.arange(4), {"a": 1.5}])
    for n in range(len(raw)):
        with pytest.raises(RuntimeError, match="truncated"):
            load(io.BytesIO(raw[:n]))
    with pytest.raises(RuntimeError, match="extra bytes"):
        load(io.BytesIO(raw + b"\0"))


def test_other_files_and_versions_are_refused(tmp_path):
    with pytest.raises(RuntimeError, match="not a file written by minitorch.save"):
        load(io.BytesIO(b"hello world, this is not a checkpoint at all, not at all"))
    raw = bytearray(saved(1))
    raw[8:12] = struct.pack("<I", 99)
    raw[-32:] = hashlib.sha256(bytes(raw[:-32])).digest()
    with pytest.raises(RuntimeError, match="upgrade minitorch"):
        load(io.BytesIO(bytes(raw)))
    bad_tag = rewrite(saved([1]), lambda h: h.update(object={"set": [1]}))
    with pytest.raises(RuntimeError, match="malformed"):
        load(io.BytesIO(bad_tag))
    bad_dtype = rewrite(saved(minitorch.ones(1)), lambda h: h["tensors"][0].update(dtype="bfloat16"))
    with pytest.raises(RuntimeError, match="malformed"):
        load(io.BytesIO(bad_dtype))
    too_big = rewrite(saved(minitorch.ones(1)), lambda h: h["tensors"][0].update(shape=[1000]))
    with pytest.raises(RuntimeError, match="malformed"):
        load(io.BytesIO(too_big))


@requires_torch
def test_torch_save_files_are_refused_with_a_hint(tmp_path):
    torch.save({"a": torch.ones(2)}, tmp_path / "t.pt")
    with pytest.raises(RuntimeError, match="safetensors"):
        load(tmp_path / "t.pt")


def test_save_and_load_never_use_pickle(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("pickle was used")

    for name in ("loads", "load", "dumps", "dump", "Unpickler", "Pickler"):
        monkeypatch.setattr(pickle, name, forbidden)
    obj = {"w": minitorch.randn(2, 2), 0: [1, (2.0, None)], "o": OrderedDict(a=minitorch.arange(3))}
    same_tree(obj, roundtrip(obj))


# ---- safetensors ------------------------------------------------------------------------------
requires_safetensors = pytest.mark.skipif(
    importlib.util.find_spec("safetensors") is None, reason="safetensors is not installed: pip install safetensors"
)


@requires_safetensors
@requires_torch
def test_safetensors_written_here_load_in_torch(tmp_path):
    import safetensors
    import safetensors.torch

    ours = {f"{d.name}_{i}": minitorch.from_numpy(values(d, s, seed=i)) for d in ALL for i, s in enumerate(SHAPES)}
    ours["view"] = minitorch.arange(12.0).reshape(3, 4).t()[1:]
    mst.save_file(ours, tmp_path / "m.safetensors", metadata={"format": "pt", "note": "hi"})
    theirs = safetensors.torch.load_file(tmp_path / "m.safetensors")
    assert set(theirs) == set(ours)
    for k, t in ours.items():
        assert str(theirs[k].dtype) == f"torch.{t.dtype.name}" and tuple(theirs[k].shape) == tuple(t.shape)
        assert np.array_equal(theirs[k].numpy(), t.numpy(), equal_nan=t.dtype.is_floating_point)
    with safetensors.safe_open(tmp_path / "m.safetensors", framework="pt") as f:
        assert f.metadata() == {"format": "pt", "note": "hi"}


@requires_safetensors
@requires_torch
def test_safetensors_written_by_torch_load_here(tmp_path):
    import safetensors.torch

    theirs = {f"{d.name}_{i}": torch.from_numpy(values(d, s, seed=i)) for d in ALL for i, s in enumerate(SHAPES)}
    safetensors.torch.save_file(theirs, tmp_path / "t.safetensors")
    ours = mst.load_file(tmp_path / "t.safetensors", device="cpu")
    for k, t in theirs.items():
        assert ours[k].dtype.name == str(t.dtype).split(".")[1] and tuple(ours[k].shape) == tuple(t.shape)
        assert np.array_equal(ours[k].numpy(), t.numpy(), equal_nan=t.dtype.is_floating_point)
    ours["float32_3"].add_(1)  # loaded tensors own writable memory
    same_bytes = mst.load(safetensors.torch.save(theirs))
    assert set(same_bytes) == set(theirs)
    back = safetensors.torch.load(mst.save({"x": ours["int64_3"]}))
    assert back["x"].dtype == torch.int64 and back["x"].tolist() == ours["int64_3"].tolist()


@requires_safetensors
@requires_torch
def test_safetensors_bfloat16_is_refused_clearly(tmp_path):
    import safetensors.torch

    safetensors.torch.save_file({"w": torch.ones(2, dtype=torch.bfloat16)}, tmp_path / "bf.safetensors")
    with pytest.raises(TypeError, match="bfloat16 is not a minitorch dtype|bfloat16, which is not a minitorch dtype"):
        mst.load_file(tmp_path / "bf.safetensors")
    with pytest.raises(TypeError, match="bfloat16"):
        mst.load(safetensors.torch.save({"w": torch.ones(2, dtype=torch.bfloat16)}))


@requires_safetensors
def test_safetensors_round_trip_and_bad_input(tmp_path):
    t = {"a": minitorch.randn(2, 3), "b": minitorch.arange(4, dtype=minitorch.int16)}
    mst.save_file(t, tmp_path / "x.safetensors")
    back = mst.load_file(tmp_path / "x.safetensors")
    for k in t:
        same(t[k], back[k])
    with pytest.raises(TypeError, match="str -> Tensor"):
        mst.save_file({1: minitorch.ones(1)}, tmp_path / "y.safetensors")
    with pytest.raises(TypeError, match="str -> Tensor"):
        mst.save({"a": np.ones(1)})


@requires_safetensors
def test_safetensors_missing_package_says_how_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match="pip install safetensors"):
        mst.save({"a": minitorch.ones(1)})


# ---- real checkpoints ---------------------------------------------------------------------------
def test_module_and_optimizer_checkpoint_round_trips():
    import minitorch.optim
    from minitorch import nn

    def make():
        model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
        return model, minitorch.optim.Adam(model.parameters(), lr=0.01)

    model, opt = make()
    model(minitorch.randn(5, 3)).sum().backward()
    opt.step()
    checkpoint = roundtrip({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": 1})
    same_tree(model.state_dict(), checkpoint["model"])
    same_tree(opt.state_dict(), checkpoint["opt"])
    model2, opt2 = make()
    model2.load_state_dict(checkpoint["model"])
    opt2.load_state_dict(checkpoint["opt"])
    x = minitorch.randn(2, 3)
    assert model2(x).tolist() == model(x).tolist()
    same_tree(opt.state_dict(), opt2.state_dict())


@requires_safetensors
@requires_torch
def test_safetensors_carries_a_torch_state_dict_into_a_minitorch_module(tmp_path):
    import safetensors.torch

    from minitorch import nn

    torch.manual_seed(0)
    theirs = torch.nn.Linear(3, 2)
    safetensors.torch.save_file(theirs.state_dict(), tmp_path / "linear.safetensors")
    ours = nn.Linear(3, 2)
    ours.load_state_dict(mst.load_file(tmp_path / "linear.safetensors"))
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_allclose(
        ours(minitorch.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(), atol=1e-6, rtol=1e-3
    )  # float32 tolerances of the guide: the two matmuls may round differently


@pytest.mark.cuda
@requires_safetensors
def test_cuda_tensors_round_trip_and_map_to_cpu(tmp_path):
    t = minitorch.randn(3, 2, device="cuda")
    raw = saved({"t": t})
    back = load(io.BytesIO(raw))["t"]
    assert back.device == t.device and back.cpu().tolist() == t.cpu().tolist()
    on_cpu = load(io.BytesIO(raw), map_location="cpu")["t"]
    assert on_cpu.device == minitorch.device("cpu") and on_cpu.tolist() == t.cpu().tolist()
    mst.save_file({"t": t}, tmp_path / "t.safetensors")
    on_gpu = mst.load_file(tmp_path / "t.safetensors", device="cuda")["t"]
    assert on_gpu.is_cuda and on_gpu.cpu().tolist() == t.cpu().tolist()
