"""The splits' standardisation (``hpt.data.splits.normalise``) on a real table."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import run_in_process as hpt


def test_a_column_constant_in_training_is_left_unscaled_not_blown_up(tmp_path: Path) -> None:
    # scikit-learn's digits as a table: pixel_3_0 is 0 in every training row and 16 or so in
    # the two test rows that have ink there. Divided by a 1e-6 floor it became ~1e7 and the
    # test log-loss read 1611; as scikit-learn's StandardScaler does, its scale is 1.
    import pandas as pd
    from sklearn.datasets import load_digits

    frame = load_digits(as_frame=True).frame
    ink = frame["pixel_3_0"] != 0
    frame[~ink].iloc[200:].to_csv(tmp_path / "train.csv", index=False)
    pd.concat([frame[ink], frame[~ink].iloc[:200]]).to_csv(tmp_path / "test.csv", index=False)
    run_dir = tmp_path / "run"
    rc, _, err = hpt(
        "train",
        "data=table",
        f"data.path={tmp_path / 'train.csv'}",
        f"data.test_path={tmp_path / 'test.csv'}",
        "data.target=target",
        "trainer.epochs=3",
        "trainer.quiet=true",
        f"hydra.run.dir={run_dir}",
        cwd=tmp_path,
    )
    assert rc == 0, err
    prep = json.loads((run_dir / "preprocessing.json").read_text())
    column = prep["input"]["columns"].index("pixel_3_0")
    assert prep["normalise"]["std"][column] == 1.0 and prep["normalise"]["mean"][column] == 0.0
    assert prep["normalise"]["std"][column + 1] != 1.0  # a column with ink keeps its own
    test_metrics = json.loads((run_dir / "result.json").read_text())["test"]
    assert test_metrics["test/loss"] < 1.0 and test_metrics["test/acc"] > 0.85, test_metrics
