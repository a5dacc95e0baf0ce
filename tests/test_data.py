"""minitorch.utils.data against torch.utils.data: batches, collation, samplers, splits, determinism."""

from __future__ import annotations

import collections
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitorch
from minitorch.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    default_convert,
    get_worker_info,
    random_split,
)

from helpers import check_raises, requires_torch, torch

if torch is not None:
    import torch.utils.data as tud

Point = collections.namedtuple("Point", ["x", "y"])


def plain(obj):
    """A framework-free picture of a batch: tensors become (dtype name, array); containers keep their type."""
    if isinstance(obj, minitorch.Tensor) or (torch is not None and isinstance(obj, torch.Tensor)):
        return ("tensor", str(obj.dtype).split(".")[-1], obj.numpy().tolist(), tuple(obj.shape))
    if isinstance(obj, dict):
        return (type(obj).__name__, {k: plain(v) for k, v in obj.items()})
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, [plain(v) for v in obj])
    return obj


def both_collate(samples):
    """Collate the same samples (built by ``samples(module)``) in both frameworks."""
    ours = default_collate(samples(minitorch))
    if torch is not None:
        assert plain(ours) == plain(tud.default_collate(samples(torch)))
    return ours


class Squares(Dataset):
    """Sample i is a dict, to test collation of mappings through a DataLoader."""

    def __init__(self, n, module):
        self.n, self.module = n, module

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"x": self.module.tensor([float(i), float(i * i)]), "label": i, "name": f"s{i}"}


# ---- collation ------------------------------------------------------------------------------
def test_collate_tensors_are_stacked():
    out = both_collate(lambda m: [m.ones(2, 3) * i for i in range(4)])
    assert out.shape == (4, 2, 3) and out.dtype == minitorch.float32


def test_collate_numbers_get_torch_dtypes():
    assert both_collate(lambda m: [1.5, 2.5]).dtype == minitorch.float64
    assert both_collate(lambda m: [1, 2, 3]).dtype == minitorch.int64
    assert both_collate(lambda m: [True, False]).dtype == minitorch.bool


def test_collate_numpy_arrays_and_scalars():
    out = both_collate(lambda m: [np.arange(3, dtype=np.int32) + i for i in range(2)])
    assert out.dtype == minitorch.int32 and out.shape == (2, 3)
    assert both_collate(lambda m: [np.float32(1), np.float32(2)]).dtype == minitorch.float32
    assert both_collate(lambda m: [np.float64(1), np.float64(2)]).dtype == minitorch.float64


def test_collate_structures():
    both_collate(lambda m: [(m.zeros(2), 1), (m.ones(2), 2)])  # tuples come back as lists
    both_collate(lambda m: [[m.zeros(2), 1.0], [m.ones(2), 2.0]])
    both_collate(lambda m: [{"a": m.zeros(1), "b": {"c": 1}}, {"a": m.ones(1), "b": {"c": 2}}])
    both_collate(lambda m: [collections.OrderedDict(a=1, b="x"), collections.OrderedDict(a=2, b="y")])
    out = both_collate(lambda m: [Point(m.zeros(2), 0), Point(m.ones(2), 1)])
    assert isinstance(out, Point) and out.y.tolist() == [0, 1]
    assert both_collate(lambda m: ["a", "b"]) == ["a", "b"]


def test_collate_errors():
    check_raises(
        lambda: default_collate([object(), object()]), lambda: tud.default_collate([object(), object()]), "found"
    )
    check_raises(
        lambda: default_collate([np.array(["a"]), np.array(["b"])]),
        lambda: tud.default_collate([np.array(["a"]), np.array(["b"])]),
        "numpy arrays",
    )
    check_raises(lambda: default_collate([[1, 2], [3]]), lambda: tud.default_collate([[1, 2], [3]]), "equal size")


def test_default_convert():
    out = default_convert({"a": np.arange(3), "b": (np.float32(2), "s"), "c": [1, 2]})
    assert isinstance(out["a"], minitorch.Tensor) and out["a"].dtype == minitorch.int64
    assert isinstance(out["b"], list) and out["b"][0].dtype == minitorch.float32 and out["b"][1] == "s"
    assert out["c"] == [1, 2]


# ---- DataLoader vs torch -----------------------------------------------------------------------
@requires_torch
@given(n=st.integers(0, 23), batch_size=st.integers(1, 7), drop_last=st.booleans())
def test_loader_batches_match_torch(n, batch_size, drop_last):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64)
    ours = DataLoader(
        TensorDataset(minitorch.tensor(x), minitorch.tensor(y)), batch_size=batch_size, drop_last=drop_last
    )
    theirs = tud.DataLoader(
        tud.TensorDataset(torch.tensor(x), torch.tensor(y)), batch_size=batch_size, drop_last=drop_last
    )
    assert len(ours) == len(theirs)
    got, want = [plain(b) for b in ours], [plain(b) for b in theirs]
    assert got == want and len(got) == len(ours)


@requires_torch
def test_loader_collates_dict_samples_like_torch():
    ours = list(DataLoader(Squares(7, minitorch), batch_size=3))
    theirs = list(tud.DataLoader(Squares(7, torch), batch_size=3))
    assert [plain(b) for b in ours] == [plain(b) for b in theirs]
    assert (
        ours[0]["x"].shape == (3, 2)
        and ours[0]["label"].dtype == minitorch.int64
        and ours[0]["name"] == ["s0", "s1", "s2"]
    )


@requires_torch
def test_loader_batch_size_none_and_batch_sampler_like_torch():
    ours = list(DataLoader(Squares(3, minitorch), batch_size=None))
    theirs = list(tud.DataLoader(Squares(3, torch), batch_size=None))
    assert [plain(b) for b in ours] == [plain(b) for b in theirs]
    sampler = [[2, 0], [1], [1, 2, 0]]
    ours = DataLoader(Squares(3, minitorch), batch_sampler=sampler)
    theirs = tud.DataLoader(Squares(3, torch), batch_sampler=sampler)
    assert len(ours) == len(theirs) == 3
    assert [plain(b) for b in ours] == [plain(b) for b in theirs]


def test_loader_custom_collate_and_workers_run_in_process():
    ds = TensorDataset(minitorch.arange(10))
    first = lambda batch: [s[0].item() for s in batch]  # noqa: E731
    assert list(DataLoader(ds, batch_size=4, collate_fn=first)) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    with_workers = DataLoader(ds, batch_size=4, num_workers=2, collate_fn=first)
    assert list(with_workers) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert get_worker_info() is None


def test_shuffle_covers_every_sample_once_per_epoch():
    loader = DataLoader(TensorDataset(minitorch.arange(20)), batch_size=6, shuffle=True)
    epochs = [[v for (b,) in loader for v in b.tolist()] for _ in range(2)]
    assert sorted(epochs[0]) == sorted(epochs[1]) == list(range(20))
    assert epochs[0] != epochs[1]  # a fresh order each epoch


def test_shuffle_is_reproducible_with_a_generator():
    ds = TensorDataset(minitorch.arange(30))

    def order(seed):
        g = minitorch.Generator().manual_seed(seed)
        return [b[0].tolist() for b in DataLoader(ds, batch_size=7, shuffle=True, generator=g)]

    assert order(1) == order(1)
    assert order(1) != order(2)


def test_shuffle_is_reproducible_with_manual_seed():
    ds = TensorDataset(minitorch.arange(30))
    loader = DataLoader(ds, batch_size=7, shuffle=True)
    minitorch.manual_seed(5)
    first = [b[0].tolist() for b in loader]
    minitorch.manual_seed(5)
    assert [b[0].tolist() for b in loader] == first


@requires_torch
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(shuffle=True, sampler=[0, 1]),
        dict(batch_sampler=[[0]], batch_size=2),
        dict(batch_sampler=[[0]], drop_last=True),
        dict(batch_size=None, drop_last=True),
        dict(num_workers=-1),
        dict(prefetch_factor=2),
        dict(persistent_workers=True),
        dict(batch_size=0),
    ],
)
def test_loader_option_errors_match_torch(kwargs):
    check_raises(
        lambda: DataLoader(Squares(3, minitorch), **kwargs), lambda: tud.DataLoader(Squares(3, torch), **kwargs)
    )


def stream(base, n):
    """An IterableDataset of 0..n-1 built on ``base`` (each framework's IterableDataset class)."""

    class Stream(base):
        def __iter__(self):
            return iter(range(n))

        def __len__(self):
            return n

    return Stream()


@requires_torch
@pytest.mark.parametrize("drop_last", [False, True])
def test_iterable_dataset_like_torch(drop_last):
    ours = DataLoader(stream(IterableDataset, 7), batch_size=3, drop_last=drop_last)
    theirs = tud.DataLoader(stream(tud.IterableDataset, 7), batch_size=3, drop_last=drop_last)
    assert len(ours) == len(theirs)
    assert [plain(b) for b in ours] == [plain(b) for b in theirs]
    check_raises(
        lambda: DataLoader(stream(IterableDataset, 3), shuffle=True),
        lambda: tud.DataLoader(stream(tud.IterableDataset, 3), shuffle=True),
        "shuffle",
    )
    assert [plain(b) for b in DataLoader(stream(IterableDataset, 2), batch_size=None)] == [0, 1]


# ---- datasets ---------------------------------------------------------------------------------
def test_tensor_dataset():
    x, y = minitorch.randn(5, 2), minitorch.arange(5)
    ds = TensorDataset(x, y)
    assert len(ds) == 5
    a, b = ds[3]
    assert a.tolist() == x[3].tolist() and b.item() == 3
    check_raises(
        lambda: TensorDataset(minitorch.zeros(3), minitorch.zeros(4)),
        lambda: tud.TensorDataset(torch.zeros(3), torch.zeros(4)),
        "Size mismatch between tensors",
    )


def test_subset_and_concat():
    a, b = TensorDataset(minitorch.arange(3)), TensorDataset(minitorch.arange(10, 14))
    both = a + b
    assert isinstance(both, ConcatDataset) and len(both) == 7 and both.cumulative_sizes == [3, 7]
    assert [both[i][0].item() for i in range(7)] == [0, 1, 2, 10, 11, 12, 13]
    assert both[-1][0].item() == 13 and both[-7][0].item() == 0
    with pytest.raises(ValueError, match="absolute value of index"):
        both[-8]
    sub = Subset(both, [6, 0, 3])
    assert len(sub) == 3 and [sub[i][0].item() for i in range(3)] == [13, 0, 10]
    with pytest.raises(AssertionError, match="empty iterable"):
        ConcatDataset([])
    with pytest.raises(NotImplementedError):
        Dataset()[0]


@requires_torch
@pytest.mark.parametrize(
    "n, lengths",
    [(10, [3, 7]), (10, [0.3, 0.7]), (10, [1 / 3, 1 / 3, 1 / 3]), (7, [0.5, 0.5]), (11, [0.1, 0.2, 0.7]), (5, [5, 0])],
)
def test_random_split_sizes_like_torch(n, lengths):
    ours = random_split(range(n), lengths)
    theirs = tud.random_split(range(n), lengths)
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    values = sorted(v for s in ours for v in (s[i] for i in range(len(s))))
    assert values == list(range(n))  # disjoint and complete


def test_random_split_determinism_and_errors():
    g = lambda: minitorch.Generator().manual_seed(3)  # noqa: E731
    first = [s.indices for s in random_split(range(20), [0.25, 0.75], generator=g())]
    assert first == [s.indices for s in random_split(range(20), [0.25, 0.75], generator=g())]
    check_raises(
        lambda: random_split(range(5), [2, 2]), lambda: tud.random_split(range(5), [2, 2]), "Sum of input lengths"
    )
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(range(2), [0.9, 0.1])


# ---- samplers -----------------------------------------------------------------------------------
def test_samplers():
    data = list(range(6))
    assert list(SequentialSampler(data)) == data and len(SequentialSampler(data)) == 6
    perm = list(RandomSampler(data))
    assert sorted(perm) == data
    more = list(RandomSampler(data, num_samples=14))
    assert len(more) == 14 and sorted(more[:6]) == data and sorted(more[6:12]) == data
    draws = list(RandomSampler(data, replacement=True, num_samples=50))
    assert len(draws) == 50 and set(draws) <= set(data)
    assert sorted(SubsetRandomSampler([10, 20, 30])) == [10, 20, 30]
    weighted = list(WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 40))
    assert len(weighted) == 40 and set(weighted) <= {1, 3}
    assert list(BatchSampler(range(7), 3, False)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(BatchSampler(range(7), 3, True)) == [[0, 1, 2], [3, 4, 5]]
    assert len(BatchSampler(range(7), 3, False)) == 3 and len(BatchSampler(range(7), 3, True)) == 2


@requires_torch
def test_sampler_errors_match_torch():
    check_raises(lambda: RandomSampler([1], num_samples=0), lambda: tud.RandomSampler([1], num_samples=0), "positive")
    check_raises(lambda: RandomSampler([1], replacement=1), lambda: tud.RandomSampler([1], replacement=1), "boolean")
    check_raises(lambda: BatchSampler([1], 0, False), lambda: tud.BatchSampler([1], 0, False), "positive integer")
    check_raises(lambda: BatchSampler([1], 2, None), lambda: tud.BatchSampler([1], 2, None), "boolean")
    check_raises(
        lambda: WeightedRandomSampler([[1.0]], 2), lambda: tud.WeightedRandomSampler([[1.0]], 2), "1d sequence"
    )


def test_samplers_are_reproducible():
    def draw(seed):
        g = minitorch.Generator().manual_seed(seed)
        return list(RandomSampler(range(50), generator=g)), list(SubsetRandomSampler(list(range(50)), generator=g))

    assert draw(4) == draw(4)
    assert draw(4) != draw(5)


def test_epoch_length_formula():
    for n in range(0, 12):
        for bs in range(1, 5):
            assert len(DataLoader(range(n), batch_size=bs)) == math.ceil(n / bs)
            assert len(DataLoader(range(n), batch_size=bs, drop_last=True)) == n // bs
