"""The README's code runs as written, and so does ``python -m minitorch``."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


@pytest.mark.parametrize(
    "index",
    # A block that puts tensors on "cuda" runs where a GPU is (the cuda marker skips it elsewhere).
    [pytest.param(i, marks=pytest.mark.cuda) if '"cuda"' in block else i for i, block in enumerate(BLOCKS)],
)
def test_readme_python_blocks_run(index, capsys):
    exec(compile(BLOCKS[index], f"README.md block {index}", "exec"), {})


def test_readme_outputs_written_in_comments_are_true(capsys):
    exec(compile(BLOCKS[0], "README.md block 0", "exec"), {})
    out = capsys.readouterr().out
    assert "(4, 1)" in out and "(1, 4) False" in out and "tensor([0., 0., 2., 3.])" in out and "(0, 1)" in out
    exec(compile(BLOCKS[1], "README.md block 1", "exec"), {})
    out = capsys.readouterr().out
    assert "tensor(24.)" in out and "12.0 12.0" in out and "True" in out
    exec(compile(BLOCKS[2], "README.md block 2", "exec"), {})
    out = capsys.readouterr().out
    assert "training accuracy 1.00" in out and "['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']" in out
    exec(compile(BLOCKS[3], "README.md block 3", "exec"), {})
    assert capsys.readouterr().out.startswith("digraph {")


def test_tour_runs_and_fits():
    result = subprocess.run([sys.executable, "-m", "minitorch"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    final = float(re.search(r"final loss ([0-9.]+)", result.stdout).group(1))
    assert final < 0.05, result.stdout
    assert "gradcheck: True, gradgradcheck: True" in result.stdout
