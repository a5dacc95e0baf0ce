"""The zoo's first entries and the training command, run end to end for every kind of task."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import minitorch
import models
from models.train import TASKS, CharText

from helpers import requires_torch, torch
from nn_helpers import check_module

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def n_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def test_lenet5_shapes_and_parameter_count():
    model = models.lenet5()
    assert n_params(model) == 61_706  # 156 + 2,416 + 48,120 + 10,164 + 850
    assert model(minitorch.randn(2, 1, 32, 32)).shape == (2, 10)
    assert models.lenet5(num_classes=3)(minitorch.randn(1, 1, 32, 32)).shape == (1, 3)
    with pytest.raises(ValueError, match=r"\(N, C, 32, 32\)"):
        model(minitorch.randn(2, 1, 28, 28))


def test_mlp_shapes_and_parameter_count():
    assert n_params(models.mlp()) == 784 * 256 + 256 + 256 * 10 + 10
    assert models.mlp(in_features=64, hidden=(32, 16), num_classes=3)(minitorch.randn(5, 8, 8)).shape == (5, 3)
    with pytest.raises(ValueError, match="activation"):
        models.mlp(activation="swish")


def torch_lenet5():
    nn = torch.nn
    model = nn.Module()
    model.features = nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2, 2), nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2, 2)
    )
    model.classifier = nn.Sequential(
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10)
    )
    model.forward = lambda x: model.classifier(model.features(x))
    return model


@requires_torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_lenet5_matches_a_torch_twin(dtype):
    x = np.random.default_rng(0).standard_normal((3, 1, 32, 32))
    check_module(models.lenet5(), torch_lenet5(), x, dtype=dtype)


@requires_torch
def test_mlp_matches_a_torch_twin():
    nn = torch.nn
    twin = nn.Module()
    twin.layers = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    twin.forward = lambda x: twin.layers(x)
    check_module(models.mlp(in_features=64, hidden=(32,)), twin, np.random.default_rng(0).standard_normal((4, 8, 8)))


def run_train(tmp_path, *args):
    cmd = [sys.executable, "-m", "models.train", "--out", str(tmp_path), "--no-progress", *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_train_command_end_to_end(tmp_path):
    done = run_train(tmp_path, "--model", "lenet5", "--epochs", "2", "--batch-size", "64")
    assert done.returncode == 0, done.stderr
    assert "final test accuracy" in done.stdout
    metrics = json.loads((tmp_path / "lenet5_metrics.json").read_text())
    assert metrics["epochs"] == 2 and len(metrics["test_acc"]) == 2
    assert metrics["train_loss"][1] < metrics["train_loss"][0]  # it learns
    assert metrics["test_accuracy"] > 0.5
    png = (tmp_path / "lenet5_curves.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    checkpoint = minitorch.load(str(tmp_path / "lenet5.pt"))
    model = models.lenet5()
    model.load_state_dict(checkpoint["model"])  # strict: every key present, shapes right
    assert checkpoint["model_name"] == "lenet5" and checkpoint["epochs"] == 2
    assert set(checkpoint["optimizer"]) == {"state", "param_groups"}


def test_train_command_other_options(tmp_path):
    done = run_train(tmp_path, "--model", "mlp", "--epochs", "1", "--optimizer", "sgd", "--lr", "0.05", "--seed", "3")
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "mlp_metrics.json").read_text())["test_accuracy"] > 0.5


def _rebuild(name: str, checkpoint: dict) -> minitorch.nn.Module:
    """The model a sequence task trained, sized from what its checkpoint says about the data."""
    task = TASKS[name]
    if "vocab" in checkpoint:  # character language models
        return task.build(vocab_size=len(checkpoint["vocab"]), **task.kwargs)
    if "bos_id" in checkpoint:  # sequence to sequence: the target vocabulary adds the start token
        return task.build(src_vocab_size=checkpoint["bos_id"], tgt_vocab_size=checkpoint["bos_id"] + 1, **task.kwargs)
    return task.build(num_classes=10, **task.kwargs)


@pytest.mark.parametrize(
    "name, shows",
    [
        ("transformer", "reverse: "),
        ("decoder_only", "nats per character"),
        ("char_lstm", "sample: 'Beautiful is"),
        ("gru_classifier", "359 images"),
    ],
)
def test_sequence_tasks_train_from_the_command_line(tmp_path, name, shows):
    done = run_train(tmp_path, "--model", name, "--epochs", "2", "--max-batches", "4", "--lr", "3e-3")
    assert done.returncode == 0, done.stderr
    assert "final test accuracy" in done.stdout and shows in done.stdout
    metrics = json.loads((tmp_path / f"{name}_metrics.json").read_text())
    assert metrics["epochs"] == 2 and len(metrics["test_loss"]) == 2
    assert metrics["train_loss"][1] < metrics["train_loss"][0]  # it learns
    assert 0 <= metrics["test_accuracy"] <= 1
    checkpoint = minitorch.load(str(tmp_path / f"{name}.pt"))
    _rebuild(name, checkpoint).load_state_dict(checkpoint["model"])  # strict: every key present, shapes right
    assert (tmp_path / f"{name}_curves.png").read_bytes()[:4] == b"\x89PNG"


def test_text_task_holds_out_the_end_of_the_corpus():
    data = CharText(seed=0, block_size=16)
    train_ends = data.train_set.indices[-1] + 16 + 1  # the last character a training window reaches
    assert train_ends <= data.test_set.indices[0]
    assert data.test_size() == 16 * len(data.test_set)
    x, y = data.test_set[0]
    assert minitorch.equal(x[1:], y[:-1])


def test_train_command_rejects_a_bad_batch_limit(tmp_path):
    done = run_train(tmp_path, "--model", "mlp", "--max-batches", "0")
    assert done.returncode == 2 and "--max-batches" in done.stderr


def test_train_command_rejects_unknown_model(tmp_path):
    done = run_train(tmp_path, "--model", "resnet1000")
    assert done.returncode == 2 and "invalid choice" in done.stderr


def test_train_command_explains_an_unusable_device(tmp_path):
    done = run_train(tmp_path, "--model", "mlp", "--device", "cuda" if not minitorch.cuda.is_available() else "tpu")
    assert done.returncode == 2 and "--device" in done.stderr and "Traceback" not in done.stderr


CNN_TASKS = ["alexnet", "vgg11", "vgg16_bn", "googlenet", "resnet18", "resnet50", "densenet121"]


@pytest.mark.parametrize("name", CNN_TASKS)
def test_imagenet_cnns_train_from_the_command_line(tmp_path, name):
    """Each ImageNet CNN runs through the command (in-process: two batches of 3-channel digits) and writes its files."""
    from models.train import parse_args, train

    metrics = train(
        parse_args(
            [
                "--model",
                name,
                "--epochs",
                "1",
                "--max-batches",
                "2",
                "--width",
                "0.125",
                "--no-progress",
                "--out",
                str(tmp_path),
            ]
        )
    )
    assert 0.0 <= metrics["test_accuracy"] <= 1.0 and all(np.isfinite(metrics["test_loss"]))
    assert (tmp_path / f"{name}.pt").exists() and (tmp_path / f"{name}_metrics.json").exists()


def test_width_is_refused_for_models_without_it(tmp_path):
    done = run_train(tmp_path, "--model", "mlp", "--width", "0.5")
    assert done.returncode != 0 and "no width option" in done.stderr
