"""A searched setting the run cannot receive is dropped before the sweep (or passed through
to a constructor that takes it), with one line saying which and why (issue 19)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from omegaconf import OmegaConf

REPO = Path(__file__).resolve().parents[2]
NET = """
import math
import torch.nn as nn


class Net(nn.Module):
    def __init__(self, in_shape, out_features, hidden: int = 16):
        super().__init__()
        self.f = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(in_shape), hidden), nn.ReLU(),
                               nn.Linear(hidden, out_features))

    def forward(self, x):
        return self.f(x)


class DropNet(Net):
    def __init__(self, in_shape, out_features, hidden: int = 16, dropout: float = 0.0):
        super().__init__(in_shape, out_features, hidden)
        self.used_dropout = dropout
"""


def _sweep(tmp_path: Path, model: str, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "mypkg").mkdir(exist_ok=True)
    (tmp_path / "mypkg" / "__init__.py").write_text("")
    (tmp_path / "mypkg" / "net.py").write_text(NET)
    cmd = [
        sys.executable,
        "-m",
        "hpt",
        "sweep",
        "search=tpe",
        "data=mnist_tiny",
        "model=custom",
        f"model._target_=mypkg.net.{model}",
        f"hydra.sweep.dir={tmp_path / 's'}",
        *args,
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def test_dropout_is_not_searched_for_a_model_without_it(tmp_path: Path) -> None:
    r = _sweep(tmp_path, "Net", "hydra.sweeper.dry_run=true")
    assert r.returncode == 0, r.stderr
    assert (
        "hpt sweep: not searching regularization.dropout: model mypkg.net.Net has no 'dropout' "
        "argument, so it would change nothing"
    ) in r.stderr
    assert "regularization.dropout" not in r.stdout  # not in the printed space
    assert "regularization.weight_decay" in r.stdout  # the optimizer still uses that one


def test_dropout_is_passed_to_a_model_that_takes_it(tmp_path: Path) -> None:
    r = _sweep(tmp_path, "DropNet", "hydra.sweeper.n_trials=2", "trainer.epochs=1")
    assert r.returncode == 0, r.stderr
    assert "passed to mypkg.net.DropNet as model.dropout" in r.stderr
    for trial in sorted((tmp_path / "s").glob("trial_*")):
        cfg = OmegaConf.load(trial / ".hydra" / "config.yaml")
        assert cfg.model.dropout == cfg.regularization.dropout  # the interpolation reached it
