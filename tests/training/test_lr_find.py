"""`hpt lr-find`: the learning-rate range test, its files, and its pasteable suggestion."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import compose_config, run_cli

from hpt.build import build
from hpt.training.lr_curve import suggest
from hpt.training.lr_find import Scan, lr_range_test, override_line


def test_range_test_leaves_model_and_optimizer_as_they_were() -> None:
    built = build(compose_config(["data=mnist_tiny", "data.subset=600", "trainer.quiet=true"]))
    before = {k: v.clone() for k, v in built.model.state_dict().items()}
    lr_before = built.optimizer.param_groups[0]["lr"]
    curve = lr_range_test(
        built.model,
        built.optimizer,
        built.data,
        built.loss_fn,
        built.settings,
        Scan(start=1e-6, end=1.0, steps=40),
    )
    assert all(torch.equal(before[k], v) for k, v in built.model.state_dict().items())
    assert built.optimizer.param_groups[0]["lr"] == lr_before and not built.optimizer.state
    assert 11 <= len(curve.lrs) <= 40 and curve.lrs[0] == pytest.approx(1e-6)
    assert all(b > a for a, b in zip(curve.lrs, curve.lrs[1:]))  # exponential, increasing
    assert curve.lrs[0] <= curve.suggestion <= curve.lrs[-1]


def test_suggestion_is_the_steepest_descent_before_the_minimum() -> None:
    lrs = list(np.logspace(-7, 1, 161))
    x = np.log10(lrs)
    # Falls fastest at 1e-3, bottoms out near 1e-1, then blows up (with a steep "descent"
    # artefact after the minimum that must be ignored).
    loss = 2.3 - 2.0 / (1 + np.exp(-(x + 3) * 3)) + np.where(x > -1, 50 * (x + 1) ** 2, 0)
    loss[-5] = loss[-6] - 100  # still above the minimum
    assert suggest(lrs, list(loss), skip_start=5) == pytest.approx(1e-3, rel=0.15)
    flat = [1.0] * 20  # no descent at all: stays inside the scanned range
    assert lrs[0] <= suggest(lrs[:20], flat) <= lrs[19]


def test_override_line_is_a_hydra_float() -> None:
    assert override_line(0.0031622776) == "optimizer.lr=0.00316"
    assert override_line(3.16227e-5) == "optimizer.lr=3.16e-05"


def test_cli_writes_curve_and_plot_and_prints_the_override(tmp_path: Path) -> None:
    out = tmp_path / "lrf"
    res = run_cli(
        [
            "lr-find",
            "data=mnist_tiny",
            "data.subset=600",
            "trainer.quiet=true",
            "lr_find.steps=60",
            f"hydra.run.dir={out}",
        ],
        tmp_path,
    )
    assert res.rc == 0, res.stderr
    last = res.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"optimizer\.lr=[0-9.e+-]+", last), res.stdout
    suggested = float(last.split("=", 1)[1])

    with open(out / "lr_find.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert 11 <= len(rows) <= 60
    assert set(rows[0]) == {"step", "lr", "loss", "smoothed_loss", "running_loss"}
    lrs = [float(r["lr"]) for r in rows]
    assert lrs[0] == pytest.approx(1e-7) and all(
        math.isfinite(float(r["smoothed_loss"])) for r in rows
    )
    assert lrs[0] <= suggested <= lrs[-1] * 1.001  # three significant digits may round up

    png = out / "lr_find.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    record = json.loads((out / "lr_find.json").read_text())
    assert record["override"] == last and record["points"] == len(rows)
