"""minitorch.datasets: digits, MNIST IDX files, toy 2-D sets, sequence tasks and the bundled text corpus."""

from __future__ import annotations

import gzip
import importlib.util
import struct
import sys

import numpy as np
import pytest

import minitorch
from minitorch.datasets import (
    MNIST,
    AdditionTask,
    CharDataset,
    CopyTask,
    Digits,
    FashionMNIST,
    ReverseTask,
    SortTask,
    load_text,
    make_moons,
    make_spirals,
    read_idx,
)
from minitorch.datasets.digits import _stratified_split
from minitorch.utils.data import DataLoader

from helpers import requires_torch, torch

requires_sklearn = pytest.mark.skipif(
    importlib.util.find_spec("sklearn") is None, reason="scikit-learn is not installed: pip install scikit-learn"
)


# ---- Digits -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits():
    if importlib.util.find_spec("sklearn") is None:
        pytest.skip("scikit-learn is not installed: pip install scikit-learn")
    return Digits(train=True), Digits(train=False)


def test_digits_split_shapes_and_ranges(digits):
    train, test = digits
    assert len(train) + len(test) == 1797 and len(test) == 359
    image, label = train[0]
    assert image.shape == (1, 8, 8) and image.dtype == minitorch.float32 and isinstance(label, int)
    assert train.data.shape == (len(train), 1, 8, 8) and train.targets.dtype == minitorch.int64
    for ds in digits:
        assert ds.data.min().item() == 0.0 and ds.data.max().item() == 1.0
        assert sorted(set(ds.targets.tolist())) == list(range(10))
    x, y = next(iter(DataLoader(train, batch_size=16)))
    assert x.shape == (16, 1, 8, 8) and y.shape == (16,) and y.dtype == minitorch.int64


def test_digits_split_is_stratified_disjoint_and_seeded():
    labels = np.repeat(np.arange(10), np.arange(10, 20))
    train, test = _stratified_split(labels, 0.2, seed=0)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(len(labels)))
    assert np.bincount(labels[test]).tolist() == [round(0.2 * n) for n in range(10, 20)]
    again = _stratified_split(labels, 0.2, seed=0)
    other = _stratified_split(labels, 0.2, seed=1)
    assert np.array_equal(again[1], test) and not np.array_equal(other[1], test)


@requires_sklearn
def test_digits_seed_changes_the_split(digits):
    assert Digits(train=False, seed=0).targets.tolist() == digits[1].targets.tolist()
    assert not np.array_equal(Digits(train=False, seed=1).data.numpy(), digits[1].data.numpy())


@requires_sklearn
@requires_torch
def test_digits_32_is_a_bilinear_resize_to_28_padded_by_2(digits):
    big = Digits(train=False, size=32)
    small = digits[1]
    assert big.data.shape == (359, 1, 32, 32) and big.data.dtype == minitorch.float32
    expected = torch.nn.functional.interpolate(
        torch.from_numpy(small.data.numpy()), size=(28, 28), mode="bilinear", align_corners=False
    )
    expected = torch.nn.functional.pad(expected, (2, 2, 2, 2))
    np.testing.assert_allclose(big.data.numpy(), expected.numpy(), atol=1e-6)


@requires_sklearn
def test_digits_transforms_and_errors(digits):
    ds = Digits(train=False, transform=lambda x: x * 2 - 1, target_transform=lambda y: y + 100)
    image, label = ds[0]
    assert image.min().item() == -1.0 and label == digits[1][0][1] + 100
    with pytest.raises(ValueError, match="8 .* or 32"):
        Digits(size=28)
    with pytest.raises(ValueError, match="test_fraction"):
        Digits(test_fraction=1.5)


def test_digits_without_sklearn_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match="pip install scikit-learn"):
        Digits()


# ---- MNIST IDX files ----------------------------------------------------------------------------
def write_idx(path, array, code=0x08, gz=False):
    """Write ``array`` as an IDX file: zero bytes, type code, ndim, big-endian dims, big-endian data."""
    big_endian = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    raw = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape)
    raw += array.astype(big_endian).tobytes()
    with (gzip.open if gz else open)(str(path) + (".gz" if gz else ""), "wb") as f:
        f.write(raw)


def make_mnist(folder, n=5, split="train", gz=False, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28)).astype(np.uint8)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder / f"{split}-images-idx3-ubyte", images, gz=gz)
    write_idx(folder / f"{split}-labels-idx1-ubyte", labels, gz=gz)
    return images, labels


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_reads_idx_files(tmp_path, gz):
    images, labels = make_mnist(tmp_path, n=5, gz=gz)
    test_images, test_labels = make_mnist(tmp_path, n=3, split="t10k", gz=gz, seed=1)
    train, test = MNIST(tmp_path), MNIST(str(tmp_path), train=False)
    assert len(train) == 5 and len(test) == 3
    assert train.data.dtype == minitorch.uint8 and train.data.shape == (5, 28, 28)
    assert np.array_equal(train.data.numpy(), images) and np.array_equal(test.data.numpy(), test_images)
    assert train.targets.dtype == minitorch.int64 and train.targets.tolist() == labels.tolist()
    image, label = train[2]
    assert image.shape == (1, 28, 28) and image.dtype == minitorch.float32 and label == int(labels[2])
    np.testing.assert_allclose(image.numpy()[0], images[2] / 255.0, rtol=1e-6)
    x, y = next(iter(DataLoader(train, batch_size=4)))
    assert x.shape == (4, 1, 28, 28) and y.tolist() == labels[:4].tolist()


def test_mnist_finds_torchvision_layout_and_fashion(tmp_path):
    images, _ = make_mnist(tmp_path / "MNIST" / "raw")
    assert np.array_equal(MNIST(tmp_path).data.numpy(), images)
    images, _ = make_mnist(tmp_path / "FashionMNIST" / "raw", seed=3)
    fashion = FashionMNIST(tmp_path, transform=lambda x: x.sum(), target_transform=str)
    assert np.array_equal(fashion.data.numpy(), images) and isinstance(fashion[0][1], str)
    assert fashion.classes[9] == "Ankle boot"


def test_mnist_missing_files_say_what_to_put_where(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte and train-labels-idx1-ubyte") as e:
        MNIST(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(e.value) and "does not exist" in str(e.value)
    make_mnist(tmp_path)
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte"):
        MNIST(tmp_path, train=False)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda raw: b"\x01" + raw[1:], "magic"),
        (lambda raw: raw[:2] + b"\x07" + raw[3:], "type code 0x07"),
        (lambda raw: raw[:-10], "holds"),
        (lambda raw: raw + b"\0", "holds"),
        (lambda raw: raw[:6], "cut short"),
    ],
    ids=["magic", "type", "truncated", "extra", "header"],
)
def test_malformed_idx_files_raise_clearly(tmp_path, damage, message):
    make_mnist(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(RuntimeError, match=message):
        MNIST(tmp_path)


def test_broken_gzip_and_mismatched_files(tmp_path):
    make_mnist(tmp_path, gz=True)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(RuntimeError, match="could not be read"):
        MNIST(tmp_path)
    other = tmp_path / "other"
    make_mnist(other)
    write_idx(other / "train-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(RuntimeError, match="do not match"):
        MNIST(other)


@pytest.mark.parametrize(
    "code, dtype", [(0x09, np.int8), (0x0B, np.int16), (0x0C, np.int32), (0x0D, np.float32), (0x0E, np.float64)]
)
def test_read_idx_every_type(tmp_path, code, dtype):
    a = (np.arange(24).reshape(2, 3, 4) - 10).astype(dtype)
    write_idx(tmp_path / "a", a, code=code)
    back = read_idx(tmp_path / "a")
    assert back.dtype == dtype and back.dtype.isnative and np.array_equal(back, a)


# ---- toy 2-D sets -------------------------------------------------------------------------------
def test_make_spirals():
    x, y = make_spirals(100, classes=3, noise=0.0, seed=0)
    assert x.shape == (100, 2) and x.dtype == minitorch.float32 and y.dtype == minitorch.int64
    assert np.bincount(y.numpy()).tolist() == [34, 33, 33]
    radius = np.linalg.norm(x.numpy(), axis=1)
    assert radius.min() == 0.0 and np.isclose(radius.max(), 1.0)
    a, b = make_spirals(60, 4, 0.3, seed=7), make_spirals(60, 4, 0.3, seed=7)
    assert np.array_equal(a[0].numpy(), b[0].numpy()) and a[1].tolist() == b[1].tolist()
    assert not np.array_equal(a[0].numpy(), make_spirals(60, 4, 0.3, seed=8)[0].numpy())


def test_make_moons():
    x, y = make_moons(101, noise=0.0)
    assert x.shape == (101, 2) and x.dtype == minitorch.float32 and np.bincount(y.numpy()).tolist() == [50, 51]
    pts, labels = x.numpy(), y.numpy()
    np.testing.assert_allclose(np.linalg.norm(pts[labels == 0], axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(pts[labels == 1] - [1.0, 0.5], axis=1), 1.0, rtol=1e-6)
    noisy = make_moons(50, noise=0.2, seed=1)[0].numpy()
    assert np.array_equal(noisy, make_moons(50, noise=0.2, seed=1)[0].numpy())


# ---- sequence tasks -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "task, answer",
    [(CopyTask, lambda q: q), (ReverseTask, lambda q: q[::-1]), (SortTask, sorted)],
)
def test_symbol_tasks(task, answer):
    ds = task(num_samples=50, length=6, vocab_size=7, seed=0)
    assert len(ds) == 50 and ds.vocab_size == 7
    for i in range(50):
        q, a = ds[i]
        assert q.dtype == a.dtype == minitorch.int64 and q.shape == a.shape == (6,)
        assert a.tolist() == list(answer(q.tolist())) and 0 <= q.min().item() and q.max().item() < 7
    assert task(num_samples=50, length=6, vocab_size=7, seed=0).inputs.tolist() == ds.inputs.tolist()
    assert task(num_samples=50, length=6, vocab_size=7, seed=1).inputs.tolist() != ds.inputs.tolist()
    x, y = next(iter(DataLoader(ds, batch_size=8)))
    assert x.shape == y.shape == (8, 6)


def test_addition_task():
    ds = AdditionTask(num_samples=200, digits=2, seed=0)
    assert ds.vocab_size == 12 and ds.vocab[10:] == ["+", "="]
    for i in range(200):
        q, a = ds[i]
        assert q.shape == (6,) and a.shape == (3,)
        text = ds.decode(q).replace(" ", "")
        left, right = text[:-1].split("+")
        assert text.endswith("=") and int(ds.decode(a).replace(" ", "")) == int(left) + int(right)


def test_lm_layout_shifts_and_masks_the_question():
    seq2seq, lm = ReverseTask(20, length=4, seed=2), ReverseTask(20, length=4, seed=2, lm=True)
    for i in range(20):
        q, a = seq2seq[i]
        x, y = lm[i]
        joined = q.tolist() + a.tolist()
        assert x.tolist() == joined[:-1]
        assert y.tolist() == [-100] * 3 + joined[4:]
    x, y = AdditionTask(5, digits=3, lm=True)[0]
    assert x.shape == y.shape == (8 + 4 - 1,) and y.tolist()[:7] == [-100] * 7
    assert "_" in AdditionTask(5, lm=True).decode(y)


# ---- text corpus ---------------------------------------------------------------------------------
def test_bundled_corpus():
    text = load_text()
    assert "Beautiful is better than ugly." in text and text.isascii()
    assert len(text.splitlines()) >= 200


def test_char_dataset():
    ds = CharDataset(block_size=16)
    assert len(ds) == len(load_text()) - 16 and ds.vocab_size == len(set(load_text()))
    x, y = ds[5]
    assert x.dtype == y.dtype == minitorch.int64 and x.shape == y.shape == (16,)
    assert x[1:].tolist() == y[:-1].tolist()
    assert ds.decode(x) == load_text()[5:21] and ds.decode(y) == load_text()[6:22]
    assert ds.decode(ds[-1][1]) == load_text()[-16:]
    assert ds.decode(ds.encode("Simple is better")) == "Simple is better"
    with pytest.raises(IndexError):
        ds[len(ds)]
    xb, yb = next(iter(DataLoader(ds, batch_size=4, shuffle=True)))
    assert xb.shape == yb.shape == (4, 16)


def test_char_dataset_on_custom_text():
    ds = CharDataset(3, text="abcabcd")
    assert ds.itos == ["a", "b", "c", "d"] and len(ds) == 4
    assert [ds.decode(t) for t in ds[3]] == ["abc", "bcd"]
    with pytest.raises(ValueError, match="block_size"):
        CharDataset(7, text="abcabcd")
