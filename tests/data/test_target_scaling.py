"""``data.target_scaling``: regression learns with the defaults, metrics stay in the target's units.

On scikit-learn's diabetes table (a target of 25..346, variance ~5,900) written to disk.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from helpers import sk_data

from hpt.api import train


def _diabetes(tmp_path: Path, *overrides: str) -> dict:  # type: ignore[type-arg]
    path = sk_data.shared_dir() / "diabetes.csv"
    return train(
        ["data=table", f"data.path={path}", "data.target=target", "trainer.device=cpu", *overrides],
        run_dir=tmp_path / "run",
    )


def _test_variance() -> float:
    """The variance of the held-back rows' target (the fixed test split of data=table)."""
    import numpy as np

    frame = pd.read_csv(sk_data.shared_dir() / "diabetes.csv")
    perm = np.random.default_rng(0).permutation(len(frame))
    test = frame.iloc[perm[: round(len(frame) * 0.2)]]
    return float(((test["target"] - test["target"].mean()) ** 2).mean())


def test_regression_with_the_defaults_explains_the_held_back_rows(tmp_path: Path) -> None:
    result = _diabetes(tmp_path)
    assert result["status"] == "COMPLETE"
    r2 = 1 - result["test"]["test/mse"] / _test_variance()
    assert r2 >= 0.3, r2
    # the loss is the training loss on the standardised target; MSE is in the target's units
    assert result["test"]["test/loss"] < 2 < 1000 < result["test"]["test/mse"]


def test_target_scaling_none_trains_on_the_raw_target(tmp_path: Path) -> None:
    result = _diabetes(tmp_path, "data.target_scaling=none", "trainer.epochs=1")
    test = result["test"]
    assert test["test/loss"] == pytest.approx(test["test/mse"])  # MSE loss on raw units
    assert result["params"]["data.target_scaling"] == "none"
