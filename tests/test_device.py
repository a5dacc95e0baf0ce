"""Devices: 'cpu' works everywhere; 'cuda' gives a clear error where there is no GPU."""

import pytest

import minitorch

from helpers import HOST_CUDA, requires_torch, torch


def test_device_objects_like_torch():
    assert minitorch.device("cpu") == "cpu" and str(minitorch.device("cuda:1")) == "cuda:1"
    assert repr(minitorch.device("cuda", 0)) == "device(type='cuda', index=0)"
    assert minitorch.ones(2).device == minitorch.device("cpu") and minitorch.ones(2).is_cpu
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda"):
        minitorch.device("tpu")


@requires_torch
def test_device_repr_matches_torch():
    for spec in ("cpu", "cuda", "cuda:0"):
        assert repr(minitorch.device(spec)) == repr(torch.device(spec))


@pytest.mark.skipif(minitorch.cuda.is_available() or HOST_CUDA, reason="'cuda' works here")
def test_cuda_unavailable_is_a_clear_error():
    assert not minitorch.cuda.is_available() and minitorch.cuda.device_count() == 0
    for make in (
        lambda: minitorch.ones(2, device="cuda"),
        lambda: minitorch.ones(2).cuda(),
        lambda: minitorch.ones(2).to("cuda:0"),
    ):
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            make()


def test_to_is_a_no_op_when_nothing_changes():
    x = minitorch.ones(2)
    assert x.to("cpu") is x and x.to(minitorch.float32) is x and x.cpu() is x
    assert x.to(minitorch.float64).dtype is minitorch.float64


@pytest.mark.cuda
def test_cuda_round_trip():
    x = minitorch.randn(3, 4)
    y = x.cuda()
    assert y.is_cuda and y.device == minitorch.device("cuda", 0)
    assert (y.cpu() == x).all().item()
